package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/kind"
	"github.com/madang-dev/madang/internal/stack"
	"github.com/madang-dev/madang/internal/state"
)

// stacks implements api.Stacks over the kind registry: plan, apply and
// destroy of stack files.
type stacks struct{ d *Daemon }

func (s stacks) parse(req api.StackRequest) (*stack.Stack, error) {
	dir := filepath.Dir(req.Path)
	name := req.Path
	if req.DisplayPath != "" {
		name = req.DisplayPath
	}
	st, err := stack.ParseWith(s.d.kinds, name, []byte(req.YAML), dir, s.madeByHand)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", api.ErrValidation, err)
	}
	st.Path = req.Path
	return st, nil
}

// madeByHand reports whether a resource exists that no stack owns (an
// image made from an instance): stacks may refer to it.
func (s stacks) madeByHand(kindName, name string) bool {
	k, ok := s.d.kinds.Get(kindName)
	if !ok {
		return false
	}
	kv, err := s.d.store.Get(context.Background(), kind.Key(k, name))
	if err != nil {
		return false
	}
	rec, err := k.Decode(kv.Value)
	if err != nil {
		return false
	}
	_, owner := k.Spec(rec)
	return owner == ""
}

// stored is one stored record of a kind.
type stored struct {
	record any
	spec   any
	owner  string
	rev    int64 // ModRevision, for the transaction's compares
}

// snapshot is every stored record of every kind, by kind name and
// resource name.
type snapshot map[string]map[string]stored

func (s stacks) snapshot(ctx context.Context) (snapshot, error) {
	snap := snapshot{}
	for _, k := range s.d.kinds.Kinds() {
		records, kvs, _, err := kind.Load(ctx, s.d.store, k)
		if err != nil {
			return nil, fmt.Errorf("read %s records: %w", k.Info().Title, err)
		}
		m := map[string]stored{}
		for i, r := range records {
			spec, owner := k.Spec(r)
			m[k.Name(spec)] = stored{record: r, spec: spec, owner: owner, rev: kvs[i].ModRevision}
		}
		snap[k.Info().Name] = m
	}
	return snap, nil
}

// current rebuilds the stack named name from the stored records it owns.
func (s stacks) current(snap snapshot, name string) *stack.Stack {
	cur := stack.New(s.d.kinds, name)
	for _, k := range s.d.kinds.Kinds() {
		m := snap[k.Info().Name]
		for _, n := range sortedNames(m) {
			if m[n].owner == name {
				cur.Add(k, m[n].spec)
			}
		}
	}
	return cur
}

func sortedNames(m map[string]stored) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// checkOwnership refuses to take over resources of another stack.
func (s stacks) checkOwnership(snap snapshot, desired *stack.Stack) error {
	var errs []error
	for _, k := range s.d.kinds.Kinds() {
		for _, spec := range desired.Resources(k) {
			name := k.Name(spec)
			got, ok := snap[k.Info().Name][name]
			if !ok || got.owner == desired.Name {
				continue
			}
			who := "was made by hand"
			if got.owner != "" {
				who = "belongs to stack " + strconv.Quote(got.owner)
			}
			errs = append(errs, fmt.Errorf("%w: %s %q %s; rename it in %s or destroy the other stack first", api.ErrConflict, k.Info().Title, name, who, desired.Path))
		}
	}
	return errors.Join(errs...)
}

