package metricstore

import (
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// t0 is a start time aligned to the hour.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openTest(t testing.TB, dir string, c *clock) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, Now: c.Now, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustStat(t testing.TB, name string) metric.Statistic {
	t.Helper()
	st, err := metric.ParseStatistic(name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func ptr(v float64) *float64 { return &v }

var cpu = metric.ID{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: []metric.Dimension{{Name: "InstanceId", Value: "i-1"}}}

func hiRes(id metric.ID, ts time.Time, v float64) metric.Datum {
	return metric.Datum{ID: id, Timestamp: ts, Value: ptr(v), StorageResolution: 1, Unit: "Percent"}
}
