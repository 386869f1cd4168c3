package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/stack"
)

// stacks implements api.Stacks: plan, apply and destroy of stack files.
type stacks struct{ d *Daemon }

func (s stacks) parse(req api.StackRequest) (*stack.Stack, error) {
	dir := filepath.Dir(req.Path)
	name := req.Path
	if req.DisplayPath != "" {
		name = req.DisplayPath
	}
	st, err := stack.Parse(name, []byte(req.YAML), dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", api.ErrValidation, err)
	}
	st.Path = req.Path
	return st, nil
}

// current rebuilds the stack named name from stored resources it owns.
func (s stacks) current(name string) *stack.Stack {
	cur := &stack.Stack{Name: name}
	for _, im := range s.d.compute.Images() {
		if im.Owner == name {
			cur.Images = append(cur.Images, im.Spec)
		}
	}
	for _, lt := range s.d.compute.LaunchTemplates() {
		if lt.Owner == name && len(lt.Versions) > 0 {
			cur.LaunchTemplates = append(cur.LaunchTemplates, compute.LaunchTemplateSpec{
				Name: lt.Name, Description: lt.Description, LaunchTemplateData: lt.Versions[len(lt.Versions)-1].Data,
			})
		}
	}
	for _, g := range s.d.compute.Groups() {
		if g.Owner == name {
			cur.Instances = append(cur.Instances, g.Spec)
		}
	}
	for _, tg := range s.d.elb.TargetGroups() {
		if tg.Owner == name {
			cur.TargetGroups = append(cur.TargetGroups, tg.Spec)
		}
	}
	for _, lb := range s.d.elb.LoadBalancers() {
		if lb.Owner == name {
			cur.LoadBalancers = append(cur.LoadBalancers, lb.Spec)
		}
	}
	return cur
}

// checkOwnership refuses to take over resources of another stack.
func (s stacks) checkOwnership(desired *stack.Stack) error {
	var errs []error
	owner := func(kind, name, got string) {
		if got != desired.Name {
			who := "was made by hand"
			if got != "" {
				who = "belongs to stack " + strconv.Quote(got)
			}
			errs = append(errs, fmt.Errorf("%w: %s %q %s; rename it in %s or destroy the other stack first", api.ErrConflict, kind, name, who, desired.Path))
		}
	}
	for _, im := range s.d.compute.Images() {
		if slices.ContainsFunc(desired.Images, func(x compute.ImageSpec) bool { return x.Name == im.Spec.Name }) {
			owner("image", im.Spec.Name, im.Owner)
		}
	}
	for _, lt := range s.d.compute.LaunchTemplates() {
		if slices.ContainsFunc(desired.LaunchTemplates, func(x compute.LaunchTemplateSpec) bool { return x.Name == lt.Name }) {
			owner("launch template", lt.Name, lt.Owner)
		}
	}
	for _, g := range s.d.compute.Groups() {
		if slices.ContainsFunc(desired.Instances, func(x compute.InstanceGroupSpec) bool { return x.Name == g.Spec.Name }) {
			owner("instance group", g.Spec.Name, g.Owner)
		}
	}
	for _, tg := range s.d.elb.TargetGroups() {
		if slices.ContainsFunc(desired.TargetGroups, func(x elb.TargetGroupSpec) bool { return x.Name == tg.Spec.Name }) {
			owner("target group", tg.Spec.Name, tg.Owner)
		}
	}
	for _, lb := range s.d.elb.LoadBalancers() {
		if slices.ContainsFunc(desired.LoadBalancers, func(x elb.LoadBalancerSpec) bool { return x.Name == lb.Spec.Name }) {
			owner("load balancer", lb.Spec.Name, lb.Owner)
		}
	}
	return errors.Join(errs...)
}

// plan diffs the stored stack against the desired one. Images whose
// source directory changed show as updates even when their spec did not.
func (s stacks) plan(desired *stack.Stack) ([]stack.Change, error) {
	cur := s.current(desired.Name)
	changes := stack.Diff(cur, desired)
	for _, im := range desired.Images {
		if slices.ContainsFunc(changes, func(c stack.Change) bool { return c.Kind == "image" && c.Name == im.Name }) {
			continue
		}
		need, err := s.d.compute.ImageNeedsBuild(im)
		if err != nil {
			return nil, err
		}
		if need {
			changes = append(changes, stack.Change{Action: "update", Kind: "image", Name: im.Name, Details: []string{"source changed: a new version will be built"}})
		}
	}
	return changes, nil
}

// Plan implements api.Stacks.
func (s stacks) Plan(ctx context.Context, req api.StackRequest) (api.StackResult, error) {
	desired, err := s.parse(req)
	if err != nil {
		return api.StackResult{}, err
	}
	if req.Destroy {
		desired = &stack.Stack{Name: desired.Name, Path: desired.Path}
	}
	changes, err := s.plan(desired)
	if err != nil {
		return api.StackResult{}, err
	}
	return api.StackResult{Stack: desired.Name, Changes: changes}, nil
}

