package logfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock returns times one millisecond apart, starting at a fixed time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func openTest(t *testing.T, opts Options) (*File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "logs", "instance.log")
	f, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	f.now = newFakeClock().now
	t.Cleanup(func() { _ = f.Close() })
	return f, path
}

func TestParseLine(t *testing.T) {
	ts := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name    string
		in      string
		want    Line
		wantErr string
	}{
		{name: "out line", in: "2026-03-01T12:00:00.123456789Z out hello world\n", want: Line{Time: ts, Stream: "out", Text: "hello world"}},
		{name: "no newline", in: "2026-03-01T12:00:00.123456789Z err boom", want: Line{Time: ts, Stream: "err", Text: "boom"}},
		{name: "empty text", in: "2026-03-01T12:00:00.123456789Z out \n", want: Line{Time: ts, Stream: "out", Text: ""}},
		{name: "no text at all", in: "2026-03-01T12:00:00.123456789Z sys", want: Line{Time: ts, Stream: "sys", Text: ""}},
		{name: "text keeps spaces", in: "2026-03-01T12:00:00.123456789Z out  a  b ", want: Line{Time: ts, Stream: "out", Text: " a  b "}},
		{name: "bad timestamp", in: "yesterday out hi", wantErr: "bad timestamp"},
		{name: "no space", in: "garbage", wantErr: "want \"<timestamp> <stream> <text>\""},
		{name: "missing stream", in: "2026-03-01T12:00:00Z ", wantErr: "missing stream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLine([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseLine(%q) error = %v, want it to contain %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLine(%q): %v", tc.in, err)
			}
			if !got.Time.Equal(tc.want.Time) || got.Stream != tc.want.Stream || got.Text != tc.want.Text {
				t.Errorf("ParseLine(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestOpenBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{name: "negative MaxBytes", opts: Options{MaxBytes: -1}, want: "MaxBytes is negative (got -1)"},
		{name: "negative MaxFiles", opts: Options{MaxFiles: -2}, want: "MaxFiles is negative (got -2)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(filepath.Join(t.TempDir(), "x.log"), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// readAll returns the parsed lines of one file.
func readAll(t *testing.T, name string) []Line {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	var out []Line
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") {
			t.Fatalf("%s: unterminated line %q", name, l)
		}
		pl, err := ParseLine([]byte(l))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, pl)
	}
	return out
}

func TestStreamSplitsLines(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   []string // texts, in order
	}{
		{name: "whole lines", writes: []string{"a\nb\n"}, want: []string{"a", "b"}},
		{name: "partial lines joined", writes: []string{"hel", "lo\nwor", "ld\n"}, want: []string{"hello", "world"}},
		{name: "partial last line flushed on close", writes: []string{"one\ntw", "o"}, want: []string{"one", "two"}},
		{name: "empty lines kept", writes: []string{"\n\nx\n"}, want: []string{"", "", "x"}},
		{name: "crlf trimmed", writes: []string{"dos\r\n"}, want: []string{"dos"}},
		{name: "long line split", writes: []string{strings.Repeat("a", 2*MaxLineBytes+10) + "\n"}, want: []string{strings.Repeat("a", MaxLineBytes), strings.Repeat("a", MaxLineBytes), strings.Repeat("a", 10)}},
		{name: "long partial line split before newline", writes: []string{strings.Repeat("b", MaxLineBytes+1), "c\n"}, want: []string{strings.Repeat("b", MaxLineBytes), "bc"}},
		{name: "no split inside a rune", writes: []string{strings.Repeat("a", MaxLineBytes-1) + "é\n"}, want: []string{strings.Repeat("a", MaxLineBytes-1), "é"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, path := openTest(t, Options{})
			w := f.Stream(StreamOut)
			for _, s := range tc.writes {
				n, err := w.Write([]byte(s))
				if err != nil || n != len(s) {
					t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(s))
				}
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close stream: %v", err)
			}
			lines := readAll(t, path)
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d lines, want %d", len(lines), len(tc.want))
			}
			for i, l := range lines {
				if l.Text != tc.want[i] || l.Stream != StreamOut {
					t.Errorf("line %d = %s %q (len %d), want out %q (len %d)", i, l.Stream, clip([]byte(l.Text)), len(l.Text), clip([]byte(tc.want[i])), len(tc.want[i]))
				}
			}
		})
	}
}

