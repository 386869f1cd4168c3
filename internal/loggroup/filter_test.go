package loggroup

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/logfilter"
)

// fixture writes two instances of group web (i-1 with a rotated file),
// one ungrouped instance and a load balancer's access log.
func fixture(t *testing.T) *testSource {
	t.Helper()
	dir := t.TempDir()
	p1 := filepath.Join(dir, "instances", "i-1", "logs", "instance.log")
	p2 := filepath.Join(dir, "instances", "i-2", "logs", "instance.log")
	p3 := filepath.Join(dir, "instances", "i-3", "logs", "instance.log")
	acc := filepath.Join(dir, "logs", "elb", "web", "access.log")
	appendFile(t, p1+".1",
		"banner before any time\n",
		instLine(1, "out", "starting"),
		instLine(3, "err", "ERROR db down"),
	)
	appendFile(t, p1,
		instLine(5, "out", "GET / 200"),
		"  continuation without a time\n",
		instLine(7, "err", "ERROR db down again"),
		"2026-10-13T10:00:08Z out unterminated last line") // not whole: not read
	appendFile(t, p2,
		instLine(2, "out", "{\"level\":\"info\",\"latency\":12}"),
		instLine(4, "out", "{\"level\":\"error\",\"latency\":300}"),
		instLine(6, "sys", "exited with code 1 after 6s"),
	)
	appendFile(t, p3, instLine(4.5, "out", "solo"))
	appendFile(t, acc, accessLine(2.5, 200, "/"), accessLine(6.5, 404, "/missing"))
	return &testSource{
		instances: map[string][2]string{"i-1": {"web", p1}, "i-2": {"web", p2}, "i-3": {"", p3}},
		lbs:       map[string]string{"web": acc},
	}
}

