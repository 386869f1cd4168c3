package v1

import "time"

// TargetGroup is a target group (GET /v1/target-groups).
type TargetGroup struct {
	Spec TargetGroupSpec `json:"spec"`
	// ARN is AWS-style: arn:aws:elasticloadbalancing:…:targetgroup/NAME/….
	ARN       string    `json:"arn"`
	Owner     string    `json:"owner,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// TargetGroupSpec is a target group as written in a stack file (AWS's
// CreateTargetGroup names).
type TargetGroupSpec struct {
	// Vpc is the target group's VPC ("" is the default VPC).
	Vpc         string          `json:"vpc,omitempty"`
	Name        string          `json:"name"`
	Protocol    string          `json:"protocol,omitempty"`
	Port        int             `json:"port,omitempty"`
	TargetType  string          `json:"targetType,omitempty"`
	HealthCheck HealthCheckSpec `json:"healthCheck"`
	// Attributes are AWS target group attributes by their AWS keys.
	Attributes map[string]string `json:"attributes,omitempty"`
	Targets    []TargetSpec      `json:"targets,omitempty"`
	// Tags are the target group's tags.
	Tags map[string]string `json:"tags,omitempty"`
}

// HealthCheckSpec are a target group's active health-check settings.
type HealthCheckSpec struct {
	Enabled                 *bool  `json:"enabled,omitempty"`
	Protocol                string `json:"protocol,omitempty"`
	Port                    string `json:"port,omitempty"`
	Path                    string `json:"path,omitempty"`
	IntervalSeconds         int    `json:"intervalSeconds,omitempty"`
	TimeoutSeconds          int    `json:"timeoutSeconds,omitempty"`
	HealthyThresholdCount   int    `json:"healthyThresholdCount,omitempty"`
	UnhealthyThresholdCount int    `json:"unhealthyThresholdCount,omitempty"`
	Matcher                 string `json:"matcher,omitempty"`
}

// TargetSpec registers targets: an instance group, an instance id or an IP.
type TargetSpec struct {
	Instances string `json:"instances,omitempty"`
	ID        string `json:"id,omitempty"`
	IP        string `json:"ip,omitempty"`
	Port      int    `json:"port,omitempty"`
	Weight    *int   `json:"weight,omitempty"`
}

// TargetHealth is one registered target's health (GET
// /v1/target-groups/{name}/health).
type TargetHealth struct {
	// ID is the instance id, or ip:port for ip targets.
	ID   string `json:"id"`
	Addr string `json:"addr"`
	// State is AWS's: initial, healthy, unhealthy, unused, draining,
	// unavailable.
	State string `json:"state"`
	// Reason is AWS's reason code (Target.ResponseCodeMismatch); empty
	// when healthy.
	Reason string `json:"reason,omitempty"`
	// Description explains the state for people.
	Description string `json:"description,omitempty"`
	// LastCheck is when the last active check finished (zero before the
	// first one) and LastLatencySeconds how long it took.
	LastCheck          time.Time `json:"lastCheck"`
	LastLatencySeconds float64   `json:"lastLatencySeconds"`
	ConsecutiveOK      int       `json:"consecutiveOK"`
	ConsecutiveFail    int       `json:"consecutiveFail"`
	// Since is when State last changed.
	Since time.Time `json:"since"`
	// Passive is set while live traffic keeps the target ejected.
	Passive string `json:"passive,omitempty"`
}

// LoadBalancer is a load balancer (GET /v1/load-balancers).
type LoadBalancer struct {
	Spec      LoadBalancerSpec `json:"spec"`
	ARN       string           `json:"arn"`
	Owner     string           `json:"owner,omitempty"`
	CreatedAt time.Time        `json:"createdAt"`
}

// LoadBalancerSpec is a load balancer as written in a stack file.
type LoadBalancerSpec struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	// Address is the IP the listeners bind to ("" is 127.0.0.1).
	Address    string            `json:"address,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Listeners  []Listener        `json:"listeners"`
	// Tags are the load balancer's tags.
	Tags map[string]string `json:"tags,omitempty"`
	// Vpc, Subnets and SecurityGroups are the load balancer's network
	// placement ("" and none: the default VPC and its subnets); groups
	// are recorded, not enforced.
	Vpc            string          `json:"vpc,omitempty"`
	Subnets        []SubnetMapping `json:"subnets,omitempty"`
	SecurityGroups []string        `json:"securityGroups,omitempty"`
}

