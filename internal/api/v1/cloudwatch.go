package v1

import "time"

// Dimension is a metric dimension.
type Dimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// MetricID identifies a metric (ListMetrics' Metric).
type MetricID struct {
	Namespace  string      `json:"namespace"`
	MetricName string      `json:"metricName"`
	Dimensions []Dimension `json:"dimensions"`
}

// StatisticSet is a pre-aggregated set of values.
type StatisticSet struct {
	SampleCount float64 `json:"sampleCount"`
	Sum         float64 `json:"sum"`
	Minimum     float64 `json:"minimum"`
	Maximum     float64 `json:"maximum"`
}

// MetricDatum is one PutMetricData datum (exactly one of value, values and
// statisticValues).
type MetricDatum struct {
	MetricName        string        `json:"metricName"`
	Dimensions        []Dimension   `json:"dimensions,omitempty"`
	Timestamp         *time.Time    `json:"timestamp,omitempty"`
	Value             *float64      `json:"value,omitempty"`
	Values            []float64     `json:"values,omitempty"`
	Counts            []float64     `json:"counts,omitempty"`
	StatisticValues   *StatisticSet `json:"statisticValues,omitempty"`
	Unit              string        `json:"unit,omitempty"`
	StorageResolution int           `json:"storageResolution,omitempty"`
}

// PutMetricDataRequest is POST /v1/metrics/data.
type PutMetricDataRequest struct {
	Namespace  string        `json:"namespace"`
	MetricData []MetricDatum `json:"metricData"`
}

// GetMetricStatisticsRequest is POST /v1/metrics/statistics.
type GetMetricStatisticsRequest struct {
	Namespace          string      `json:"namespace"`
	MetricName         string      `json:"metricName"`
	Dimensions         []Dimension `json:"dimensions,omitempty"`
	StartTime          time.Time   `json:"startTime"`
	EndTime            time.Time   `json:"endTime"`
	Period             int         `json:"period"`
	Statistics         []string    `json:"statistics,omitempty"`
	ExtendedStatistics []string    `json:"extendedStatistics,omitempty"`
	Unit               string      `json:"unit,omitempty"`
}

// Datapoint is one period of GetMetricStatistics: simple statistics by
// name, extended ones (p99, tm90) in extendedStatistics.
type Datapoint struct {
	Timestamp          time.Time          `json:"timestamp"`
	SampleCount        *float64           `json:"sampleCount,omitempty"`
	Average            *float64           `json:"average,omitempty"`
	Sum                *float64           `json:"sum,omitempty"`
	Minimum            *float64           `json:"minimum,omitempty"`
	Maximum            *float64           `json:"maximum,omitempty"`
	ExtendedStatistics map[string]float64 `json:"extendedStatistics,omitempty"`
	Unit               string             `json:"unit,omitempty"`
}

// GetMetricStatisticsResponse answers GetMetricStatistics.
type GetMetricStatisticsResponse struct {
	Label      string      `json:"label"`
	Datapoints []Datapoint `json:"datapoints"`
}

// MetricStat is a metric with its statistic and period.
type MetricStat struct {
	Metric struct {
		Namespace  string            `json:"namespace"`
		MetricName string            `json:"metricName"`
		Dimensions map[string]string `json:"dimensions,omitempty"`
	} `json:"metric"`
	Period int    `json:"period"`
	Stat   string `json:"stat"`
	Unit   string `json:"unit,omitempty"`
}

// MetricDataQuery is one entry of GetMetricData: a metric or an
// expression.
type MetricDataQuery struct {
	ID         string      `json:"id"`
	MetricStat *MetricStat `json:"metricStat,omitempty"`
	Expression string      `json:"expression,omitempty"`
	Label      string      `json:"label,omitempty"`
	ReturnData *bool       `json:"returnData,omitempty"`
	Period     int         `json:"period,omitempty"`
}

// GetMetricDataRequest is POST /v1/metrics/query.
type GetMetricDataRequest struct {
	MetricDataQueries []MetricDataQuery `json:"metricDataQueries"`
	StartTime         time.Time         `json:"startTime"`
	EndTime           time.Time         `json:"endTime"`
}

