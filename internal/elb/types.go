// Package elb is the control plane of madang's Application Load Balancer:
// target groups, load balancers, listeners and rules, as written in stack
// files and stored by the daemon. The data plane lives in package proxy and
// health checking in package health.
package elb

// TargetGroupSpec is the desired state of a target group. Field names,
// defaults and ranges follow AWS's CreateTargetGroup.
type TargetGroupSpec struct {
	Name string `yaml:"name" json:"name"`
	// Protocol is HTTP (HTTPS comes with certificates).
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// Port is the default port of registered targets; for instance targets
	// it defaults to the instance image's port.
	Port int `yaml:"port,omitempty" json:"port,omitempty"`
	// TargetType is "instance" (default) or "ip".
	TargetType string `yaml:"targetType,omitempty" json:"targetType,omitempty"`
	// Vpc is the id of the VPC the target group is in, whose instances it
	// takes as targets; empty is the account's default VPC.
	Vpc string `yaml:"vpc,omitempty" json:"vpc,omitempty"`
	// HealthCheck holds the active health-check settings.
	HealthCheck HealthCheckSpec `yaml:"healthCheck,omitempty" json:"healthCheck,omitempty"`
	// Attributes are AWS target group attributes by their AWS keys, e.g.
	// "deregistration_delay.timeout_seconds": "30". Values are strings as
	// in the AWS API; numbers and booleans in YAML are accepted too.
	Attributes map[string]string `yaml:"attributes,omitempty" json:"attributes,omitempty"`
	// Targets are the registrations.
	Targets []TargetSpec `yaml:"targets,omitempty" json:"targets,omitempty"`
	// Tags are the target group's tags (AWS's AddTags/DescribeTags).
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// HealthCheckSpec are the health-check settings of a target group; zero
// values mean AWS's defaults.
type HealthCheckSpec struct {
	// Enabled defaults to true.
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// Protocol is HTTP (default).
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// Port is "traffic-port" (default) or a port number.
	Port string `yaml:"port,omitempty" json:"port,omitempty"`
	// Path defaults to "/".
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// IntervalSeconds: 5–300, default 30.
	IntervalSeconds int `yaml:"intervalSeconds,omitempty" json:"intervalSeconds,omitempty"`
	// TimeoutSeconds: 2–120, default 5, less than the interval.
	TimeoutSeconds int `yaml:"timeoutSeconds,omitempty" json:"timeoutSeconds,omitempty"`
	// HealthyThresholdCount: 2–10, default 5.
	HealthyThresholdCount int `yaml:"healthyThresholdCount,omitempty" json:"healthyThresholdCount,omitempty"`
	// UnhealthyThresholdCount: 2–10, default 2.
	UnhealthyThresholdCount int `yaml:"unhealthyThresholdCount,omitempty" json:"unhealthyThresholdCount,omitempty"`
	// Matcher is the success codes: "200", "200,202", "200-299"; codes
	// 200–499; default "200".
	Matcher string `yaml:"matcher,omitempty" json:"matcher,omitempty"`
}

// TargetSpec registers targets with a target group. Exactly one of
// Instances, ID or IP is set.
type TargetSpec struct {
	// Instances names an instance group of the stack file: every instance
	// of the group is registered, and follows the group as it changes.
	Instances string `yaml:"instances,omitempty" json:"instances,omitempty"`
	// ID is an instance id (i-…), for target type instance.
	ID string `yaml:"id,omitempty" json:"id,omitempty"`
	// IP is an IPv4 or IPv6 address, for target type ip.
	IP string `yaml:"ip,omitempty" json:"ip,omitempty"`
	// Port overrides the target group's port.
	Port int `yaml:"port,omitempty" json:"port,omitempty"`
	// Weight is madang's per-target weight, 0–1000 (default
	// DefaultWeight); AWS has none per target. Weight 0 gets no new
	// requests.
	Weight *int `yaml:"weight,omitempty" json:"weight,omitempty"`
}

// DefaultWeight is a target's weight when none is given.
const DefaultWeight = 1

// LoadBalancerSpec is the desired state of a load balancer.
type LoadBalancerSpec struct {
	Name string `yaml:"name" json:"name"`
	// Type is "application" (default).
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	// Address is the IP the listeners bind to (default 127.0.0.1).
	Address string `yaml:"address,omitempty" json:"address,omitempty"`
	// Vpc is the id of the load balancer's VPC; empty is the account's
	// default VPC.
	Vpc string `yaml:"vpc,omitempty" json:"vpc,omitempty"`
	// Subnets are the subnets the load balancer is attached to, at most
	// one per zone; none is the default VPC's subnet in every zone.
	Subnets []SubnetMapping `yaml:"subnets,omitempty" json:"subnets,omitempty"`
	// SecurityGroups are the ids of the load balancer's security groups
	// (recorded, not enforced); none is its VPC's default group.
	SecurityGroups []string `yaml:"securityGroups,omitempty" json:"securityGroups,omitempty"`
	// Attributes are AWS load balancer attributes by their AWS keys, e.g.
	// "idle_timeout.timeout_seconds": "60".
	Attributes map[string]string `yaml:"attributes,omitempty" json:"attributes,omitempty"`
	Listeners  []ListenerSpec    `yaml:"listeners" json:"listeners"`
	// Tags are the load balancer's tags (AWS's AddTags/DescribeTags).
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// SubnetMapping is a subnet of a load balancer and the zone it is in.
type SubnetMapping struct {
	Subnet           string `yaml:"subnet" json:"subnet"`
	AvailabilityZone string `yaml:"availabilityZone" json:"availabilityZone"`
}

// ListenerSpec is one listener of a load balancer.
type ListenerSpec struct {
	// Protocol is HTTP (default).
	Protocol string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	// Port is 1–65535.
	Port int `yaml:"port" json:"port"`
	// DefaultActions run when no rule matches.
	DefaultActions []ActionSpec `yaml:"defaultActions" json:"defaultActions"`
	// Rules are evaluated from the lowest priority up.
	Rules []RuleSpec `yaml:"rules,omitempty" json:"rules,omitempty"`
}

// RuleSpec is a listener rule.
type RuleSpec struct {
	// Priority is 1–50000, unique within the listener.
	Priority int `yaml:"priority" json:"priority"`
	// ID is the stable id of a rule made or moved through the AWS
	// endpoint (the last part of its ARN, kept when SetRulePriorities
	// changes its priority); a stack file's rules have none and are
	// named by their priority.
	ID         string          `yaml:"-" json:"id,omitempty"`
	Conditions []ConditionSpec `yaml:"conditions" json:"conditions"`
	Actions    []ActionSpec    `yaml:"actions" json:"actions"`
}

// ConditionSpec is a rule condition. Field is one of host-header,
// path-pattern, http-header, http-request-method, query-string, source-ip.
type ConditionSpec struct {
	Field string `yaml:"field" json:"field"`
	// Values are the match values (host-header, path-pattern,
	// http-request-method, source-ip CIDRs, and header values for
	// http-header); AWS's limits on count and wildcards apply.
	Values []string `yaml:"values,omitempty" json:"values,omitempty"`
	// HTTPHeaderName is the header for field http-header.
	HTTPHeaderName string `yaml:"httpHeaderName,omitempty" json:"httpHeaderName,omitempty"`
	// QueryString holds key/value pairs for field query-string; an empty
	// key matches any key.
	QueryString []KeyValue `yaml:"queryString,omitempty" json:"queryString,omitempty"`
}

// KeyValue is a query-string match pair.
type KeyValue struct {
	Key   string `yaml:"key,omitempty" json:"key,omitempty"`
	Value string `yaml:"value" json:"value"`
}

// ActionSpec is a rule action. Type is forward, redirect, fixed-response
// or static (madang's own: serve a directory).
type ActionSpec struct {
	Type string `yaml:"type" json:"type"`
	// TargetGroup is shorthand for a forward to one target group.
	TargetGroup   string             `yaml:"targetGroup,omitempty" json:"targetGroup,omitempty"`
	Forward       *ForwardSpec       `yaml:"forward,omitempty" json:"forward,omitempty"`
	Redirect      *RedirectSpec      `yaml:"redirect,omitempty" json:"redirect,omitempty"`
	FixedResponse *FixedResponseSpec `yaml:"fixedResponse,omitempty" json:"fixedResponse,omitempty"`
	Static        *StaticSpec        `yaml:"static,omitempty" json:"static,omitempty"`
}

// ForwardSpec forwards to one to five weighted target groups.
type ForwardSpec struct {
	TargetGroups []WeightedTargetGroup `yaml:"targetGroups" json:"targetGroups"`
	// Stickiness is target-group stickiness (which group a client sticks
	// to), 1 s to 7 days.
	Stickiness *GroupStickinessSpec `yaml:"stickiness,omitempty" json:"stickiness,omitempty"`
}

// WeightedTargetGroup is a target group with a weight 0–999 (default 1).
type WeightedTargetGroup struct {
	Name   string `yaml:"name" json:"name"`
	Weight *int   `yaml:"weight,omitempty" json:"weight,omitempty"`
}

// GroupStickinessSpec is a forward action's target-group stickiness.
type GroupStickinessSpec struct {
	Enabled         bool `yaml:"enabled" json:"enabled"`
	DurationSeconds int  `yaml:"durationSeconds,omitempty" json:"durationSeconds,omitempty"`
}

// RedirectSpec is a redirect action. Empty fields keep the request's
// value ("#{host}" etc.); StatusCode is HTTP_301 or HTTP_302.
type RedirectSpec struct {
	Protocol   string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	Host       string `yaml:"host,omitempty" json:"host,omitempty"`
	Port       string `yaml:"port,omitempty" json:"port,omitempty"`
	Path       string `yaml:"path,omitempty" json:"path,omitempty"`
	Query      string `yaml:"query,omitempty" json:"query,omitempty"`
	StatusCode string `yaml:"statusCode" json:"statusCode"`
}

// FixedResponseSpec answers with a fixed status, content type and body.
type FixedResponseSpec struct {
	StatusCode  string `yaml:"statusCode" json:"statusCode"`
	ContentType string `yaml:"contentType,omitempty" json:"contentType,omitempty"`
	MessageBody string `yaml:"messageBody,omitempty" json:"messageBody,omitempty"`
}

// StaticSpec serves files from a directory (nginx parity). Relative Root
// paths are resolved against the stack file's directory.
type StaticSpec struct {
	Root string `yaml:"root" json:"root"`
	// StripPrefix is removed from the request path before the lookup.
	StripPrefix string `yaml:"stripPrefix,omitempty" json:"stripPrefix,omitempty"`
	// Index is the file served for directories (default index.html).
	Index string `yaml:"index,omitempty" json:"index,omitempty"`
	// MaxAgeSeconds sets Cache-Control max-age (default 0: no-cache with
	// validators).
	MaxAgeSeconds int `yaml:"maxAgeSeconds,omitempty" json:"maxAgeSeconds,omitempty"`
}
