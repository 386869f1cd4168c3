package supervisor

import (
	"context"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/logfile"
)

// BenchmarkRestartLatency measures the time from kill -9 of a running app
// to the supervisor reporting it running again (accepting TCP
// connections) under a new pid. Each iteration is a first restart (no
// backoff): the runs last longer than ResetAfter.
//
// Besides the p50 and p90 of that time it reports, from the timestamps
// of the instance log, the medians of the steps in between: the shim has
// recorded the exit (exit-p50-ms), the next run has started
// (started-p50-ms) and the app says it listens (listening-p50-ms).
func BenchmarkRestartLatency(b *testing.B) {
	e := newEnv(b)
	spec := e.spec(b, "i-bench", "-listen")
	spec.ResetAfter = time.Millisecond // every crash is a first restart
	spec.MinUptime = time.Millisecond
	if err := e.sup.Start(spec); err != nil {
		b.Fatal(err)
	}
	st := e.waitPhase(b, e.sup, spec.ID, PhaseRunning)
	lat := make([]time.Duration, 0, b.N)
	kills := make([]time.Time, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		time.Sleep(5 * time.Millisecond) // let the run pass ResetAfter
		old := st.PID
		began := time.Now()
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		for {
			cur, _ := e.sup.Status(spec.ID)
			if cur.Phase == PhaseRunning && cur.PID != old {
				st = cur
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(began))
		kills = append(kills, began)
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 90)), "p90-ms")
	if err := e.sup.Stop(context.Background(), spec.ID); err != nil {
		b.Fatal(err)
	}
	lines, err := logfile.Tail(spec.LogPath, 0, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	steps := []struct {
		unit   string
		prefix string // of the log line that marks the step
	}{
		{"exit-p50-ms", "sys killed by SIGKILL"},
		{"started-p50-ms", "sys started pid"},
		{"listening-p50-ms", "out listening on"},
	}
	for _, s := range steps {
		var at []time.Time
		for _, l := range lines {
			if strings.HasPrefix(l.Stream+" "+l.Text, s.prefix) {
				at = append(at, l.Time)
			}
		}
		if s.prefix != steps[0].prefix && len(at) > 0 {
			at = at[1:] // the first start
		}
		var d []time.Duration
		for i := 0; i < len(kills) && i < len(at); i++ {
			d = append(d, at[i].Sub(kills[i]))
		}
		if len(d) > 0 {
			b.ReportMetric(ms(percentile(d, 50)), s.unit)
		}
	}
}

// percentile returns the p-th percentile of d (sorting d).
func percentile(d []time.Duration, p int) time.Duration {
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
