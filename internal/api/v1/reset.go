package v1

// Reset is what a clean slate removes: POST /v1/reset answers what it
// removed, GET /v1/reset what it would remove now. Access keys and the
// account settings are never removed.
type Reset struct {
	// Resources counts the resources of every kind, whatever their owner
	// (stacks or none); ByKind by kind name (only kinds with some).
	Resources int            `json:"resources"`
	ByKind    map[string]int `json:"byKind"`
	// Stacks lists the stacks that own some of them.
	Stacks []string `json:"stacks"`
	// Instances counts instances in any state, terminated included.
	Instances int `json:"instances"`
	// MetricSeries counts metric series (a metric with one unit).
	MetricSeries int `json:"metricSeries"`
	// LogStreams counts the log streams written through PutLogEvents.
	LogStreams int `json:"logStreams"`
	// Records counts the state store's records removed in all: the
	// resources, instances and their runtime records (Auto Scaling
	// activities, registrations, alarm states and history, …).
	Records int `json:"records"`
	// DurationSeconds is how long the reset took (POST only).
	DurationSeconds float64 `json:"durationSeconds,omitempty"`
}
