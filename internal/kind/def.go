package kind

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/madang-dev/madang/internal/fielderr"
)

// Def defines a kind with spec type S and record type R. Only Info,
// NameOf, SpecOf and Build are required; a nil optional func does
// nothing (no defaults, no problems, no references).
type Def[S, R any] struct {
	Meta Info
	// NameOf returns a spec's name.
	NameOf func(*S) string
	// Defaults fills unset fields.
	Defaults func(*S)
	// Validate returns the spec's problems, paths relative to the spec.
	Validate func(*S) fielderr.List
	// Resolve makes relative paths absolute against the stack file's
	// directory, returning problems for paths that do not resolve.
	Resolve func(s *S, dir string) fielderr.List
	// Refs lists the spec's references to other resources.
	Refs func(*S) []Ref
	// Together checks the kind's specs of one stack together (paths
	// relative to the section, such as "[1].listeners[0].port").
	Together func([]S) fielderr.List
	// Comparable makes a defaulted spec comparable for diff (effective
	// attributes).
	Comparable func(*S)
	// SpecOf returns a record's spec and owner.
	SpecOf func(*R) (S, string)
	// PendingOf returns changes a spec's diff does not show.
	PendingOf func(ctx context.Context, env Env, s *S, old *R) ([]string, error)
	// PreflightOf checks that s can be served (all: every stored record).
	PreflightOf func(ctx context.Context, s *S, all []*R) fielderr.List
	// BuildOf returns the record to store for s (see Kind.Build).
	BuildOf func(ctx context.Context, env Env, s *S, owner string, old *R) (*R, bool, error)
	// Table is the CLI's columns, over *R.
	Table []Column
}

var _ Kind = (*Def[struct{}, struct{}])(nil)

// Info implements Kind.
func (d *Def[S, R]) Info() Info { return d.Meta }

// SpecType implements Kind.
func (d *Def[S, R]) SpecType() reflect.Type { return reflect.TypeFor[S]() }

func specPtr[S any](spec any) *S {
	switch v := spec.(type) {
	case *S:
		return v
	case S:
		return &v
	}
	panic(fmt.Sprintf("kind: spec of type %T, want %v", spec, reflect.TypeFor[S]()))
}

func recPtr[R any](rec any) *R {
	if rec == nil {
		return nil
	}
	switch v := rec.(type) {
	case *R:
		return v
	case R:
		return &v
	}
	panic(fmt.Sprintf("kind: record of type %T, want %v", rec, reflect.TypeFor[R]()))
}

// Name implements Kind.
func (d *Def[S, R]) Name(spec any) string { return d.NameOf(specPtr[S](spec)) }

// Check implements Kind.
func (d *Def[S, R]) Check(spec any, dir string) (fielderr.List, []Ref) {
	s := specPtr[S](spec)
	if d.Defaults != nil {
		d.Defaults(s)
	}
	var errs fielderr.List
	if d.Validate != nil {
		errs = append(errs, d.Validate(s)...)
	}
	if d.Resolve != nil {
		errs = append(errs, d.Resolve(s, dir)...)
	}
	var refs []Ref
	if d.Refs != nil {
		refs = d.Refs(s)
	}
	return errs, refs
}

// CheckAll implements Kind.
func (d *Def[S, R]) CheckAll(specs any) fielderr.List {
	if d.Together == nil {
		return nil
	}
	return d.Together(specs.([]S))
}

// Normalize implements Kind.
func (d *Def[S, R]) Normalize(spec any) {
	s := specPtr[S](spec)
	if d.Defaults != nil {
		d.Defaults(s)
	}
	if d.Comparable != nil {
		d.Comparable(s)
	}
}

// Decode implements Kind.
func (d *Def[S, R]) Decode(value []byte) (any, error) {
	r := new(R)
	if err := json.Unmarshal(value, r); err != nil {
		return nil, fmt.Errorf("decode %s record: %w", d.Meta.Title, err)
	}
	return r, nil
}

// Spec implements Kind.
func (d *Def[S, R]) Spec(record any) (any, string) {
	s, owner := d.SpecOf(recPtr[R](record))
	return &s, owner
}

// Pending implements Kind.
func (d *Def[S, R]) Pending(ctx context.Context, env Env, spec any, record any) ([]string, error) {
	if d.PendingOf == nil {
		return nil, nil
	}
	return d.PendingOf(ctx, env, specPtr[S](spec), recPtr[R](record))
}

// Preflight implements Kind.
func (d *Def[S, R]) Preflight(ctx context.Context, spec any, all []any) fielderr.List {
	if d.PreflightOf == nil {
		return nil
	}
	rs := make([]*R, len(all))
	for i, a := range all {
		rs[i] = recPtr[R](a)
	}
	return d.PreflightOf(ctx, specPtr[S](spec), rs)
}

// Build implements Kind.
func (d *Def[S, R]) Build(ctx context.Context, env Env, spec any, owner string, record any) (any, bool, error) {
	return d.BuildOf(ctx, env, specPtr[S](spec), owner, recPtr[R](record))
}

// Columns implements Kind.
func (d *Def[S, R]) Columns() []Column { return d.Table }

// Rebuild is the BuildOf of a record that keeps its spec and owner and
// nothing derived from them: an unchanged spec and owner keep old (nothing
// to write), a changed one gets a copy of old with them, and without old
// the record is fresh(). fields points at a record's spec and owner.
func Rebuild[S, R any](old *R, spec *S, owner string, fields func(*R) (*S, *string), fresh func() *R) (*R, bool, error) {
	if old == nil {
		return fresh(), true, nil
	}
	if s, o := fields(old); reflect.DeepEqual(*s, *spec) && *o == owner {
		return old, false, nil
	}
	cp := *old
	s, o := fields(&cp)
	*s, *o = *spec, owner
	return &cp, true, nil
}
