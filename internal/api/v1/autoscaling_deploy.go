package v1

import "time"

// DeploymentRequest starts a deployment of an Auto Scaling group
// (CodeDeploy's CreateDeployment): in place, or blue/green.
type DeploymentRequest struct {
	// ImageVersion is the revision, a version of the group's image (0:
	// the newest).
	ImageVersion int `json:"imageVersion,omitempty"`
	// DeploymentConfigName is CodeDeployDefault.OneAtATime (default),
	// HalfAtATime or AllAtOnce; MinimumHealthyHosts ("3", "75%") a custom
	// configuration instead.
	DeploymentConfigName string `json:"deploymentConfigName,omitempty"`
	MinimumHealthyHosts  string `json:"minimumHealthyHosts,omitempty"`
	// DisableRollback turns automatic rollback off: a failed blue/green
	// deployment still moves the traffic back to the original instances,
	// but detaches its replacements, left running for inspection.
	DisableRollback bool     `json:"disableRollback,omitempty"`
	Alarms          []string `json:"alarms,omitempty"`
	Description     string   `json:"description,omitempty"`
	// DeploymentType is IN_PLACE (the default) or BLUE_GREEN: a
	// replacement fleet takes the traffic by TrafficRouting (nil: all at
	// once); the original instances are kept TerminationWaitSeconds (nil:
	// 3600) for an instant rollback, or left running outside the group
	// with KeepOriginals.
	// ZonalConfig deploys in place one availability zone at a time.
	ZonalConfig            *ZonalConfig    `json:"zonalConfig,omitempty"`
	DeploymentType         string          `json:"deploymentType,omitempty"`
	TrafficRouting         *TrafficRouting `json:"trafficRouting,omitempty"`
	TerminationWaitSeconds *int            `json:"terminationWaitSeconds,omitempty"`
	KeepOriginals          bool            `json:"keepOriginals,omitempty"`
}

// ZonalConfig is CodeDeploy's ZonalConfig: one zone at a time, waiting
// FirstZoneMonitorDurationInSeconds after the first zone and
// MonitorDurationInSeconds after each later one, keeping
// MinimumHealthyHostsPerZone healthy in the zone.
type ZonalConfig struct {
	FirstZoneMonitorDurationSeconds *int `json:"firstZoneMonitorDurationInSeconds,omitempty"`
	MonitorDurationSeconds          int  `json:"monitorDurationInSeconds,omitempty"`
	MinimumHealthyHostsPerZone      *struct {
		Type  string `json:"type"`
		Value int    `json:"value"`
	} `json:"minimumHealthyHostsPerZone,omitempty"`
}

// TrafficRouting says how a blue/green deployment moves the traffic:
// AllAtOnce, TimeBasedCanary (Percentage, then the rest after
// IntervalSeconds) or TimeBasedLinear (Percentage every IntervalSeconds).
type TrafficRouting struct {
	Type            string `json:"type"`
	Percentage      int    `json:"percentage,omitempty"`
	IntervalSeconds int    `json:"intervalSeconds,omitempty"`
}

// BlueGreen is the state of a blue/green deployment.
type BlueGreen struct {
	Routing                TrafficRouting `json:"trafficRouting"`
	TerminationWaitSeconds int            `json:"terminationWaitSeconds"`
	KeepAlive              bool           `json:"keepAlive,omitempty"`
	// Phase is Provisioning, Shifting, Retaining, RollingBack or Done.
	Phase string `json:"phase"`
	// Percent is the replacement fleet's share the deployment wants;
	// AppliedPercent the one the target groups serve.
	Percent        int       `json:"percent"`
	AppliedPercent int       `json:"appliedPercent"`
	Launched       bool      `json:"launched,omitempty"`
	Size           int       `json:"size"`
	NextShiftAt    time.Time `json:"nextShiftAt,omitzero"`
	TerminateAt    time.Time `json:"terminateAt,omitzero"`
	Swapped        bool      `json:"swapped,omitempty"`
	FromRevision   *struct {
		Image        string `json:"image"`
		ImageVersion int    `json:"imageVersion"`
		Deployment   string `json:"deploymentId"`
	} `json:"fromRevision,omitempty"`
	Steps []struct {
		At      time.Time `json:"at"`
		Percent int       `json:"percent"`
	} `json:"steps,omitempty"`
}