// plan diffs the stored stack against the desired one, adding changes a
// spec does not show (an image whose source directory changed).
func (s stacks) plan(ctx context.Context, snap snapshot, desired *stack.Stack) ([]stack.Change, error) {
	changes := stack.Diff(s.d.kinds, s.current(snap, desired.Name), desired)
	for _, k := range s.d.kinds.Kinds() {
		for _, spec := range desired.Resources(k) {
			name := k.Name(spec)
			if slices.ContainsFunc(changes, func(c stack.Change) bool { return c.Kind == k.Info().Name && c.Name == name }) {
				continue
			}
			old, ok := snap[k.Info().Name][name]
			if !ok {
				continue
			}
			details, err := k.Pending(ctx, s.d.env(), spec, old.record)
			if err != nil {
				return nil, fmt.Errorf("%w: %s %s: %w", api.ErrValidation, k.Info().Title, name, err)
			}
			if len(details) > 0 {
				changes = append(changes, stack.Change{Action: stack.ActionUpdate, Kind: k.Info().Name, Name: name, Details: details})
			}
		}
	}
	return changes, nil
}

func (s stacks) desired(req api.StackRequest) (*stack.Stack, error) {
	desired, err := s.parse(req)
	if err != nil {
		return nil, err
	}
	if req.Destroy {
		empty := stack.New(s.d.kinds, desired.Name)
		empty.Path = desired.Path
		return empty, nil
	}
	return desired, nil
}

// Plan implements api.Stacks.
func (s stacks) Plan(ctx context.Context, req api.StackRequest) (api.StackResult, error) {
	desired, err := s.desired(req)
	if err != nil {
		return api.StackResult{}, err
	}
	snap, err := s.snapshot(ctx)
	if err != nil {
		return api.StackResult{}, err
	}
	changes, err := s.plan(ctx, snap, desired)
	if err != nil {
		return api.StackResult{}, err
	}
	return api.StackResult{Stack: desired.Name, Changes: changes}, nil
}

// Apply implements api.Stacks: validate everything and build changed
// records (images are built here) first, then commit every record in one
// transaction whose compares fail if any record it replaces or deletes
// changed meanwhile (optimistic concurrency: a concurrent change gets a
// conflict, never a lost update). The controllers follow the store and
// converge processes and the data plane; Apply returns once they have
// seen the commit.
func (s stacks) Apply(ctx context.Context, req api.StackRequest) (api.StackResult, error) {
	s.d.applyMu.Lock()
	defer s.d.applyMu.Unlock()
	desired, err := s.desired(req)
	if err != nil {
		return api.StackResult{}, err
	}
	snap, err := s.snapshot(ctx)
	if err != nil {
		return api.StackResult{}, err
	}
	if err := s.checkOwnership(snap, desired); err != nil {
		return api.StackResult{}, err
	}
	changes, err := s.plan(ctx, snap, desired)
	if err != nil {
		return api.StackResult{}, err
	}
	res := api.StackResult{Stack: desired.Name, Changes: changes}
	if len(changes) == 0 {
		return res, nil
	}
	if err := s.preflight(ctx, snap, desired); err != nil {
		return api.StackResult{}, err
	}
	cmps, ops, err := s.build(ctx, snap, desired)
	if err != nil {
		return api.StackResult{}, err
	}
	rev, err := s.d.store.Txn(ctx, cmps, ops)
	if errors.Is(err, state.ErrConflict) {
		return api.StackResult{}, fmt.Errorf("%w: a resource of stack %s changed while it was being applied (another apply, or a change through the API); nothing was written — run the command again", api.ErrConflict, desired.Name)
	}
	if err != nil {
		return api.StackResult{}, fmt.Errorf("commit stack %s: %w", desired.Name, err)
	}
	for _, c := range changes {
		s.d.events.Info("stack", desired.Name, "%s", c.String())
	}
	res.Warnings = append(res.Warnings, s.d.observe(ctx, rev, ops)...)
	return res, nil
}

// preflight checks, before anything is built or committed, that every
// desired resource can be served here (listener ports free).
func (s stacks) preflight(ctx context.Context, snap snapshot, desired *stack.Stack) error {
	var errs []error
	for _, k := range s.d.kinds.Kinds() {
		var all []any
		for _, st := range snap[k.Info().Name] {
			all = append(all, st.record)
		}
		for _, spec := range desired.Resources(k) {
			for _, e := range k.Preflight(ctx, spec, all) {
				errs = append(errs, fmt.Errorf("%w: %s %s %s", api.ErrValidation, k.Info().Title, k.Name(spec), e.Error()))
			}
		}
	}
	return errors.Join(errs...)
}

