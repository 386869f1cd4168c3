package v1

import "time"

// RefreshPreferences are an instance refresh's preferences
// (StartInstanceRefresh's Preferences); nil fields take AWS's defaults.
type RefreshPreferences struct {
	MinHealthyPercentage  *int     `json:"minHealthyPercentage,omitempty"`
	MaxHealthyPercentage  *int     `json:"maxHealthyPercentage,omitempty"`
	InstanceWarmup        *int     `json:"instanceWarmup,omitempty"`
	CheckpointPercentages []int    `json:"checkpointPercentages,omitempty"`
	CheckpointDelay       *int     `json:"checkpointDelay,omitempty"`
	SkipMatching          *bool    `json:"skipMatching,omitempty"`
	AutoRollback          bool     `json:"autoRollback,omitempty"`
	BakeTime              *int     `json:"bakeTime,omitempty"`
	AlarmNames            []string `json:"alarmNames,omitempty"`
	// ScaleInProtectedInstances is Refresh, Ignore or Wait (default);
	// StandbyInstances Terminate, Ignore or Wait (default).
	ScaleInProtectedInstances string `json:"scaleInProtectedInstances,omitempty"`
	StandbyInstances          string `json:"standbyInstances,omitempty"`
}

// InstanceRefresh is one instance refresh of a group
// (DescribeInstanceRefreshes).
type InstanceRefresh struct {
	ID                 string             `json:"instanceRefreshId"`
	Group              string             `json:"autoScalingGroupName"`
	Status             string             `json:"status"`
	StatusReason       string             `json:"statusReason,omitempty"`
	StartTime          time.Time          `json:"startTime"`
	EndTime            time.Time          `json:"endTime,omitzero"`
	PercentageComplete int                `json:"percentageComplete"`
	Total              int                `json:"instancesTotal"`
	InstancesToUpdate  int                `json:"instancesToUpdate"`
	Replaced           int                `json:"instancesReplaced"`
	Preferences        RefreshPreferences `json:"preferences"`
	FromVersion        int                `json:"fromVersion"`
	ToVersion          int                `json:"toVersion"`
	ToImageVersion     int                `json:"toImageVersion,omitempty"`
	Rollback           bool               `json:"rollback,omitempty"`
	WaitUntil          time.Time          `json:"waitUntil,omitzero"`
}
