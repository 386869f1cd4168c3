// Package elbv2 serves Elastic Load Balancing v2 on madang's AWS endpoint,
// backed by madang's load balancer controller: target groups, load
// balancers with their listeners and rules, target registrations and real
// target health (states, reason codes and descriptions from active checks
// of real processes). Resources created here belong to no stack; a stack's
// resources can be read and their targets registered, but not changed.
package elbv2

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/model"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/health"
)

// LoadBalancing is what ELBv2's operations need of the load balancer
// controller; *controller.Controller implements it. Errors are fault
// errors.
type LoadBalancing interface {
	TargetGroups() []elbctl.TargetGroup
	LoadBalancers() []elbctl.LoadBalancer
	// Health returns a target group's targets' health.
	Health(group string) ([]health.TargetHealth, error)
	Register(ctx context.Context, regs []elbctl.Registration) error
	Deregister(ctx context.Context, tg string, ids []string) error
}

// Resources creates, replaces and deletes resources made outside stack
// files; the daemon implements it. A resource of a stack is refused with a
// Conflict fault, one in use with InUse.
type Resources interface {
	PutResource(ctx context.Context, kind string, spec any) ([]string, error)
	DeleteResource(ctx context.Context, kind, name string) error
}

// Options configure the ELBv2 service.
type Options struct {
	LoadBalancing LoadBalancing
	Resources     Resources
	// VpcID is the default VPC the EC2 service reports; Zones the
	// region's zones (load balancers span all of them).
	VpcID string
	Zones []string
	// SubnetOf names a zone's default subnet.
	SubnetOf func(zone string) string
	// Network resolves created VPCs, subnets and security groups and
	// instances' VPCs (nil: the default VPC and subnets only).
	Network Network
}

// Service is the ELBv2 service.
type Service struct {
	lb        LoadBalancing
	resources Resources
	vpcID     string
	zones     []string
	subnetOf  func(string) string
	network   Network
	health    healthCache
}

// New returns the ELBv2 service for the endpoint.
func New(opts Options) (awsapi.Service, error) {
	m, err := model.Load("elasticloadbalancingv2")
	if err != nil {
		return awsapi.Service{}, err
	}
	s := &Service{lb: opts.LoadBalancing, resources: opts.Resources, vpcID: opts.VpcID, zones: opts.Zones, subnetOf: opts.SubnetOf, network: opts.Network}
	return awsapi.Service{Name: "elasticloadbalancingv2", Model: m, Handlers: map[string]awsapi.Handler{
		"CreateTargetGroup":              s.createTargetGroup,
		"DescribeTargetGroups":           s.describeTargetGroups,
		"ModifyTargetGroup":              s.modifyTargetGroup,
		"DeleteTargetGroup":              s.deleteTargetGroup,
		"DescribeTargetGroupAttributes":  s.describeTargetGroupAttributes,
		"ModifyTargetGroupAttributes":    s.modifyTargetGroupAttributes,
		"RegisterTargets":                s.registerTargets,
		"DeregisterTargets":              s.deregisterTargets,
		"DescribeTargetHealth":           s.describeTargetHealth,
		"CreateLoadBalancer":             s.createLoadBalancer,
		"DescribeLoadBalancers":          s.describeLoadBalancers,
		"DeleteLoadBalancer":             s.deleteLoadBalancer,
		"DescribeLoadBalancerAttributes": s.describeLoadBalancerAttributes,
		"ModifyLoadBalancerAttributes":   s.modifyLoadBalancerAttributes,
		"SetSubnets":                     s.setSubnets,
		"SetSecurityGroups":              s.setSecurityGroups,
		"CreateListener":                 s.createListener,
		"DescribeListeners":              s.describeListeners,
		"ModifyListener":                 s.modifyListener,
		"DeleteListener":                 s.deleteListener,
		"CreateRule":                     s.createRule,
		"DescribeRules":                  s.describeRules,
		"ModifyRule":                     s.modifyRule,
		"DeleteRule":                     s.deleteRule,
		"SetRulePriorities":              s.setRulePriorities,
		"AddTags":                        s.addTags,
		"RemoveTags":                     s.removeTags,
		"DescribeTags":                   s.describeTags,
	}}, nil
}

// index is the target groups and load balancers one call sees, by name and
// by ARN.
type index struct {
	tgs      []elbctl.TargetGroup
	tgByName map[string]*elbctl.TargetGroup
	tgByARN  map[string]*elbctl.TargetGroup
	lbs      []elbctl.LoadBalancer
	lbByName map[string]*elbctl.LoadBalancer
	lbByARN  map[string]*elbctl.LoadBalancer
}

func (s *Service) index() *index {
	ix := &index{tgs: s.lb.TargetGroups(), lbs: s.lb.LoadBalancers(),
		tgByName: map[string]*elbctl.TargetGroup{}, tgByARN: map[string]*elbctl.TargetGroup{},
		lbByName: map[string]*elbctl.LoadBalancer{}, lbByARN: map[string]*elbctl.LoadBalancer{}}
	for i := range ix.tgs {
		tg := &ix.tgs[i]
		ix.tgByName[tg.Spec.Name], ix.tgByARN[tg.ARN] = tg, tg
	}
	for i := range ix.lbs {
		lb := &ix.lbs[i]
		ix.lbByName[lb.Spec.Name], ix.lbByARN[lb.ARN] = lb, lb
	}
	return ix
}

