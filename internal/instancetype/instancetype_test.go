package instancetype

import (
	"errors"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		name      string
		wantVCPUs float64
		wantMiB   int64
	}{
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
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Lookup(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.name || got.VCPUs != tc.wantVCPUs || got.MemoryMiB != tc.wantMiB {
				t.Errorf("Lookup(%q) = %+v, want %g vCPU, %d MiB", tc.name, got, tc.wantVCPUs, tc.wantMiB)
			}
			if got.MemoryBytes() != tc.wantMiB*1024*1024 {
				t.Errorf("MemoryBytes() = %d, want %d", got.MemoryBytes(), tc.wantMiB*1024*1024)
			}
		})
	}
	if len(Names()) != len(tests) {
		t.Errorf("Names() has %d types, the table above %d", len(Names()), len(tests))
	}
}

func TestLookupErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantMsg []string
		unknown bool
	}{
		{"unknown size", "t3.mega", []string{`unknown instance type "t3.mega"; valid: t2.nano, t2.micro,`, "r5.large"}, true},
		{"wrong case", "T3.Micro", []string{`"T3.Micro" (did you mean "t3.micro"?)`}, true},
		{"empty", "", []string{"instance type is empty", "default t3.micro"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Lookup(tc.input)
			if err == nil {
				t.Fatal("Lookup succeeded, want an error")
			}
			for _, want := range tc.wantMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to contain %q", err, want)
				}
			}
			if got := errors.Is(err, ErrUnknown); got != tc.unknown {
				t.Errorf("errors.Is(err, ErrUnknown) = %v, want %v", got, tc.unknown)
			}
		})
	}
}

func TestDefaultAndNames(t *testing.T) {
	if _, err := Lookup(Default); err != nil {
		t.Errorf("Default %q is not in the table: %v", Default, err)
	}
	seen := map[string]bool{}
	for _, n := range Names() {
		if seen[n] {
			t.Errorf("Names() lists %q twice", n)
		}
		seen[n] = true
	}
	names := Names()
	names[0] = "changed"
	if Names()[0] == "changed" {
		t.Error("Names() returns the table's own slice; callers could change it")
	}
}
