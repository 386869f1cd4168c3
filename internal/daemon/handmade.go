package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/kind"
	"github.com/madang-dev/madang/internal/state"
)

// Resources made outside stack files — through the AWS-compatible endpoint
// or the API's PUT/DELETE of a resource — belong to no stack (owner ""). They
// go through what apply does for one resource (defaults, validation,
// references, preflight, build, one transaction with a revision compare,
// waiting for the controllers), so the controllers serve them exactly as
// they serve a stack's. A stack never takes one over silently (apply refuses
// with a conflict naming it), and they never change a stack's resource.

// PutResource creates or replaces the hand-made resource of kind kindName
// described by spec (a pointer to the kind's spec type). It returns the
// controllers' warnings, as apply does.
func (d *Daemon) PutResource(ctx context.Context, kindName string, spec any) ([]string, error) {
	k, ok := d.kinds.Get(kindName)
	if !ok {
		return nil, fault.NotFoundf("kind", kindName, "no resource kind %q", kindName)
	}
	d.applyMu.Lock()
	defer d.applyMu.Unlock()
	s := stacks{d}
	snap, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	title := k.Info().Title
	errs, refs := k.Check(spec, d.cfg.Home)
	name := k.Name(spec)
	if name == "" {
		errs.Add("name", name, "is required", "give the "+title+" a name")
	}
	if len(errs) > 0 {
		return nil, fault.Wrap(fault.Invalid, k.Info().Name, name, fmt.Errorf("%s %s: %w", title, name, errs.Err()))
	}
	for _, ref := range refs {
		if ref.Name == "" || ref.AllowUnstored {
			continue
		}
		if _, ok := snap[ref.Kind][ref.Name]; !ok {
			rk, _ := d.kinds.Get(ref.Kind)
			rt := ref.Kind
			if rk != nil {
				rt = rk.Info().Title
			}
			return nil, fault.NotFoundf(ref.Kind, ref.Name, "%s %s: %s refers to %s %q, which does not exist", title, name, ref.Path, rt, ref.Name)
		}
	}
	old, exists := snap[k.Info().Name][name]
	if exists && old.owner != "" {
		return nil, fault.Conflictf(k.Info().Name, name, "%s %q belongs to stack %q", title, name, old.owner).
			WithHint("change it in that stack's file and run madang apply, or give this one another name")
	}
	// The kind's checks over all its resources (two load balancers on one
	// port): the stored specs with this one in place of its old version.
	all := reflect.MakeSlice(reflect.SliceOf(k.SpecType()), 0, len(snap[k.Info().Name])+1)
	var records []any
	for _, n := range sortedNames(snap[k.Info().Name]) {
		st := snap[k.Info().Name][n]
		records = append(records, st.record)
		if n != name {
			all = reflect.Append(all, reflect.ValueOf(st.spec).Elem())
		}
	}
	all = reflect.Append(all, reflect.ValueOf(spec).Elem())
	if errs := k.CheckAll(all.Interface()); len(errs) > 0 {
		return nil, fault.Wrap(fault.Invalid, k.Info().Name, name, fmt.Errorf("%s %s: %w", title, name, errs.Err()))
	}
	if errs := k.Preflight(ctx, spec, records); len(errs) > 0 {
		return nil, fault.Wrap(fault.Invalid, k.Info().Name, name, fmt.Errorf("%s %s: %w", title, name, errs.Err()))
	}
	var oldRecord any
	if exists {
		oldRecord = old.record
	}
	rec, changed, err := k.Build(ctx, d.env(), spec, "", oldRecord)
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, k.Info().Name, name, fmt.Errorf("%s %s: %w", title, name, err))
	}
	if !changed {
		return nil, nil
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", title, name, err)
	}
	key := kind.Key(k, name)
	ops := []state.Op{state.Put(key, b)}
	rev, err := d.store.Txn(ctx, []state.Compare{{Key: key, ModRevision: old.rev}}, ops)
	if errors.Is(err, state.ErrConflict) {
		return nil, fault.Conflictf(k.Info().Name, name, "%s %q changed while it was being written; nothing was written", title, name).
			WithHint("retry the request")
	}
	if err != nil {
		return nil, fmt.Errorf("write %s %s: %w", title, name, err)
	}
	verb := "created"
	if exists {
		verb = "updated"
	}
	d.events.Info(k.Info().Name, name, "%s (made outside a stack file)", verb)
	return d.observe(ctx, rev, ops), nil
}

