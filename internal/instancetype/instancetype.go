// Package instancetype is madang's table of EC2 instance types: the vCPU
// count and memory of each, which madang turns into CPU and memory limits
// on an instance's processes.
package instancetype

import (
	"errors"
	"fmt"
	"strings"
)

// Default is the instance type used when a launch template names none.
const Default = "t3.micro"

// ErrUnknown is wrapped by Lookup's error for a name not in the table.
var ErrUnknown = errors.New("unknown instance type")

// Type is one EC2 instance type.
type Type struct {
	// Name is the API name, such as "t3.micro".
	Name string
	// VCPUs is the number of virtual CPUs; madang allows the instance's
	// processes this many cores of CPU time.
	VCPUs float64
	// MemoryMiB is the memory size in MiB (1 GiB = 1024 MiB).
	MemoryMiB int64
}

// MemoryBytes returns the memory size in bytes.
func (t Type) MemoryBytes() int64 { return t.MemoryMiB << 20 }

// types is the table, in the order Names lists it: family, then size.
// Values are AWS's published vCPU and memory figures.
var types = [...]Type{
	{"t2.nano", 1, 512},
	{"t2.micro", 1, 1024},
	{"t2.small", 1, 2048},
	{"t2.medium", 2, 4096},
	{"t2.large", 2, 8192},
	{"t2.xlarge", 4, 16384},
	{"t2.2xlarge", 8, 32768},

	{"t3.nano", 2, 512},
	{"t3.micro", 2, 1024},
	{"t3.small", 2, 2048},
	{"t3.medium", 2, 4096},
	{"t3.large", 2, 8192},
	{"t3.xlarge", 4, 16384},
	{"t3.2xlarge", 8, 32768},

	{"t3a.nano", 2, 512},
	{"t3a.micro", 2, 1024},
	{"t3a.small", 2, 2048},
	{"t3a.medium", 2, 4096},
	{"t3a.large", 2, 8192},
	{"t3a.xlarge", 4, 16384},
	{"t3a.2xlarge", 8, 32768},

	{"t4g.nano", 2, 512},
	{"t4g.micro", 2, 1024},
	{"t4g.small", 2, 2048},
	{"t4g.medium", 2, 4096},
	{"t4g.large", 2, 8192},
	{"t4g.xlarge", 4, 16384},
	{"t4g.2xlarge", 8, 32768},

	{"m5.large", 2, 8192},
	{"m5.xlarge", 4, 16384},
	{"m5.2xlarge", 8, 32768},

	{"c5.large", 2, 4096},
	{"c5.xlarge", 4, 8192},

	{"r5.large", 2, 16384},
}

// Lookup returns the type called name (exact, lowercase, as in AWS). An
// empty name is an error; an unknown one gives an error wrapping
// ErrUnknown. Both list the valid names.
func Lookup(name string) (Type, error) {
	for _, t := range types {
		if t.Name == name {
			return t, nil
		}
	}
	if name == "" {
		return Type{}, fmt.Errorf("instance type is empty; use one of: %s (default %s)", strings.Join(Names(), ", "), Default)
	}
	hint := ""
	if lower := strings.ToLower(strings.TrimSpace(name)); lower != name {
		if _, err := Lookup(lower); err == nil {
			hint = fmt.Sprintf(" (did you mean %q?)", lower)
		}
	}
	return Type{}, fmt.Errorf("%w %q%s; valid: %s", ErrUnknown, name, hint, strings.Join(Names(), ", "))
}

// Names returns every known type name, grouped by family and ordered by
// size within a family.
func Names() []string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.Name
	}
	return names
}
