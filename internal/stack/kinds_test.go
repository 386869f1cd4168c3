package stack

import (
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/kinds"
)

// testKinds is every resource kind, as the daemon reads stack files.
var testKinds = kinds.Registry()

func images(s *Stack) []compute.ImageSpec { return Specs[compute.ImageSpec](s, compute.KindImage) }
func templates(s *Stack) []compute.LaunchTemplateSpec {
	return Specs[compute.LaunchTemplateSpec](s, compute.KindLaunchTemplate)
}
func groups(s *Stack) []compute.InstanceGroupSpec {
	return Specs[compute.InstanceGroupSpec](s, compute.KindInstanceGroup)
}
func tgs(s *Stack) []elb.TargetGroupSpec  { return Specs[elb.TargetGroupSpec](s, "target-group") }
func lbs(s *Stack) []elb.LoadBalancerSpec { return Specs[elb.LoadBalancerSpec](s, "load-balancer") }
