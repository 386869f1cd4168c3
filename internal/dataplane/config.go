package dataplane

import (
	"time"

	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/proxy"
)

// Config is a complete data-plane configuration.
type Config struct {
	// Proxy is the load balancers and target groups. Its load balancers'
	// AccessLog writers are ignored: see AccessLogs.
	Proxy proxy.Config `json:"proxy"`
	// Health is the target groups as the health checker sees them.
	Health []health.Group `json:"health"`
	// AccessLogs maps a load balancer's name to the file its access log
	// is written to; the data plane opens, rotates and closes the files.
	// Load balancers not named have access logs off.
	AccessLogs map[string]string `json:"accessLogs,omitempty"`
}

// Change is one change of a target's health, numbered in the order the
// data plane saw them.
type Change struct {
	// Seq numbers the change, from 1, within its Changes.Epoch.
	Seq    uint64              `json:"seq"`
	Group  string              `json:"group"`
	Health health.TargetHealth `json:"health"`
	// At is when the data plane recorded the change.
	At time.Time `json:"at"`
}

// Changes is a batch of health changes (see Engine.Changes).
type Changes struct {
	// Epoch identifies the data plane that numbered the changes: a new
	// data plane numbers from 1 again under another epoch.
	Epoch string `json:"epoch"`
	// Changes are the changes after the requested sequence number.
	Changes []Change `json:"changes"`
	// Next is the sequence number to ask after next time.
	Next uint64 `json:"next"`
	// Lost is true when changes after the requested sequence number were
	// dropped because the data plane keeps only the latest ones; the
	// current health (Engine.Health, Engine.Snapshot) is still complete.
	Lost bool `json:"lost,omitempty"`
}

// Status describes a running data plane.
type Status struct {
	PID int `json:"pid"`
	// StartTime is the process's start time (see procstat.StartTime).
	StartTime uint64 `json:"startTime"`
	Version   string `json:"version"`
	Binary    string `json:"binary"`
	Epoch     string `json:"epoch"`
	// Configured is true once a configuration was applied (or taken over).
	Configured bool `json:"configured"`
	// Listeners are the bound listener addresses.
	Listeners []string `json:"listeners"`
}