// build returns the transaction of an apply: a put for every created or
// changed record and a delete for every record the stack no longer
// declares (kinds in reverse order), each guarded by a compare on the
// record's revision as it was read.
func (s stacks) build(ctx context.Context, snap snapshot, desired *stack.Stack) ([]state.Compare, []state.Op, error) {
	var cmps []state.Compare
	var ops []state.Op
	env := s.d.env()
	env.StackFile = desired.Path
	for _, k := range s.d.kinds.Kinds() {
		m := snap[k.Info().Name]
		for _, spec := range desired.Resources(k) {
			name := k.Name(spec)
			old, exists := m[name]
			var oldRecord any
			if exists {
				oldRecord = old.record
			}
			rec, changed, err := k.Build(ctx, env, spec, desired.Name, oldRecord)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: %s %s: %w", api.ErrValidation, k.Info().Title, name, err)
			}
			if !changed {
				continue
			}
			b, err := json.Marshal(rec)
			if err != nil {
				return nil, nil, fmt.Errorf("encode %s %s: %w", k.Info().Title, name, err)
			}
			key := kind.Key(k, name)
			cmps = append(cmps, state.Compare{Key: key, ModRevision: old.rev})
			ops = append(ops, state.Put(key, b))
		}
	}
	kinds := s.d.kinds.Kinds()
	for i := len(kinds) - 1; i >= 0; i-- {
		k := kinds[i]
		m := snap[k.Info().Name]
		keep := map[string]bool{}
		for _, spec := range desired.Resources(k) {
			keep[k.Name(spec)] = true
		}
		for _, name := range sortedNames(m) {
			if m[name].owner != desired.Name || keep[name] {
				continue
			}
			key := kind.Key(k, name)
			cmps = append(cmps, state.Compare{Key: key, ModRevision: m[name].rev})
			ops = append(ops, state.Delete(key))
		}
	}
	return cmps, ops, nil
}

// observeTimeout bounds how long an apply waits for the controllers to
// pick up its commit.
const observeTimeout = 30 * time.Second

// observe waits until the controllers whose prefixes ops touched have seen
// revision rev (instances of new groups exist, the data plane serves the
// new configuration), and returns what they report as warnings.
func (d *Daemon) observe(ctx context.Context, rev int64, ops []state.Op) []string {
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	var compute, elb, cw, asg bool
	for _, op := range ops {
		asg = asg || strings.HasPrefix(op.Key, autoscaling.GroupPrefix)
		compute = compute || strings.HasPrefix(op.Key, "/compute/")
		elb = elb || strings.HasPrefix(op.Key, "/elb/")
		cw = cw || strings.HasPrefix(op.Key, cloudwatch.Prefix)
	}
	var warnings []string
	if compute {
		if err := d.compute.Observed(ctx, rev); err != nil {
			warnings = append(warnings, "instances: still converging ("+err.Error()+"); see madang events")
		}
	}
	if elb {
		if err := d.elb.Observed(ctx, rev); err != nil {
			warnings = append(warnings, "load balancers: still converging ("+err.Error()+"); see madang events")
		} else if err := d.elb.LastError(); err != nil {
			warnings = append(warnings, err.Error())
		}
	}
	if asg {
		if err := d.asg.Observed(ctx, rev); err != nil {
			warnings = append(warnings, "Auto Scaling groups: still converging ("+err.Error()+"); see madang asg activities")
		}
	}
	if cw {
		if err := d.cw.Observed(ctx, rev); err != nil {
			warnings = append(warnings, "alarms: still evaluating ("+err.Error()+"); see madang alarms")
		}
	}
	return warnings
}
