package loggroup

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/logfilter"
)

// datum is an Emitted reduced to what the tests compare.
type datum struct {
	Name  string
	Dims  string
	Sec   float64 // seconds after t0
	Sum   float64
	Count float64
}

type recorder struct{ got []datum }

func (r *recorder) emit(es []Emitted) {
	for _, e := range es {
		var dims []string
		for _, k := range slices.Sorted(maps.Keys(e.Dimensions)) {
			dims = append(dims, k+"="+e.Dimensions[k])
		}
		r.got = append(r.got, datum{Name: e.Name, Dims: strings.Join(dims, ","), Sec: e.Timestamp.Sub(t0).Seconds(), Sum: e.Sum, Count: e.Count})
	}
}

func (r *recorder) take() []datum {
	g := r.got
	r.got = nil
	return g
}

func zero() *float64 { z := 0.0; return &z }

// metricFilters counts ERROR lines, sums JSON latencies with a level
// dimension, and counts WARN lines with a DefaultValue of 0.
func metricFilters() []MetricFilter {
	return []MetricFilter{
		{Name: "errors", Group: "/madang/instances/web", Pattern: logfilter.MustParse("ERROR"),
			Transformation: logfilter.Transformation{MetricName: "Errors", MetricNamespace: "App", MetricValue: "1", Unit: "Count"}},
		{Name: "latency", Group: "/madang/instances/web", Pattern: logfilter.MustParse(`{ $.latency >= 0 && $.level = * }`),
			Transformation: logfilter.Transformation{MetricName: "Latency", MetricNamespace: "App", MetricValue: "$.latency", Unit: "Milliseconds",
				Dimensions: map[string]string{"Level": "$.level"}}},
		{Name: "warnings", Group: "/madang/instances/web", Pattern: logfilter.MustParse("WARN"),
			Transformation: logfilter.Transformation{MetricName: "Warnings", MetricNamespace: "App", MetricValue: "1", DefaultValue: zero()}},
	}
}

