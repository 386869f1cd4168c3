package v1

// InstanceMoveRequest is POST /v1/autoscaling/groups/{name}/standby
// (EnterStandby), …/exit-standby (ExitStandby), …/attach (AttachInstances)
// and …/detach (DetachInstances); each answers the activities it started
// ([]ScalingActivity; none for attach).
type InstanceMoveRequest struct {
	// InstanceIDs are the instances, 1 to 20.
	InstanceIDs []string `json:"instanceIds"`
	// ShouldDecrementDesiredCapacity, for standby and detach, lowers the
	// desired capacity by one per instance; otherwise replacements launch.
	ShouldDecrementDesiredCapacity bool `json:"shouldDecrementDesiredCapacity,omitempty"`
}

// InstanceProtectionRequest is POST
// /v1/autoscaling/groups/{name}/protection (SetInstanceProtection).
type InstanceProtectionRequest struct {
	// InstanceIDs are the instances, 1 to 50.
	InstanceIDs []string `json:"instanceIds"`
	// ProtectedFromScaleIn sets (true) or clears the protection.
	ProtectedFromScaleIn bool `json:"protectedFromScaleIn"`
}

// MetricsCollectionRequest is POST
// /v1/autoscaling/groups/{name}/metrics-collection
// (EnableMetricsCollection, DisableMetricsCollection); it answers the
// group.
type MetricsCollectionRequest struct {
	// Enable enables the metrics (adds them), otherwise disables them.
	Enable bool `json:"enable"`
	// Granularity is 1Minute (the default and only one).
	Granularity string `json:"granularity,omitempty"`
	// Metrics are group metrics (GroupDesiredCapacity…); none: all.
	Metrics []string `json:"metrics,omitempty"`
}