// Apply implements api.Stacks: validate everything and build changed
// images first, then commit every record in one transaction, then converge
// processes and the data plane. A failure before the commit changes
// nothing.
func (s stacks) Apply(ctx context.Context, req api.StackRequest) (api.StackResult, error) {
	s.d.applyMu.Lock()
	defer s.d.applyMu.Unlock()
	desired, err := s.parse(req)
	if err != nil {
		return api.StackResult{}, err
	}
	if req.Destroy {
		desired = &stack.Stack{Name: desired.Name, Path: desired.Path}
	}
	if err := s.checkOwnership(desired); err != nil {
		return api.StackResult{}, err
	}
	changes, err := s.plan(desired)
	if err != nil {
		return api.StackResult{}, err
	}
	res := api.StackResult{Stack: desired.Name, Changes: changes}
	if len(changes) == 0 {
		return res, nil
	}
	if err := s.checkPorts(desired); err != nil {
		return api.StackResult{}, err
	}
	cur := s.current(desired.Name)
	var cc compute.Change
	var ec elbctl.Change
	for _, spec := range desired.Images {
		im, changed, err := s.d.compute.PrepareImage(ctx, spec, desired.Name)
		if err != nil {
			return api.StackResult{}, fmt.Errorf("%w: %w", api.ErrValidation, err)
		}
		if changed {
			im.StackFile = desired.Path
			cc.Images = append(cc.Images, im)
		}
	}
	for _, spec := range desired.LaunchTemplates {
		if lt, changed := s.d.compute.PrepareLaunchTemplate(spec, desired.Name); changed {
			cc.LaunchTemplates = append(cc.LaunchTemplates, lt)
		}
	}
	for _, spec := range desired.Instances {
		cc.Groups = append(cc.Groups, &compute.Group{Spec: spec, Owner: desired.Name})
	}
	for _, spec := range desired.TargetGroups {
		ec.TargetGroups = append(ec.TargetGroups, s.d.elb.PrepareTargetGroup(spec, desired.Name))
	}
	for _, spec := range desired.LoadBalancers {
		ec.LoadBalancers = append(ec.LoadBalancers, s.d.elb.PrepareLoadBalancer(spec, desired.Name))
	}
	for _, im := range cur.Images {
		if !slices.ContainsFunc(desired.Images, func(x compute.ImageSpec) bool { return x.Name == im.Name }) {
			cc.DeleteImages = append(cc.DeleteImages, im.Name)
		}
	}
	for _, lt := range cur.LaunchTemplates {
		if !slices.ContainsFunc(desired.LaunchTemplates, func(x compute.LaunchTemplateSpec) bool { return x.Name == lt.Name }) {
			cc.DeleteTemplates = append(cc.DeleteTemplates, lt.Name)
		}
	}
	for _, g := range cur.Instances {
		if !slices.ContainsFunc(desired.Instances, func(x compute.InstanceGroupSpec) bool { return x.Name == g.Name }) {
			cc.DeleteGroups = append(cc.DeleteGroups, g.Name)
		}
	}
	for _, tg := range cur.TargetGroups {
		if !slices.ContainsFunc(desired.TargetGroups, func(x elb.TargetGroupSpec) bool { return x.Name == tg.Name }) {
			ec.DeleteTGs = append(ec.DeleteTGs, tg.Name)
		}
	}
	for _, lb := range cur.LoadBalancers {
		if !slices.ContainsFunc(desired.LoadBalancers, func(x elb.LoadBalancerSpec) bool { return x.Name == lb.Name }) {
			ec.DeleteLBs = append(ec.DeleteLBs, lb.Name)
		}
	}
	ops, err := cc.Ops()
	if err != nil {
		return api.StackResult{}, err
	}
	eops, err := ec.Ops()
	if err != nil {
		return api.StackResult{}, err
	}
	ops = append(ops, eops...)
	if _, err := s.d.store.Txn(ctx, nil, ops); err != nil {
		return api.StackResult{}, fmt.Errorf("commit stack %s: %w", desired.Name, err)
	}
	for _, c := range changes {
		s.d.events.Info("stack", desired.Name, "%s", c.String())
	}
	// Load balancer first, so new instances register as they come up and
	// removed ones drain before their instances stop.
	if err := s.d.elb.Committed(&ec); err != nil {
		s.d.events.Error("stack", desired.Name, "%v", err)
		res.Warnings = append(res.Warnings, err.Error())
	}
	s.d.compute.Committed(&cc)
	s.d.elb.Kick()
	// Instances running an older launch template or image version are
	// rebooted one at a time, each waiting for the previous to be running,
	// so env and code changes apply without taking the group down.
	for _, g := range desired.Instances {
		for _, id := range s.d.compute.OutdatedMembers(g.Name) {
			s.d.events.Info("instance", id, "rebooting to pick up launch template or image changes")
			if err := s.d.compute.Reboot(ctx, id); err != nil {
				res.Warnings = append(res.Warnings, fmt.Sprintf("reboot %s: %v", id, err))
				continue
			}
			if err := s.d.compute.WaitRunning(ctx, []string{id}); err != nil {
				res.Warnings = append(res.Warnings, err.Error())
				break
			}
		}
	}
	return res, nil
}

// checkPorts makes sure every listener the stack adds can bind, before
// anything is committed.
func (s stacks) checkPorts(desired *stack.Stack) error {
	serving := map[string]bool{}
	for _, lb := range s.d.elb.LoadBalancers() {
		for _, l := range lb.Spec.Listeners {
			serving[net.JoinHostPort(addrOrDefault(lb.Spec.Address), strconv.Itoa(l.Port))] = true
		}
	}
	var errs []error
	for _, lb := range desired.LoadBalancers {
		for _, l := range lb.Listeners {
			hp := net.JoinHostPort(addrOrDefault(lb.Address), strconv.Itoa(l.Port))
			if serving[hp] {
				continue
			}
			ln, err := net.Listen("tcp", hp)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: load balancer %s listener port %d: cannot listen on %s (%v); pick a free port", api.ErrValidation, lb.Name, l.Port, hp, err))
				continue
			}
			_ = ln.Close()
		}
	}
	return errors.Join(errs...)
}

func addrOrDefault(a string) string {
	if a == "" {
		return "127.0.0.1"
	}
	return a
}
