// Package stack reads madang's declarative stack file (madang.yaml): it
// decodes it strictly, fills defaults, validates every resource and the
// references between them, resolves relative paths, and reports every
// problem at once with its file:line:column. Diff compares two stacks and
// says what applying one over the other would change.
package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/kind"
)

// Stack is the content of a stack file, with defaults applied and relative
// paths resolved.
type Stack struct {
	// Name identifies the stack; it defaults to the base name of the
	// file's directory.
	Name string `yaml:"name,omitempty" json:"name"`
	// Path is the stack file's path (absolute when read by Load).
	Path string `yaml:"-" json:"path,omitempty"`
	// Dir is the absolute directory relative paths were resolved against.
	Dir string `yaml:"-" json:"dir,omitempty"`
	// Registry holds the resource kinds the stack was read with.
	Registry *kind.Registry `yaml:"-" json:"-"`
	// resources holds each kind's specs by kind name: a []S of the kind's
	// spec type, in file order.
	resources map[string]any
}

// New returns an empty stack named name over the kinds of reg.
func New(reg *kind.Registry, name string) *Stack {
	return &Stack{Name: name, Registry: reg, resources: map[string]any{}}
}

// Specs returns the specs of one kind (by its name) in file order; S must
// be the kind's spec type.
func Specs[S any](s *Stack, kindName string) []S {
	if s == nil {
		return nil
	}
	v, _ := s.resources[kindName].([]S)
	return v
}

// Resources returns the specs of kind k as pointers (*S) into the stack,
// in file order.
func (s *Stack) Resources(k kind.Kind) []any {
	if s == nil {
		return nil
	}
	v := reflect.ValueOf(s.resources[k.Info().Name])
	if !v.IsValid() {
		return nil
	}
	out := make([]any, v.Len())
	for i := range out {
		out[i] = v.Index(i).Addr().Interface()
	}
	return out
}

// Add appends a spec (a *S or S of kind k's spec type) to the stack.
func (s *Stack) Add(k kind.Kind, spec any) {
	if s.resources == nil {
		s.resources = map[string]any{}
	}
	name := k.Info().Name
	v := reflect.ValueOf(s.resources[name])
	if !v.IsValid() {
		v = reflect.MakeSlice(reflect.SliceOf(k.SpecType()), 0, 1)
	}
	sv := reflect.ValueOf(spec)
	if sv.Kind() == reflect.Pointer {
		sv = sv.Elem()
	}
	s.resources[name] = reflect.Append(v, sv).Interface()
}

// Len returns how many resources the stack declares.
func (s *Stack) Len() int {
	n := 0
	for _, v := range s.resources {
		n += reflect.ValueOf(v).Len()
	}
	return n
}

// DefaultFileName is the stack file madang looks for in a directory.
const DefaultFileName = "madang.yaml"

// MaxFileSize is the largest stack file Parse accepts.
const MaxFileSize = 4 << 20

// Load reads and parses the stack file at path (see Parse). Problems in the
// file are reported as an *Error whose positions use path as given;
// Stack.Path is the absolute path.
func Load(reg *kind.Registry, path string) (*Stack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	s, err := Parse(reg, path, data, filepath.Dir(abs))
	if err != nil {
		return nil, err
	}
	s.Path = abs
	return s, nil
}

// Parse parses a stack file's content. name is the file name used in
// problem positions and as Stack.Path; dir is the directory relative paths
// are resolved against (made absolute if it is not). Every problem found is
// returned at once, as an *Error.
func Parse(reg *kind.Registry, name string, data []byte, dir string) (*Stack, error) {
	return ParseWith(reg, name, data, dir, nil)
}

// ParseWith is Parse where a reference may also name a resource outside
// the stack for which existing(kind name, resource name) is true — such as
// an image made from an instance by hand (CreateImage), which a stack's
// launch template uses as an AMI.
func ParseWith(reg *kind.Registry, name string, data []byte, dir string, existing func(kind, name string) bool) (*Stack, error) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	p := &parser{file: name, reg: reg, existing: existing}
	s := New(reg, "")
	s.Path, s.Dir = name, dir
	if len(data) > MaxFileSize {
		p.problem(position{}, &fielderr.Error{
			Value:   strconv.Itoa(len(data)) + " bytes",
			Problem: "the stack file is too large",
			Fix:     "keep it under " + strconv.Itoa(MaxFileSize>>20) + " MiB",
		})
		return nil, p.err()
	}
	root := p.parseYAML(data)
	if root == nil {
		return nil, p.err()
	}
	p.decodeRoot(root, s)
	if p.nodes >= maxNodes {
		return nil, p.err()
	}
	p.check(s)
	if err := p.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// Problem is one thing wrong with a stack file.
type Problem struct {
	// File is the stack file's name as given to Load or Parse.
	File string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Err says which field is wrong, how, and how to fix it.
	Err *fielderr.Error
}

// String formats the problem as "file:line:col: path: problem (got
// value); fix".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteString(":" + strconv.Itoa(p.Column))
		}
	}
	b.WriteString(": ")
	b.WriteString(p.Err.Error())
	return b.String()
}

// Error is every problem found in a stack file, in file order.
type Error struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the field errors, so errors.As finds a *fielderr.Error.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p.Err
	}
	return errs
}