func TestFollower(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	p1 := filepath.Join(dir, "i-1", "instance.log")
	p2 := filepath.Join(dir, "i-2", "instance.log")
	appendFile(t, p1, instLine(0.1, "err", "ERROR before the filter existed"))
	src := &testSource{instances: map[string][2]string{"i-1": {"web", p1}, "i-2": {"web", p2}}}
	clock := at(10)
	rec := &recorder{}
	var logs bytes.Buffer
	newFollower := func() *Follower {
		f := NewFollower(FollowerOptions{Source: src, StateDir: state, Now: func() time.Time { return clock },
			Logger: slog.New(slog.NewTextHandler(&logs, nil)), Emit: rec.emit})
		f.SetFilters(metricFilters())
		return f
	}
	f := newFollower()
	mustPoll := func(f *Follower) {
		t.Helper()
		if err := f.Poll(); err != nil {
			t.Fatalf("Poll: %v", err)
		}
	}

	steps := []struct {
		name    string
		write   func()
		restart bool
		want    []datum
	}{
		{name: "existing lines are not counted", want: []datum{{Name: "Warnings", Sec: 10, Sum: 0, Count: 1}}},
		{name: "errors counted and latencies summed per second", write: func() {
			appendFile(t, p1,
				instLine(11.1, "err", "ERROR one"),
				instLine(11.5, "err", "ERROR two"),
				instLine(11.6, "out", `{"level":"info","latency":20}`),
				instLine(11.7, "out", `{"level":"info","latency":22.5}`),
				instLine(11.8, "out", `{"level":"error","latency":300}`),
				instLine(12.2, "err", "ERROR three"),
				instLine(12.3, "err", "WARN slow"))
			appendFile(t, p2, instLine(11.9, "err", "ERROR on i-2"))
		}, want: []datum{
			{Name: "Errors", Sec: 11, Sum: 3, Count: 3},
			{Name: "Errors", Sec: 12, Sum: 1, Count: 1},
			{Name: "Latency", Dims: "Level=error", Sec: 11, Sum: 300, Count: 1},
			{Name: "Latency", Dims: "Level=info", Sec: 11, Sum: 42.5, Count: 2},
			{Name: "Warnings", Sec: 12, Sum: 1, Count: 1},
		}},
		{name: "nothing new: only the default value", want: []datum{{Name: "Warnings", Sec: 10, Sum: 0, Count: 1}}},
		{name: "rotation between polls", write: func() {
			appendFile(t, p1, instLine(13.1, "err", "ERROR before rotation"))
			rotate(t, p1)
			appendFile(t, p1, instLine(13.2, "err", "ERROR after rotation"))
		}, want: []datum{{Name: "Errors", Sec: 13, Sum: 2, Count: 2}, {Name: "Warnings", Sec: 10, Sum: 0, Count: 1}}},
		{name: "restart neither recounts nor skips", restart: true, write: func() {
			appendFile(t, p1, instLine(14.1, "err", "ERROR while down"))
		}, want: []datum{{Name: "Errors", Sec: 14, Sum: 1, Count: 1}, {Name: "Warnings", Sec: 10, Sum: 0, Count: 1}}},
		{name: "rotation into an empty file, then a restart", write: func() {
			rotate(t, p1)
			appendFile(t, p1, "") // the new, empty current file
		}, want: []datum{{Name: "Warnings", Sec: 10, Sum: 0, Count: 1}}},
		{name: "after the restart the new file's lines count once", restart: true, write: func() {
			appendFile(t, p1, instLine(15.1, "err", "ERROR in the new file"))
		}, want: []datum{{Name: "Errors", Sec: 15, Sum: 1, Count: 1}, {Name: "Warnings", Sec: 10, Sum: 0, Count: 1}}},
	}
	mustPoll(f)
	for _, st := range steps {
		if st.restart {
			f = newFollower()
		}
		if st.write != nil {
			st.write()
		}
		if st.name != steps[0].name {
			mustPoll(f)
		}
		if got := rec.take(); !slices.Equal(got, st.want) {
			t.Errorf("%s: emitted\n%+v\nwant\n%+v", st.name, got, st.want)
		}
	}
	if logs.Len() > 0 {
		t.Errorf("logged: %s", logs.String())
	}

	// The positions file is JSON written whole; no temporary files remain.
	b, err := os.ReadFile(filepath.Join(state, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	var saved savedState
	if err := json.Unmarshal(b, &saved); err != nil || len(saved.Streams) != 2 {
		t.Errorf("positions file %s: %v", b, err)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 1 {
		t.Errorf("state dir holds %d files, want 1", len(ents))
	}
}

func TestFollowerNewFilterStartsAtEnd(t *testing.T) {
	dir := t.TempDir()
	p1 := filepath.Join(dir, "i-1", "instance.log")
	p3 := filepath.Join(dir, "i-3", "instance.log")
	appendFile(t, p1, instLine(1, "err", "ERROR old"))
	appendFile(t, p3, instLine(1, "err", "ERROR old, other group"))
	src := &testSource{instances: map[string][2]string{"i-1": {"web", p1}, "i-3": {"api", p3}}}
	rec := &recorder{}
	f := NewFollower(FollowerOptions{Source: src, Emit: rec.emit, Now: func() time.Time { return at(2) }})
	f.SetFilters(metricFilters()[:1])
	if err := f.Poll(); err != nil {
		t.Fatal(err)
	}
	// A filter on another group: its existing lines are not counted,
	// new ones are; a new instance's lines count from its first line.
	api := metricFilters()[0]
	api.Name, api.Group = "api-errors", "/madang/instances/api"
	f.SetFilters([]MetricFilter{metricFilters()[0], api})
	if err := f.Poll(); err != nil {
		t.Fatal(err)
	}
	p4 := filepath.Join(dir, "i-4", "instance.log")
	appendFile(t, p4, instLine(3, "err", "ERROR new instance"))
	src.instances["i-4"] = [2]string{"api", p4}
	appendFile(t, p3, instLine(3.5, "err", "ERROR new, other group"))
	if err := f.Poll(); err != nil {
		t.Fatal(err)
	}
	want := []datum{{Name: "Errors", Sec: 3, Sum: 2, Count: 2}}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Errorf("emitted %+v, want %+v", got, want)
	}
}

func TestFollowerRunStops(t *testing.T) {
	tick := make(chan time.Time)
	polled := make(chan []Emitted, 10)
	f := NewFollower(FollowerOptions{Source: SourceFunc(func() []StreamInfo { return nil }), Tick: tick, Emit: func(e []Emitted) { polled <- e }})
	f.SetFilters([]MetricFilter{{Name: "n", Group: "g", Transformation: logfilter.Transformation{MetricName: "N", MetricNamespace: "X", MetricValue: "1", DefaultValue: zero()}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx) }()
	<-polled // the poll at the start
	tick <- time.Now()
	<-polled
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestFollowerBadState(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	f := NewFollower(FollowerOptions{Source: SourceFunc(func() []StreamInfo { return nil }), StateDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := f.Poll(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "unreadable") {
		t.Errorf("log = %q, want a warning about the positions file", logs.String())
	}
}

// TestFollowerRealRotation counts lines written through package logfile
// while it rotates small files: every line is counted exactly once.
func TestFollowerRealRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "i-1", "logs", "instance.log")
	lf, err := logfile.Open(path, logfile.Options{MaxBytes: 300, MaxFiles: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	out := lf.Stream(logfile.StreamErr)
	src := &testSource{instances: map[string][2]string{"i-1": {"web", path}}}
	var total float64
	f := NewFollower(FollowerOptions{Source: src, StateDir: filepath.Join(dir, "state"), Emit: func(es []Emitted) {
		for _, e := range es {
			total += e.Count
		}
	}})
	f.SetFilters(metricFilters()[:1])
	const lines = 120
	for i := range lines {
		if i%7 == 0 {
			if err := f.Poll(); err != nil {
				t.Fatal(err)
			}
		}
		if i%29 == 0 {
			// A restart now and then.
			f = NewFollower(FollowerOptions{Source: src, StateDir: filepath.Join(dir, "state"), Emit: f.opts.Emit})
			f.SetFilters(metricFilters()[:1])
		}
		if _, err := out.Write([]byte("ERROR number " + strconv.Itoa(i) + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Poll(); err != nil {
		t.Fatal(err)
	}
	if len(RotatedPaths(path)) < 10 {
		t.Fatalf("only %d files: the log did not rotate enough to test", len(RotatedPaths(path)))
	}
	if total != lines {
		t.Errorf("counted %v ERROR lines, want %d", total, lines)
	}
}
