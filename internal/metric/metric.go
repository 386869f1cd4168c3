// Package metric is madang's CloudWatch metric model: metric identities
// (namespace, name, dimensions), the datum PutMetricData takes, statistic
// sets, statistic names (SampleCount … p99, TM(10%:90%), PR(:300)) and
// the validation rules CloudWatch applies to them. The store
// (internal/metricstore), the collectors, queries, alarms and dashboards
// all speak this model.
package metric

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dimension is one name/value pair of a metric's identity.
type Dimension struct {
	// Name is the dimension's name, e.g. "InstanceId".
	Name string
	// Value is the dimension's value, e.g. "i-0abc".
	Value string
}

// ID identifies a metric: namespace, name and dimensions. Two IDs name
// the same metric when their canonical forms (dimensions sorted by Name)
// are equal; Key gives a string for that comparison.
type ID struct {
	// Namespace is the metric's namespace, e.g. "AWS/EC2" or "MyApp".
	Namespace string
	// Name is the metric's name, e.g. "CPUUtilization".
	Name string
	// Dimensions are the metric's dimensions, in any order.
	Dimensions []Dimension
}

// Canonical returns a copy of id with its dimensions sorted by name (then
// value). The copy shares nothing with id.
func (id ID) Canonical() ID {
	out := ID{Namespace: id.Namespace, Name: id.Name}
	if len(id.Dimensions) > 0 {
		out.Dimensions = slices.Clone(id.Dimensions)
		slices.SortFunc(out.Dimensions, compareDims)
	}
	return out
}

// Key returns a stable string that is equal for two IDs exactly when
// their canonical forms are equal. Every part is length-prefixed, so no
// choice of characters in names or values makes two IDs collide.
func (id ID) Key() string { return string(id.AppendKey(nil)) }

// AppendKey appends id's Key to b (without allocating when b has room and
// the dimensions are already sorted).
func (id ID) AppendKey(b []byte) []byte {
	sorted := slices.IsSortedFunc(id.Dimensions, compareDims)
	c := id
	if !sorted {
		c = id.Canonical()
	}
	part := func(s string) {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	part(c.Namespace)
	part(c.Name)
	for _, d := range c.Dimensions {
		part(d.Name)
		part(d.Value)
	}
	return b
}

func compareDims(a, b Dimension) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Value, b.Value)
}

// Dim returns the value of the dimension called name and whether id has
// it.
func (id ID) Dim(name string) (string, bool) {
	for _, d := range id.Dimensions {
		if d.Name == name {
			return d.Value, true
		}
	}
	return "", false
}

// String renders id for messages: Namespace/Name{A=1,B=2}.
func (id ID) String() string {
	c := id.Canonical()
	var b strings.Builder
	b.WriteString(c.Namespace)
	b.WriteByte(' ')
	b.WriteString(c.Name)
	if len(c.Dimensions) > 0 {
		b.WriteByte('{')
		for i, d := range c.Dimensions {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(d.Name)
			b.WriteByte('=')
			b.WriteString(d.Value)
		}
		b.WriteByte('}')
	}
	return b.String()
}

// StatSet is a statistic set: the number, sum, minimum and maximum of a
// group of samples. Average is Sum/SampleCount.
type StatSet struct {
	// SampleCount is the number of samples (may be fractional when
	// samples carry weights).
	SampleCount float64
	// Sum is the sum of the samples.
	Sum float64
	// Minimum is the smallest sample.
	Minimum float64
	// Maximum is the largest sample.
	Maximum float64
}

// Merge returns the statistic set of the samples of s and o together. An
// empty set (SampleCount 0) is the identity.
func (s StatSet) Merge(o StatSet) StatSet {
	if o.SampleCount <= 0 {
		return s
	}
	if s.SampleCount <= 0 {
		return o
	}
	return StatSet{
		SampleCount: s.SampleCount + o.SampleCount,
		Sum:         s.Sum + o.Sum,
		Minimum:     min(s.Minimum, o.Minimum),
		Maximum:     max(s.Maximum, o.Maximum),
	}
}

// Average returns Sum/SampleCount, or 0 for an empty set.
func (s StatSet) Average() float64 {
	if s.SampleCount <= 0 {
		return 0
	}
	return s.Sum / s.SampleCount
}

// Datum is PutMetricData's MetricDatum: one metric and either a single
// value, a list of values (with optional counts) or a statistic set.
type Datum struct {
	ID
	// Unit is a CloudWatch unit name (see Units); "" means None.
	Unit string
	// Timestamp is when the value was observed; zero means now.
	Timestamp time.Time
	// Value is a single sample.
	Value *float64
	// Values are samples; Counts, when set, has the same length and gives
	// how many times each value occurred. At most MaxValues values.
	Values []float64
	// Counts are the weights of Values (optional).
	Counts []float64
	// StatisticValues is a pre-aggregated statistic set.
	StatisticValues *StatSet
	// StorageResolution is 1 for high-resolution (1-second) storage or
	// 60 for standard (1-minute) storage; 0 means 60.
	StorageResolution int
}

// Resolution returns the datum's storage resolution in seconds: 1 or 60
// (0 is read as 60).
func (d *Datum) Resolution() int {
	if d.StorageResolution == 1 {
		return 1
	}
	return 60
}

// UnitOrNone returns the datum's unit with "" read as "None".
func (d *Datum) UnitOrNone() string {
	if d.Unit == "" {
		return UnitNone
	}
	return d.Unit
}

// UnitNone is the unit of data sent without one.
const UnitNone = "None"

// units are CloudWatch's StandardUnit values, in the API's order.
var units = [...]string{
	"Seconds", "Microseconds", "Milliseconds",
	"Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits",
	"Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
	"Count/Second", "None",
}

// Units returns CloudWatch's unit names in the API's order (a new slice
// each call).
func Units() []string { return slices.Clone(units[:]) }

// KnownUnit reports whether u is a CloudWatch unit name or "".
func KnownUnit(u string) bool {
	return u == "" || slices.Contains(units[:], u)
}