// targetGroup finds a target group by ARN (TargetGroupNotFound otherwise).
func (ix *index) targetGroup(arn string) (*elbctl.TargetGroup, error) {
	if tg, ok := ix.tgByARN[arn]; ok {
		return tg, nil
	}
	return nil, protocol.Errorf("TargetGroupNotFound", "One or more target groups not found: %s", arn)
}

// loadBalancer finds a load balancer by ARN.
func (ix *index) loadBalancer(arn string) (*elbctl.LoadBalancer, error) {
	if lb, ok := ix.lbByARN[arn]; ok {
		return lb, nil
	}
	return nil, protocol.Errorf("LoadBalancerNotFound", "One or more load balancers not found: %s", arn)
}

// shortID is a stable 16-hex-digit id of parts, for the listener and rule
// ids in ARNs (madang's listeners are identified by their port, rules by
// their priority).
func shortID(parts ...string) string {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	s := strconv.FormatUint(h.Sum64(), 16)
	return strings.Repeat("0", 16-len(s)) + s
}

// listenerARN is the ARN of the listener on port of lb.
func listenerARN(lb *elbctl.LoadBalancer, port int) string {
	return strings.Replace(lb.ARN, ":loadbalancer/", ":listener/", 1) + "/" + shortID(lb.ARN, strconv.Itoa(port))
}

// ruleARN is the ARN of a listener's rule: by its stable id when it has
// one, else by its priority (0: the default rule).
func ruleARN(listener string, priority int, id string) string {
	if id == "" {
		id = ruleID(listener, priority)
	}
	return strings.Replace(listener, ":listener/", ":listener-rule/", 1) + "/" + id
}

// ruleID is the id of a rule named by its priority.
func ruleID(listener string, priority int) string {
	p := "default"
	if priority > 0 {
		p = strconv.Itoa(priority)
	}
	return shortID(listener, p)
}

// elbError maps a controller or daemon fault onto ELBv2's codes.
func elbError(err error) error {
	if err == nil {
		return nil
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe
	}
	f, ok := fault.As(err)
	if !ok {
		return err
	}
	msg := f.Error()
	switch f.Code {
	case fault.NotFound:
		switch f.Kind {
		case elbctl.KindTargetGroup:
			return protocol.Errorf("TargetGroupNotFound", "%s", msg)
		case elbctl.KindLoadBalancer:
			return protocol.Errorf("LoadBalancerNotFound", "%s", msg)
		case fault.KindInstance:
			return protocol.Errorf("InvalidTarget", "%s", msg)
		}
		return protocol.Errorf("ValidationError", "%s", msg)
	case fault.Conflict:
		return protocol.Errorf("OperationNotPermitted", "%s", msg)
	case fault.InUse:
		return protocol.Errorf("ResourceInUse", "%s", msg)
	case fault.Invalid:
		if f.Kind == fault.KindInstance {
			return protocol.Errorf("InvalidTarget", "%s", msg)
		}
		return protocol.Errorf("InvalidConfigurationRequest", "%s", msg)
	case fault.AlreadyExists:
		return protocol.Errorf("ValidationError", "%s", msg)
	}
	return err
}

// paging cuts items to one page of PageSize (1–400) after the Marker.
func paging[T any](items []T, in protocol.Struct) ([]T, string, error) {
	start := 0
	if m := in.String("Marker"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", protocol.Errorf("ValidationError", "The marker '%s' is not valid", m)
		}
		start = n
	}
	items = items[start:]
	if !in.Has("PageSize") {
		return items, "", nil
	}
	size := int(in.Int("PageSize"))
	if size < 1 || size > 400 {
		return nil, "", protocol.Errorf("ValidationError", "1 validation error detected: Value '%d' at 'pageSize' failed to satisfy constraint: Member must have value between 1 and 400", size)
	}
	if len(items) <= size {
		return items, "", nil
	}
	return items[:size], strconv.Itoa(start + size), nil
}

// paged answers a listing: one page of items as member, with the
// NextMarker of the next page when there is one.
func paged(member string, items []any, in protocol.Struct) (map[string]any, error) {
	pg, next, err := paging(items, in)
	if err != nil {
		return nil, err
	}
	out := map[string]any{member: pg}
	if next != "" {
		out["NextMarker"] = next
	}
	return out, nil
}

// tagList renders tags, with the stack's name as CloudFormation's tag.
func tagList(tags map[string]string, owner string) []any {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		out = append(out, map[string]any{"Key": k, "Value": tags[k]})
	}
	if owner != "" {
		out = append(out, map[string]any{"Key": "aws:cloudformation:stack-name", "Value": owner})
	}
	return out
}

// readTags reads a TagList.
func readTags(in protocol.Struct) (map[string]string, error) {
	tags := map[string]string{}
	for _, t := range in.Structs("Tags") {
		k := t.String("Key")
		if _, dup := tags[k]; dup {
			return nil, protocol.Errorf("DuplicateTagKeys", "Tag key '%s' is given twice", k)
		}
		tags[k] = t.String("Value")
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

// put writes a spec, mapping the daemon's refusals.
func (s *Service) put(ctx context.Context, kind string, spec any) error {
	_, err := s.resources.PutResource(ctx, kind, spec)
	return elbError(err)
}

// notOwned refuses changes to a resource a stack owns.
func notOwned(title, name, owner string) error {
	if owner == "" {
		return nil
	}
	return protocol.Errorf("OperationNotPermitted", "%s '%s' belongs to madang stack '%s'; change it in that stack's file (madang apply), not through the API", title, name, owner)
}

func validationError(format string, args ...any) *protocol.Error {
	return protocol.Errorf("ValidationError", format, args...)
}
