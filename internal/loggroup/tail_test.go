package loggroup

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/logfilter"
)

// tailer runs tail on a goroutine with a manual tick and hands events
// over a channel.
type tailer struct {
	tick   chan time.Time
	rounds chan struct{}
	events chan Event
	done   chan error
	cancel context.CancelFunc
}

func startTail(t *testing.T, src Source, q FilterQuery) *tailer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tl := &tailer{tick: make(chan time.Time), rounds: make(chan struct{}), events: make(chan Event, 100), done: make(chan error, 1), cancel: cancel}
	go func() {
		tl.done <- tail(ctx, src, q, tl.tick, func(e Event) error {
			tl.events <- e
			return nil
		}, func() {
			select {
			case tl.rounds <- struct{}{}:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-tl.done
	})
	tl.wait(t)
	return tl
}

// poll makes the tailer read once more and returns what it delivered.
func (tl *tailer) poll(t *testing.T) []string {
	t.Helper()
	select {
	case tl.tick <- time.Now():
	case err := <-tl.done:
		t.Fatalf("tail ended: %v", err)
	}
	tl.wait(t)
	var got []string
	for {
		select {
		case e := <-tl.events:
			got = append(got, e.Message)
		default:
			return got
		}
	}
}

// wait waits for the end of a round.
func (tl *tailer) wait(t *testing.T) {
	t.Helper()
	select {
	case <-tl.rounds:
	case err := <-tl.done:
		t.Fatalf("tail ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("tail round did not end")
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	p1 := filepath.Join(dir, "i-1", "instance.log")
	p2 := filepath.Join(dir, "i-2", "instance.log")
	appendFile(t, p1, instLine(1, "out", "old line"), instLine(2, "err", "ERROR old"))
	src := &testSource{instances: map[string][2]string{"i-1": {"web", p1}}}
	tl := startTail(t, src, FilterQuery{Groups: []string{"/madang/instances/web"}, Pattern: logfilter.MustParse("?ERROR ?WARN")})

	if got := tl.poll(t); len(got) != 0 {
		t.Errorf("idle round delivered %q; lines from before the tail began must not show", got)
	}

	appendFile(t, p1, instLine(3, "err", "ERROR new"), instLine(4, "out", "INFO skip"), "2026-10-13T10:00:05Z err WARN par")
	if got := tl.poll(t); !slices.Equal(got, []string{"ERROR new"}) {
		t.Errorf("after appending got %q, want the whole matching line only", got)
	}

	// The partial line is finished, more is written, then the file rotates
	// and the new file gets lines: all are seen once, in order.
	appendFile(t, p1, "tial\n", instLine(6, "err", "ERROR before rotation"))
	rotate(t, p1)
	appendFile(t, p1, instLine(7, "err", "ERROR after rotation"))
	if got := tl.poll(t); !slices.Equal(got, []string{"WARN partial", "ERROR before rotation", "ERROR after rotation"}) {
		t.Errorf("across rotation got %q", got)
	}

	// A new stream is read from its beginning.
	appendFile(t, p2, instLine(8, "err", "ERROR from a new instance"))
	src.instances["i-2"] = [2]string{"web", p2}
	if got := tl.poll(t); !slices.Equal(got, []string{"ERROR from a new instance"}) {
		t.Errorf("new stream got %q", got)
	}
	if got := tl.poll(t); len(got) != 0 {
		t.Errorf("idle round delivered %q", got)
	}
}

func TestTailFromStart(t *testing.T) {
	src := fixture(t)
	tl := startTail(t, src, FilterQuery{Groups: []string{"/madang/instances/web"}, Start: at(5), Pattern: logfilter.MustParse("ERROR")})
	if got := tl.poll(t); !slices.Equal(got, []string{"ERROR db down again"}) {
		t.Errorf("history from Start got %q", got)
	}
}

func TestTailStops(t *testing.T) {
	src := fixture(t)
	boom := errors.New("boom")
	tests := []struct {
		name    string
		fnErr   error
		cancel  bool
		wantErr error
	}{
		{name: "callback error", fnErr: boom, wantErr: boom},
		{name: "context ends", cancel: true, wantErr: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			err := Tail(ctx, src, FilterQuery{Start: t0}, func(Event) error { return tc.fnErr })
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Tail = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestTailReady(t *testing.T) {
	dir := t.TempDir()
	p1 := filepath.Join(dir, "i-1", "instance.log")
	appendFile(t, p1, instLine(1, "out", "before the tail"))
	src := &testSource{instances: map[string][2]string{"i-1": {"web", p1}}}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	readies := 0
	events := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- TailReady(ctx, src, FilterQuery{Groups: []string{"/madang/instances/web"}}, func() {
			readies++
			close(ready)
		}, func(e Event) error {
			events <- e.Message
			return nil
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("TailReady = %v", err)
		}
		if readies != 1 {
			t.Errorf("ready was called %d times, want once", readies)
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("ready was not called")
	}
	// A line written just after ready is delivered, the one before not.
	appendFile(t, p1, instLine(2, "out", "just after ready"))
	select {
	case got := <-events:
		if got != "just after ready" {
			t.Errorf("first event = %q, want the line written after ready", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the line written after ready was not delivered")
	}
	// Rounds go on without calling ready again.
	time.Sleep(3 * TailInterval)
}

func TestTailBadQuery(t *testing.T) {
	err := Tail(context.Background(), fixture(t), FilterQuery{Streams: []string{"a"}, StreamPrefix: "b"}, func(Event) error { return nil })
	if err == nil {
		t.Error("Tail accepted Streams with StreamPrefix")
	}
}