// DeleteResource deletes the hand-made resource kindName/name. A resource of
// a stack, or one another resource refers to, is refused (InUse names the
// referrers).
func (d *Daemon) DeleteResource(ctx context.Context, kindName, name string) error {
	k, ok := d.kinds.Get(kindName)
	if !ok {
		return fault.NotFoundf("kind", kindName, "no resource kind %q", kindName)
	}
	d.applyMu.Lock()
	defer d.applyMu.Unlock()
	s := stacks{d}
	snap, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	title := k.Info().Title
	old, exists := snap[k.Info().Name][name]
	if !exists {
		return fault.NotFoundf(k.Info().Name, name, "no %s %q", title, name)
	}
	if old.owner != "" {
		return fault.Conflictf(k.Info().Name, name, "%s %q belongs to stack %q", title, name, old.owner).
			WithHint("remove it from that stack's file and run madang apply (or madang destroy)")
	}
	if users := d.referrers(snap, k.Info().Name, name); len(users) > 0 {
		return fault.InUsef(k.Info().Name, name, "%s %q is used by %s", title, name, strings.Join(users, ", ")).
			WithHint("delete or change those first")
	}
	key := kind.Key(k, name)
	ops := []state.Op{state.Delete(key)}
	rev, err := d.store.Txn(ctx, []state.Compare{{Key: key, ModRevision: old.rev}}, ops)
	if errors.Is(err, state.ErrConflict) {
		return fault.Conflictf(k.Info().Name, name, "%s %q changed while it was being deleted; nothing was deleted", title, name).
			WithHint("retry the request")
	}
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", title, name, err)
	}
	d.events.Info(k.Info().Name, name, "deleted (made outside a stack file)")
	d.observe(ctx, rev, ops)
	return nil
}

// referrers lists the stored resources that refer to kindName/name, as
// "target group \"web\"" (with their stack when they have one).
func (d *Daemon) referrers(snap snapshot, kindName, name string) []string {
	var out []string
	for _, k := range d.kinds.Kinds() {
		m := snap[k.Info().Name]
		for _, n := range sortedNames(m) {
			spec, _ := k.Spec(m[n].record)
			_, refs := k.Check(spec, d.cfg.Home)
			for _, ref := range refs {
				if ref.Kind == kindName && ref.Name == name {
					who := k.Info().Title + " " + strconv.Quote(n)
					if m[n].owner != "" {
						who += " of stack " + strconv.Quote(m[n].owner)
					}
					out = append(out, who)
					break
				}
			}
		}
	}
	return out
}

// specOf decodes a JSON spec of kind k, refusing unknown fields.
func specOf(k kind.Kind, body []byte) (any, error) {
	spec := reflect.New(k.SpecType()).Interface()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(spec); err != nil {
		return nil, fmt.Errorf("%w: %s spec: %w", api.ErrValidation, k.Info().Title, err)
	}
	return spec, nil
}

// Put implements api.ResourceWriter.
func (r resources) Put(ctx context.Context, kindName, name string, body []byte) (v1.Resource, []string, error) {
	k, err := r.lookup(kindName)
	if err != nil {
		return v1.Resource{}, nil, err
	}
	spec, err := specOf(k, body)
	if err != nil {
		return v1.Resource{}, nil, err
	}
	if got := k.Name(spec); got != name {
		return v1.Resource{}, nil, fault.Invalidf(k.Info().Name, name, "the spec's name %q differs from %q in the path", got, name).
			WithHint("use the same name in both")
	}
	warnings, err := r.d.PutResource(ctx, k.Info().Name, spec)
	if err != nil {
		return v1.Resource{}, nil, err
	}
	res, err := r.Get(ctx, k.Info().Name, name)
	return res, warnings, err
}

// Delete implements api.ResourceWriter.
func (r resources) Delete(ctx context.Context, kindName, name string) error {
	k, err := r.lookup(kindName)
	if err != nil {
		return err
	}
	return r.d.DeleteResource(ctx, k.Info().Name, name)
}