// MetricDataResult is one returned series.
type MetricDataResult struct {
	ID         string      `json:"id"`
	Label      string      `json:"label"`
	Timestamps []time.Time `json:"timestamps"`
	Values     []float64   `json:"values"`
	StatusCode string      `json:"statusCode"`
}

// GetMetricDataResponse answers GetMetricData.
type GetMetricDataResponse struct {
	MetricDataResults []MetricDataResult `json:"metricDataResults"`
}

// AlarmState is an alarm's live state.
type AlarmState struct {
	State      string    `json:"state"`
	Reason     string    `json:"reason"`
	ReasonData any       `json:"reasonData,omitempty"`
	UpdatedAt  time.Time `json:"updatedAt"`
	// EvaluatedAt is the last evaluation.
	EvaluatedAt time.Time `json:"evaluatedAt"`
}

// Alarm is a metric or composite alarm with its state (GET /v1/alarms).
type Alarm struct {
	Name string `json:"name"`
	// Type is MetricAlarm or CompositeAlarm.
	Type  string `json:"type"`
	ARN   string `json:"arn"`
	Owner string `json:"owner,omitempty"`
	// Spec is the alarm as written in a stack file.
	Spec  map[string]any `json:"spec"`
	State AlarmState     `json:"state"`
	// Condition is the alarm's rule in words ("Average > 80 for 2 of 3 × 60s").
	Condition string `json:"condition"`
	// Metric names the alarm's metric or expression.
	Metric string `json:"metric"`
}

// AlarmHistoryItem is one entry of an alarm's history.
type AlarmHistoryItem struct {
	Timestamp time.Time `json:"timestamp"`
	AlarmName string    `json:"alarmName"`
	// Type is StateUpdate, ConfigurationUpdate or Action.
	Type    string `json:"type"`
	Summary string `json:"summary"`
	Data    string `json:"data"`
}

// SetAlarmStateRequest is POST /v1/alarms/{name}/state.
type SetAlarmStateRequest struct {
	StateValue  string `json:"stateValue"`
	StateReason string `json:"stateReason"`
}

// Dashboard is a stored dashboard (GET /v1/dashboards/{name}).
type Dashboard struct {
	Name      string    `json:"name"`
	ARN       string    `json:"arn"`
	Owner     string    `json:"owner,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Body is CloudWatch's dashboard body.
	Body any `json:"body"`
}

// CollectorStatus describes the metric collector and store
// (GET /v1/metrics/status).
type CollectorStatus struct {
	Rounds           int64   `json:"rounds"`
	LastDurationMs   float64 `json:"lastDurationMs"`
	LastDatapoints   int     `json:"lastDatapoints"`
	LastError        string  `json:"lastError,omitempty"`
	Series           int     `json:"series"`
	DiskBytes        int64   `json:"diskBytes"`
	MemoryBytes      int64   `json:"memoryBytes"`
	NetworkMeasured  bool    `json:"networkMeasured"`
	NetworkNote      string  `json:"networkNote"`
	PrometheusListen string  `json:"prometheusListen,omitempty"`
}

// LogGroup is a CloudWatch Logs log group (GET /v1/logs/groups).
type LogGroup struct {
	Name string `json:"name"`
	// RetentionInDays is 0 when events never expire.
	RetentionInDays int      `json:"retentionInDays"`
	Streams         []string `json:"streams"`
	StoredBytes     int64    `json:"storedBytes"`
}

// LogEvent is one log event of GET /v1/logs/events (JSON Lines). A line
// with only nextToken ends a page that has more.
type LogEvent struct {
	Timestamp time.Time `json:"timestamp,omitzero"`
	Group     string    `json:"group,omitempty"`
	Stream    string    `json:"stream,omitempty"`
	Message   string    `json:"message,omitempty"`
	// Origin is out, err or sys for instance logs.
	Origin    string `json:"origin,omitempty"`
	NextToken string `json:"nextToken,omitempty"`
}
