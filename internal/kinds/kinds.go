// Package kinds lists every resource kind madang knows, in dependency
// order (a kind refers only to kinds above it). Adding a kind is its Def
// in the package that owns it, plus one line here.
package kinds

import (
	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/kind"
	"github.com/madang-dev/madang/internal/network"
)

// Registry returns a registry of every resource kind.
func Registry() *kind.Registry {
	return kind.NewRegistry(
		network.VpcKind(),
		network.SubnetKind(),
		network.SecurityGroupKind(),
		compute.ImageKind(),
		compute.LaunchTemplateKind(),
		compute.InstanceGroupKind(),
		elbctl.TargetGroupKind(),
		elbctl.LoadBalancerKind(),
		autoscaling.GroupKind(),
		cloudwatch.LogGroupKind(),
		cloudwatch.MetricFilterKind(),
		cloudwatch.AlarmKind(),
		cloudwatch.CompositeAlarmKind(),
		cloudwatch.DashboardKind(),
	)
}
