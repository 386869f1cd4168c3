package metricstore

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/leakcheck"
	"github.com/madang-dev/madang/internal/metric"
)

// crashDirEnv makes TestCrashKill9 the child that puts data until it is
// killed.
const crashDirEnv = "MADANG_METRICSTORE_CRASH_DIR"

var crashID = metric.ID{Namespace: "Crash", Name: "Seq"}

// crashChild puts datum n (value n) in Put number n, with 49 other
// series alongside, and prints n once Put has returned.
func crashChild(dir string) {
	s, err := Open(Options{Dir: dir, Interval: 5 * time.Millisecond})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for n := 1; ; n++ {
		data := []metric.Datum{{ID: crashID, Value: ptr(float64(n)), StorageResolution: 1}}
		for j := range 49 {
			id := metric.ID{Namespace: "Crash", Name: "Other", Dimensions: []metric.Dimension{{Name: "N", Value: strconv.Itoa(j)}}}
			data = append(data, metric.Datum{ID: id, Value: ptr(float64(j)), StorageResolution: 1})
		}
		if err := s.Put(data); err != nil {
			fmt.Println("put:", err)
			os.Exit(2)
		}
		fmt.Fprintln(out, n)
		out.Flush()
	}
}

// TestCrashKill9 runs a child process that puts data, kills it with
// SIGKILL mid-stream and checks that a reopened store has every datum
// whose Put returned (and at most the one being put when it died).
func TestCrashKill9(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	start := time.Now().Add(-time.Minute)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKill9$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	acked := 0
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatalf("child: %s", sc.Text())
		}
		acked = n
		if acked == 2000 {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for sc.Scan() { // lines printed between the break and the kill
		if n, err := strconv.Atoi(sc.Text()); err == nil {
			acked = n
		}
	}
	if acked < 2000 {
		t.Fatalf("child acknowledged only %d puts", acked)
	}
	s, err := Open(Options{Dir: dir, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sum := func(n int) float64 { return float64(n) * float64(n+1) / 2 }
	for _, period := range []time.Duration{time.Second, time.Minute} {
		_, vals, counts, err := s.Series(crashID, metric.Sum, start, time.Now().Add(time.Minute), period)
		if err != nil {
			t.Fatal(err)
		}
		var total, n float64
		for i := range vals {
			total += vals[i]
			n += counts[i]
		}
		if !(n == float64(acked) && total == sum(acked)) && !(n == float64(acked+1) && total == sum(acked+1)) {
			t.Errorf("period %s: %v samples summing to %v after %d acknowledged puts; want every acknowledged datum (sum %v)",
				period, n, total, acked, sum(acked))
		}
	}
}

// TestCloseStopsGoroutine checks that Close ends the goroutine Open
// started.
func TestCloseStopsGoroutine(t *testing.T) {
	before := leakcheck.Take()
	s, err := Open(Options{Dir: t.TempDir(), Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put([]metric.Datum{{ID: cpu, Value: ptr(1)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := leakcheck.Check(5*time.Second, before.Since()); err != nil {
		t.Error(err)
	}
	if err := s.Put([]metric.Datum{{ID: cpu, Value: ptr(1)}}); err == nil {
		t.Error("Put after Close succeeded")
	}
}

// TestConcurrentPutQuery puts every "second" from several writers while
// readers query; run with -race.
func TestConcurrentPutQuery(t *testing.T) {
	c := newClock(t0)
	s, err := Open(Options{Dir: t.TempDir(), Now: c.Now, Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			id := metric.ID{Namespace: "N", Name: "M", Dimensions: []metric.Dimension{{Name: "W", Value: strconv.Itoa(w)}}}
			for i := range 300 {
				if err := s.Put([]metric.Datum{{ID: id, Value: ptr(float64(i)), StorageResolution: 1}}); err != nil {
					t.Error(err)
					return
				}
				if w == 0 {
					c.Add(time.Second)
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			id := metric.ID{Namespace: "N", Name: "M", Dimensions: []metric.Dimension{{Name: "W", Value: "1"}}}
			for range 200 {
				now := c.Now()
				if _, err := s.Statistics(Query{ID: id, Start: now.Add(-time.Hour), End: now, Period: time.Minute,
					Statistics: []metric.Statistic{metric.Average, mustStat(t, "p99")}}); err != nil {
					t.Error(err)
					return
				}
				s.List(Filter{Namespace: "N"})
				s.Latest(id)
				s.Stats()
			}
		})
	}
	wg.Wait()
	var n float64
	for w := range 4 {
		id := metric.ID{Namespace: "N", Name: "M", Dimensions: []metric.Dimension{{Name: "W", Value: strconv.Itoa(w)}}}
		_, _, counts, err := s.Series(id, metric.SampleCount, t0, c.Now().Add(time.Second), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range counts {
			n += x
		}
	}
	if n != 1200 {
		t.Errorf("%v samples stored, want 1200", n)
	}
}