func TestNote(t *testing.T) {
	f, path := openTest(t, Options{})
	f.Note("started pid %d: %s", 123, "/bin/sh -c ./app")
	f.Note("two\nlines")
	got := readAll(t, path)
	want := []string{"started pid 123: /bin/sh -c ./app", "two", "lines"}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Stream != StreamSys || got[i].Text != want[i] {
			t.Errorf("line %d = %s %q, want sys %q", i, got[i].Stream, got[i].Text, want[i])
		}
	}
}

func TestClosedWrites(t *testing.T) {
	f, _ := openTest(t, Options{})
	w := f.Stream(StreamErr)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("late\n")); err == nil {
		t.Errorf("Write after Close: got nil error, want ErrClosed")
	}
}

func writeNumbered(t *testing.T, w interface{ Write([]byte) (int, error) }, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := fmt.Fprintf(w, "line %04d %s\n", i, strings.Repeat("x", 40)); err != nil {
			t.Fatalf("write line %d: %v", i, err)
		}
	}
}

func TestRotationBoundsDisk(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		lines    int
		wantKept int // rotated files kept
	}{
		{name: "three files", opts: Options{MaxBytes: 1000, MaxFiles: 3}, lines: 500, wantKept: 3},
		{name: "one file", opts: Options{MaxBytes: 500, MaxFiles: 1}, lines: 200, wantKept: 1},
		{name: "no rotation needed", opts: Options{MaxBytes: 1 << 20, MaxFiles: 2}, lines: 100, wantKept: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, path := openTest(t, tc.opts)
			w := f.Stream(StreamOut)
			writeNumbered(t, w, 0, tc.lines)
			var total int64
			for i := 0; i <= tc.opts.MaxFiles+1; i++ {
				name := path
				if i > 0 {
					name = rotatedName(path, i)
				}
				fi, err := os.Stat(name)
				if i > tc.wantKept {
					if err == nil {
						t.Errorf("%s exists, want at most %d rotated files", name, tc.wantKept)
					}
					continue
				}
				if err != nil {
					t.Fatalf("stat %s: %v", name, err)
				}
				if fi.Size() > tc.opts.MaxBytes {
					t.Errorf("%s is %d bytes, want <= MaxBytes %d", name, fi.Size(), tc.opts.MaxBytes)
				}
				total += fi.Size()
			}
			if limit := int64(tc.opts.MaxFiles+1) * tc.opts.MaxBytes; total > limit {
				t.Errorf("log uses %d bytes, want <= %d", total, limit)
			}
			// The newest lines survive and are contiguous.
			all, err := Tail(path, 0, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			checkContiguous(t, all, tc.lines)
		})
	}
}

// checkContiguous checks that lines are "line NNNN …" numbered up to
// end-1 without gaps.
func checkContiguous(t *testing.T, lines []Line, end int) {
	t.Helper()
	if len(lines) == 0 {
		t.Fatalf("no lines")
	}
	first := end - len(lines)
	for i, l := range lines {
		want := fmt.Sprintf("line %04d ", first+i)
		if !strings.HasPrefix(l.Text, want) {
			t.Fatalf("line %d = %q, want prefix %q", i, l.Text, want)
		}
	}
}

func TestOpenRemovesExcessRotatedFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	for i := 1; i <= 6; i++ {
		if err := os.WriteFile(rotatedName(path, i), []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Open(path, Options{MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := 1; i <= 6; i++ {
		_, err := os.Stat(rotatedName(path, i))
		if exists := err == nil; exists != (i <= 2) {
			t.Errorf("%s exists = %v, want %v", rotatedName(path, i), exists, i <= 2)
		}
	}
}

func TestTail(t *testing.T) {
	f, path := openTest(t, Options{MaxBytes: 2000, MaxFiles: 20})
	clock := newFakeClock()
	var stamps []time.Time
	f.now = func() time.Time {
		t := clock.now()
		stamps = append(stamps, t)
		return t
	}
	w := f.Stream(StreamOut)
	writeNumbered(t, w, 0, 300)
	if _, err := os.Stat(rotatedName(path, 3)); err != nil {
		t.Fatalf("want at least 3 rotations: %v", err)
	}
	tests := []struct {
		name  string
		n     int
		since time.Time
		want  int // number of lines, ending at line 299
	}{
		{name: "last 10", n: 10, want: 10},
		{name: "last 100 across rotation", n: 100, want: 100},
		{name: "all", n: 0, want: 300},
		{name: "more than exist", n: 1000, want: 300},
		{name: "since", n: 0, since: stamps[250], want: 50},
		{name: "since and n", n: 20, since: stamps[250], want: 20},
		{name: "since the future", n: 0, since: stamps[299].Add(time.Hour), want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Tail(path, tc.n, tc.since)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("Tail returned %d lines, want %d", len(got), tc.want)
			}
			if tc.want > 0 {
				checkContiguous(t, got, 300)
			}
		})
	}
	t.Run("missing log", func(t *testing.T) {
		got, err := Tail(filepath.Join(t.TempDir(), "none.log"), 10, time.Time{})
		if err != nil || len(got) != 0 {
			t.Errorf("Tail(missing) = %d lines, %v; want 0, nil", len(got), err)
		}
	})
	t.Run("unparsable text kept", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "raw.log")
		if err := os.WriteFile(p, []byte("plain text\n2026-03-01T12:00:00Z out ok\npartial"), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Tail(p, 0, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"plain text", "ok", "partial"}
		if len(got) != len(want) {
			t.Fatalf("got %d lines, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].Text != want[i] {
				t.Errorf("line %d = %q, want %q", i, got[i].Text, want[i])
			}
		}
	})
}

func TestTailLongLines(t *testing.T) {
	f, path := openTest(t, Options{})
	w := f.Stream(StreamErr)
	long := strings.Repeat("z", 3*MaxLineBytes/2)
	for i := 0; i < 5; i++ {
		fmt.Fprintf(w, "%d%s\n", i, long)
	}
	got, err := Tail(path, 3, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d lines, want 3", len(got))
	}
	// Each long line became two log lines; the last three are the tail of
	// line 3 and both halves of line 4.
	if got[1].Text[0] != '4' || len(got[1].Text) != MaxLineBytes || len(got[2].Text) != len(long)+1-MaxLineBytes {
		t.Errorf("unexpected tail: lens %d %d %d", len(got[0].Text), len(got[1].Text), len(got[2].Text))
	}
}

func TestConcurrentStreams(t *testing.T) {
	f, path := openTest(t, Options{MaxBytes: 1 << 20, MaxFiles: 50})
	const writers, perWriter = 4, 500
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := StreamOut
			if g%2 == 1 {
				name = StreamErr
			}
			w := f.Stream(name)
			defer w.Close()
			for i := 0; i < perWriter; i++ {
				// Write each line in two pieces to exercise buffering.
				s := fmt.Sprintf("w%d-%d %s\n", g, i, strings.Repeat("y", 30))
				_, _ = w.Write([]byte(s[:5]))
				_, _ = w.Write([]byte(s[5:]))
			}
		}()
	}
	for i := 0; i < 100; i++ {
		f.Note("note %d", i)
	}
	wg.Wait()
	lines, err := Tail(path, 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := writers*perWriter + 100; len(lines) != want {
		t.Fatalf("got %d lines, want %d", len(lines), want)
	}
	next := make(map[string]int)
	for _, l := range lines {
		if l.Stream == StreamSys {
			continue
		}
		id, rest, _ := strings.Cut(l.Text, "-")
		n, _, _ := strings.Cut(rest, " ")
		if got := strconv.Itoa(next[id]); n != got {
			t.Fatalf("writer %s: line %s out of order, want %s", id, n, got)
		}
		next[id]++
	}
}

func TestRawRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	w, err := OpenRaw(path, Options{MaxBytes: 4000, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				line := fmt.Sprintf("g%d %03d GET / 200\n", g, i)
				if n, err := w.Write([]byte(line)); err != nil || n != len(line) {
					t.Errorf("Write = %d, %v", n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rotatedName(path, 3)); err == nil {
		t.Errorf("%s exists, want at most 2 rotated files", rotatedName(path, 3))
	}
	for _, name := range []string{path, rotatedName(path, 1), rotatedName(path, 2)} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 4000 {
			t.Errorf("%s is %d bytes, want <= 4000", name, len(b))
		}
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if l != "" && (!strings.HasPrefix(l, "g") || !strings.HasSuffix(l, " GET / 200\n")) {
				t.Fatalf("%s: torn line %q", name, l)
			}
		}
	}
	if _, err := w.Write([]byte("x\n")); err == nil {
		t.Errorf("Write after Close: got nil error, want ErrClosed")
	}
}

// collector gathers followed lines.
type collector struct {
	mu    sync.Mutex
	lines []Line
}

func (c *collector) add(l Line) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l)
}

func (c *collector) snapshot() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines...)
}

func (c *collector) waitFor(t *testing.T, n int) []Line {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := c.snapshot()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startFollow(t *testing.T, path string, since time.Time) *collector {
	t.Helper()
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, path, since, c.add) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Follow: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("Follow did not return after cancel")
		}
	})
	return c
}

func TestFollow(t *testing.T) {
	t.Run("existing then new lines across rotation", func(t *testing.T) {
		f, path := openTest(t, Options{MaxBytes: 1500, MaxFiles: 50})
		w := f.Stream(StreamOut)
		writeNumbered(t, w, 0, 50) // a couple of rotations already
		c := startFollow(t, path, time.Time{})
		got := c.waitFor(t, 50)
		if len(got) != 50 {
			t.Fatalf("got %d existing lines, want 50", len(got))
		}
		// Several rotations between two polls.
		writeNumbered(t, w, 50, 200)
		got = c.waitFor(t, 200)
		if len(got) != 200 {
			t.Fatalf("got %d lines, want 200", len(got))
		}
		checkContiguous(t, got, 200)
		// More after a pause, into the newest file.
		time.Sleep(2 * FollowInterval)
		writeNumbered(t, w, 200, 210)
		got = c.waitFor(t, 210)
		if len(got) != 210 {
			t.Fatalf("got %d lines, want 210", len(got))
		}
		checkContiguous(t, got, 210)
	})
	t.Run("waits for the log to appear", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "later.log")
		c := startFollow(t, path, time.Time{})
		time.Sleep(FollowInterval + 20*time.Millisecond)
		f, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.Note("hello")
		got := c.waitFor(t, 1)
		if len(got) != 1 || got[0].Text != "hello" || got[0].Stream != StreamSys {
			t.Fatalf("got %+v, want one sys hello line", got)
		}
	})
	t.Run("since skips older lines", func(t *testing.T) {
		f, path := openTest(t, Options{})
		clock := newFakeClock()
		f.now = clock.now
		f.Note("old")
		since := clock.now()
		f.Note("new")
		c := startFollow(t, path, since)
		c.waitFor(t, 1)
		time.Sleep(FollowInterval)
		got := c.snapshot()
		if len(got) != 1 || got[0].Text != "new" {
			t.Fatalf("got %+v, want only the new line", got)
		}
	})
	t.Run("partial line waits for its end", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "p.log")
		if err := os.WriteFile(path, []byte("2026-03-01T12:00:00Z out hal"), 0o644); err != nil {
			t.Fatal(err)
		}
		c := startFollow(t, path, time.Time{})
		time.Sleep(2 * FollowInterval)
		if got := c.snapshot(); len(got) != 0 {
			t.Fatalf("got %+v before the line ended, want nothing", got)
		}
		af, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = af.WriteString("f\n")
		_ = af.Close()
		got := c.waitFor(t, 1)
		if len(got) != 1 || got[0].Text != "half" {
			t.Fatalf("got %+v, want one line \"half\"", got)
		}
	})
}

// BenchmarkStream measures appending app output: 32 KiB chunks of
// 100-byte lines, as the shim copies them from a pipe.
func BenchmarkStream(b *testing.B) {
	f, err := Open(filepath.Join(b.TempDir(), "bench.log"), Options{MaxBytes: 64 << 20, MaxFiles: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	line := strings.Repeat("x", 99) + "\n"
	chunk := []byte(strings.Repeat(line, 32<<10/len(line)))
	w := f.Stream(StreamOut)
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
}