// Listener is one listener of a load balancer.
type Listener struct {
	Protocol       string   `json:"protocol,omitempty"`
	Port           int      `json:"port"`
	DefaultActions []Action `json:"defaultActions"`
	Rules          []Rule   `json:"rules,omitempty"`
}

// Rule is a listener rule.
type Rule struct {
	Priority int `json:"priority"`
	// ID is the stable id of a rule made through the AWS endpoint.
	ID         string      `json:"id,omitempty"`
	Conditions []Condition `json:"conditions"`
	Actions    []Action    `json:"actions"`
}

// Condition is a rule condition (host-header, path-pattern, http-header,
// http-request-method, query-string, source-ip).
type Condition struct {
	Field          string     `json:"field"`
	Values         []string   `json:"values,omitempty"`
	HTTPHeaderName string     `json:"httpHeaderName,omitempty"`
	QueryString    []KeyValue `json:"queryString,omitempty"`
}

// KeyValue is a query-string match pair.
type KeyValue struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value"`
}

// Action is a rule action: forward, redirect, fixed-response or static.
type Action struct {
	Type string `json:"type"`
	// TargetGroup is shorthand for a forward to one target group.
	TargetGroup   string         `json:"targetGroup,omitempty"`
	Forward       *Forward       `json:"forward,omitempty"`
	Redirect      *Redirect      `json:"redirect,omitempty"`
	FixedResponse *FixedResponse `json:"fixedResponse,omitempty"`
	Static        *Static        `json:"static,omitempty"`
}

// Forward forwards to weighted target groups.
type Forward struct {
	TargetGroups []WeightedTargetGroup `json:"targetGroups"`
	Stickiness   *GroupStickiness      `json:"stickiness,omitempty"`
}

// WeightedTargetGroup is a forward's target group and weight.
type WeightedTargetGroup struct {
	Name   string `json:"name"`
	Weight *int   `json:"weight,omitempty"`
}

// GroupStickiness is a forward's target-group stickiness.
type GroupStickiness struct {
	Enabled         bool `json:"enabled"`
	DurationSeconds int  `json:"durationSeconds,omitempty"`
}

// Redirect is a redirect action.
type Redirect struct {
	Protocol   string `json:"protocol,omitempty"`
	Host       string `json:"host,omitempty"`
	Port       string `json:"port,omitempty"`
	Path       string `json:"path,omitempty"`
	Query      string `json:"query,omitempty"`
	StatusCode string `json:"statusCode"`
}

// FixedResponse answers with a fixed status, content type and body.
type FixedResponse struct {
	StatusCode  string `json:"statusCode"`
	ContentType string `json:"contentType,omitempty"`
	MessageBody string `json:"messageBody,omitempty"`
}

// Static serves files from a directory.
type Static struct {
	Root          string `json:"root"`
	StripPrefix   string `json:"stripPrefix,omitempty"`
	Index         string `json:"index,omitempty"`
	MaxAgeSeconds int    `json:"maxAgeSeconds,omitempty"`
}

// Metric kinds of [Metric.Kind].
const (
	MetricCounter = "counter"
	MetricGauge   = "gauge"
)

// Metric is one load balancer metric with its AWS/ApplicationELB name
// (GET /v1/metrics).
type Metric struct {
	Name       string            `json:"name"`
	Dimensions map[string]string `json:"dimensions,omitempty"`
	Value      float64           `json:"value"`
	// Unit is Count, Seconds or Bytes.
	Unit string `json:"unit"`
	// Kind is counter (cumulative since the daemon started) or gauge.
	Kind string `json:"kind"`
}

// RegisterTargetsRequest is the body of POST
// /v1/target-groups/{name}/targets (AWS's RegisterTargets).
type RegisterTargetsRequest struct {
	Targets []TargetRef `json:"targets"`
}

// TargetRef is one instance target to register: its id and traffic port
// (0: the instance's own port).
type TargetRef struct {
	ID   string `json:"id"`
	Port int    `json:"port,omitempty"`
}

// DeregisterTargetsRequest is the body of POST
// /v1/target-groups/{name}/targets/deregister (AWS's DeregisterTargets).
type DeregisterTargetsRequest struct {
	IDs []string `json:"ids"`
}

// SubnetMapping is a subnet a load balancer is attached to, and its zone.
type SubnetMapping struct {
	Subnet           string `json:"subnet"`
	AvailabilityZone string `json:"availabilityZone"`
}