func TestFilter(t *testing.T) {
	src := fixture(t)
	tests := []struct {
		name string
		q    FilterQuery
		want []string
	}{
		{name: "one group across streams and rotated files", q: FilterQuery{Groups: []string{"/madang/instances/web"}},
			want: []string{"banner before any time", "starting", `{"level":"info","latency":12}`, "ERROR db down", `{"level":"error","latency":300}`,
				"GET / 200", "  continuation without a time", "exited with code 1 after 6s", "ERROR db down again"}},
		{name: "pattern", q: FilterQuery{Groups: []string{"/madang/instances/web"}, Pattern: logfilter.MustParse("ERROR")},
			want: []string{"ERROR db down", "ERROR db down again"}},
		{name: "json pattern", q: FilterQuery{Pattern: logfilter.MustParse(`{ $.latency > 100 }`)},
			want: []string{`{"level":"error","latency":300}`}},
		{name: "one stream", q: FilterQuery{Groups: []string{"/madang/instances/web"}, Streams: []string{"i-2"}},
			want: []string{`{"level":"info","latency":12}`, `{"level":"error","latency":300}`, "exited with code 1 after 6s"}},
		{name: "stream prefix over all groups", q: FilterQuery{StreamPrefix: "i-", Start: at(4), End: at(5)},
			want: []string{`{"level":"error","latency":300}`, "solo", "GET / 200", "  continuation without a time"}},
		{name: "any of several stream prefixes", q: FilterQuery{StreamPrefixes: []string{"i-2", "i-3", "acc"}, Start: at(4), End: at(6.5)},
			want: []string{`{"level":"error","latency":300}`, "solo", "exited with code 1 after 6s", strings.TrimSuffix(accessLine(6.5, 404, "/missing"), "\n")}},
		{name: "time range is inclusive", q: FilterQuery{Groups: []string{"/madang/instances/web"}, Streams: []string{"i-1"}, Start: at(3), End: at(5)},
			want: []string{"ERROR db down", "GET / 200", "  continuation without a time"}},
		{name: "ungrouped instances", q: FilterQuery{Groups: []string{"/madang/instances"}}, want: []string{"solo"}},
		{name: "access log", q: FilterQuery{Groups: []string{"/madang/elb/web"}, Pattern: logfilter.MustParse(`[type, time, ..., target_status = 4*, received, sent, request, agent, trace, domain]`)},
			want: []string{strings.TrimSuffix(accessLine(6.5, 404, "/missing"), "\n")}},
		{name: "no such group", q: FilterQuery{Groups: []string{"/madang/nope"}}, want: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, next, err := Filter(context.Background(), src, tc.q)
			if err != nil {
				t.Fatalf("Filter: %v", err)
			}
			if next != "" {
				t.Errorf("next = %q, want none", next)
			}
			if got := messages(evs); !slices.Equal(got, tc.want) {
				t.Errorf("messages =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestFilterTimestamps(t *testing.T) {
	src := fixture(t)
	evs, _, err := Filter(context.Background(), src, FilterQuery{Groups: []string{"/madang/instances/web"}, Streams: []string{"i-1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		ts     time.Time
		origin string
	}{
		{at(1), ""},    // before the first time: takes the next one's
		{at(1), "out"}, // starting
		{at(3), "err"}, // ERROR db down
		{at(5), "out"}, // GET
		{at(5), ""},    // continuation: the previous time
		{at(7), "err"}, // ERROR again
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d", len(evs), len(want))
	}
	for i, w := range want {
		e := evs[i]
		if !e.Timestamp.Equal(w.ts) || e.Origin != w.origin || e.Group != "/madang/instances/web" || e.Stream != "i-1" {
			t.Errorf("event %d = %+v, want time %s origin %q", i, e, w.ts, w.origin)
		}
	}
}

func TestFilterNoTimeTakesModTime(t *testing.T) {
	p := filepath.Join(t.TempDir(), "plain.log")
	appendFile(t, p, "no time here\n", "nor here\n")
	mt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	src := SourceFunc(func() []StreamInfo { return []StreamInfo{{Group: "g", Stream: "s", Paths: []string{p}}} })
	evs, _, err := Filter(context.Background(), src, FilterQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || !evs[0].Timestamp.Equal(mt) || !evs[1].Timestamp.Equal(mt) {
		t.Errorf("events = %+v, want two at %s", evs, mt)
	}
}

func TestFilterPaging(t *testing.T) {
	src := fixture(t)
	// Equal timestamps across and within streams.
	appendFile(t, src.instances["i-3"][1], instLine(4.5, "out", "same time 1"), instLine(4.5, "out", "same time 2"))
	all, _, err := Filter(context.Background(), src, FilterQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 2, 3, 5} {
		t.Run("limit "+strconv.Itoa(limit), func(t *testing.T) {
			var got []Event
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > len(all)+1 {
					t.Fatal("paging does not end")
				}
				evs, next, err := Filter(context.Background(), src, FilterQuery{Limit: limit, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				if len(evs) > limit {
					t.Fatalf("page of %d events, limit %d", len(evs), limit)
				}
				got = append(got, evs...)
				if next == "" {
					break
				}
				cursor = next
			}
			if !slices.Equal(messages(got), messages(all)) {
				t.Errorf("pages =\n%q\nwant\n%q", messages(got), messages(all))
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	src := fixture(t)
	tests := []struct {
		name string
		q    FilterQuery
		want string
	}{
		{name: "streams and prefix", q: FilterQuery{Streams: []string{"i-1"}, StreamPrefix: "i-"}, want: "set one of them"},
		{name: "streams and prefixes", q: FilterQuery{Streams: []string{"i-1"}, StreamPrefixes: []string{"i-"}}, want: "set one of them"},
		{name: "negative limit", q: FilterQuery{Limit: -1}, want: "Limit -1 is out of range"},
		{name: "limit too big", q: FilterQuery{Limit: MaxLimit + 1}, want: "Limit 10001 is out of range"},
		{name: "end before start", q: FilterQuery{Start: at(5), End: at(1)}, want: "is before Start"},
		{name: "bad cursor", q: FilterQuery{Cursor: "!!"}, want: `Cursor "!!" is not a cursor Filter returned`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Filter(context.Background(), src, tc.q)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Filter error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestGroupNamesAndStoredBytes(t *testing.T) {
	src := fixture(t)
	want := []string{"/madang/elb/web", "/madang/instances", "/madang/instances/web"}
	if got := GroupNames(src); !slices.Equal(got, want) {
		t.Errorf("GroupNames = %q, want %q", got, want)
	}
	s := InstanceStream("web", "i-1", src.instances["i-1"][1])
	var want2 int64
	for _, p := range s.Paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want2 += fi.Size()
	}
	if got := StoredBytes(s); got != want2 || len(s.Paths) != 2 {
		t.Errorf("StoredBytes = %d over %d files, want %d over 2", got, len(s.Paths), want2)
	}
	if d := DaemonLogStream("/nonexistent/daemon.log"); d.Group != DaemonGroup || d.Stream != DaemonStream || StoredBytes(d) != 0 {
		t.Errorf("DaemonLogStream = %+v", d)
	}
}

func TestFilterCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Filter(ctx, fixture(t), FilterQuery{}); err == nil {
		t.Error("Filter on a canceled context succeeded")
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		name, format, line string
		ts                 time.Time
		msg, origin        string
	}{
		{name: "instance", format: FormatInstance, line: "2026-10-13T10:00:01Z out hello world", ts: at(1), msg: "hello world", origin: "out"},
		{name: "instance without time", format: FormatInstance, line: "hello", msg: "hello"},
		{name: "instance bad time", format: FormatInstance, line: "soon out hi", msg: "soon out hi"},
		{name: "access", format: FormatAccess, line: "http 2026-10-13T10:00:01.000000Z app/web x", ts: at(1), msg: "http 2026-10-13T10:00:01.000000Z app/web x"},
		{name: "access without time", format: FormatAccess, line: "http garbage", msg: "http garbage"},
		{name: "text with time", format: FormatText, line: "2026-10-13T10:00:01Z started", ts: at(1), msg: "2026-10-13T10:00:01Z started"},
		{name: "text without time", format: "", line: "started", msg: "started"},
		{name: "slog", format: FormatSlog, line: `time=2026-10-13T12:00:01.000+02:00 level=INFO msg="daemon ready"`, ts: at(1), msg: `time=2026-10-13T12:00:01.000+02:00 level=INFO msg="daemon ready"`},
		{name: "slog without time", format: FormatSlog, line: `level=INFO msg=x`, msg: `level=INFO msg=x`},
		{name: "event", format: FormatEvent, line: `2026-10-13T10:00:01Z "two\nlines \"quoted\""`, ts: at(1), msg: "two\nlines \"quoted\""},
		{name: "event unquoted", format: FormatEvent, line: `2026-10-13T10:00:01Z plain`, ts: at(1), msg: "plain"},
		{name: "event without time", format: FormatEvent, line: `"x"`, msg: `"x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, msg, origin := parseLine(tc.format, tc.line)
			if !ts.Equal(tc.ts) || msg != tc.msg || origin != tc.origin {
				t.Errorf("parseLine = %s %q %q, want %s %q %q", ts, msg, origin, tc.ts, tc.msg, tc.origin)
			}
		})
	}
}
