package metricstore

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

// cpuTime returns the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPut is the collectors' per-second load: 1000 series, one
// value each, in one Put (one op = one second of collection). Besides
// ns/op (wall time, which other load on the machine inflates) it reports
// cpu-ns/op, the CPU time the process spent per op (GC included), and
// core-%, that CPU time as a share of one core at one Put per second.
func BenchmarkPut(b *testing.B) {
	c := newClock(t0)
	s := openTest(b, b.TempDir(), c)
	defer s.Close()
	data := make([]metric.Datum, 1000)
	vals := make([]float64, len(data))
	for i := range data {
		id := metric.ID{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: []metric.Dimension{{Name: "InstanceId", Value: "i-" + strconv.Itoa(i)}}}
		data[i] = metric.Datum{ID: id, Value: &vals[i], StorageResolution: 1, Unit: "Percent"}
	}
	b.ReportAllocs()
	i := 0
	cpu0 := cpuTime(b)
	for b.Loop() {
		for j := range vals {
			vals[j] = float64((i + j) % 100)
		}
		if err := s.Put(data); err != nil {
			b.Fatal(err)
		}
		c.Add(time.Second)
		if i%10 == 0 {
			if err := s.Maintain(); err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
	perOp := float64(cpuTime(b)-cpu0) / float64(i)
	b.ReportMetric(perOp, "cpu-ns/op")
	b.ReportMetric(perOp/1e9*100, "core-%")
}

// BenchmarkStatistics asks for an hour of one series in 1-minute
// periods (Average and p99) after 3 hours of 1-second data.
func BenchmarkStatistics(b *testing.B) {
	c := newClock(t0)
	s := openTest(b, b.TempDir(), c)
	defer s.Close()
	for i := range 3 * 3600 {
		v := float64(i % 97)
		if err := s.Put([]metric.Datum{{ID: cpu, Value: &v, StorageResolution: 1}}); err != nil {
			b.Fatal(err)
		}
		c.Add(time.Second)
		if i%10 == 0 {
			_ = s.Maintain()
		}
	}
	q := Query{ID: cpu, Start: c.Now().Add(-time.Hour), End: c.Now(), Period: time.Minute,
		Statistics: []metric.Statistic{metric.Average, mustStat(b, "p99")}}
	b.ReportAllocs()
	for b.Loop() {
		dps, err := s.Statistics(q)
		if err != nil || len(dps) != 60 {
			b.Fatal(len(dps), err)
		}
	}
}