// Deployment is one in-place deployment of a group (GetDeployment).
type Deployment struct {
	ID                string `json:"deploymentId"`
	Group             string `json:"autoScalingGroupName"`
	Application       string `json:"applicationName"`
	DeploymentGroupID string `json:"deploymentGroupId"`
	// Status is Created, InProgress, Succeeded, Failed or Stopped.
	Status string `json:"status"`
	// Type is IN_PLACE or BLUE_GREEN, whose state BlueGreen holds.
	Type      string     `json:"deploymentType,omitempty"`
	BlueGreen *BlueGreen `json:"blueGreen,omitempty"`
	// Zonal is the zonal configuration; ZoneWait says what the next zone
	// waits for.
	Zonal    *ZonalConfig `json:"zonalConfig,omitempty"`
	ZoneWait string       `json:"zoneWait,omitempty"`
	Config   struct {
		Name                string `json:"deploymentConfigName"`
		MinimumHealthyHosts *struct {
			Type  string `json:"type"`
			Value int    `json:"value"`
		} `json:"minimumHealthyHosts,omitempty"`
	} `json:"deploymentConfig"`
	Image            string             `json:"image"`
	ImageVersion     int                `json:"imageVersion"`
	FromImageVersion int                `json:"fromImageVersion"`
	AutoRollback     bool               `json:"autoRollbackEnabled"`
	Alarms           []string           `json:"alarms,omitempty"`
	Description      string             `json:"description,omitempty"`
	Creator          string             `json:"creator"`
	RollbackOf       string             `json:"rollbackOf,omitempty"`
	RolledBackBy     string             `json:"rolledBackBy,omitempty"`
	ErrorInfo        *ErrorInfo         `json:"errorInformation,omitempty"`
	Stopping         *ErrorInfo         `json:"stopping,omitempty"`
	CreateTime       time.Time          `json:"createTime"`
	CompleteTime     time.Time          `json:"completeTime,omitzero"`
	AtOnce           int                `json:"atOnce"`
	MinHealthy       int                `json:"minHealthyHosts"`
	Instances        []DeploymentTarget `json:"instances"`
}

// ErrorInfo says why a deployment failed or stopped.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// DeploymentTarget is one instance of a deployment (InstanceTarget).
type DeploymentTarget struct {
	InstanceID string           `json:"instanceId"`
	Status     string           `json:"status"`
	Zone       string           `json:"availabilityZone,omitempty"`
	Batch      int              `json:"batch,omitempty"`
	StartTime  time.Time        `json:"startTime,omitzero"`
	EndTime    time.Time        `json:"endTime,omitzero"`
	Events     []LifecycleEvent `json:"lifecycleEvents"`
}

// LifecycleEvent is one lifecycle event of an instance's deployment.
type LifecycleEvent struct {
	Name        string    `json:"lifecycleEventName"`
	Status      string    `json:"status"`
	StartTime   time.Time `json:"startTime,omitzero"`
	EndTime     time.Time `json:"endTime,omitzero"`
	Diagnostics *struct {
		ErrorCode  string `json:"errorCode"`
		ScriptName string `json:"scriptName,omitempty"`
		Message    string `json:"message,omitempty"`
		LogTail    string `json:"logTail,omitempty"`
	} `json:"diagnostics,omitempty"`
}

// Active reports whether the deployment has not ended.
func (d *Deployment) Active() bool { return d.Status == "Created" || d.Status == "InProgress" }
