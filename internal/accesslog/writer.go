package accesslog

import (
	"io"
	"log/slog"
	"sync"
	"time"
)

// Buffering limits: lines wait at most FlushEvery; beyond MaxPending
// bytes new lines are dropped (and Write reports it).
const (
	FlushEvery = 200 * time.Millisecond
	MaxPending = 4 << 20
	kickAt     = 64 << 10 // pending bytes that trigger a write before the tick
)

// Writer buffers access-log lines and writes them to its destination on
// its own goroutine. It is safe for concurrent use. Close it to flush and
// stop the goroutine.
type Writer struct {
	w    io.Writer
	log  *slog.Logger
	kick chan struct{}
	quit chan struct{}
	done chan struct{}

	// mu guards the fields that follow.
	mu      sync.Mutex
	pending []byte
	closed  bool
}

// New starts a Writer writing to w; write errors are logged to log.
func New(w io.Writer, log *slog.Logger) *Writer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Writer{w: w, log: log, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go a.loop()
	return a
}

// Dest returns the destination the Writer was made for.
func (a *Writer) Dest() io.Writer { return a.w }

func (a *Writer) loop() {
	defer close(a.done)
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	var spare []byte
	for {
		select {
		case <-a.quit:
			a.mu.Lock()
			buf := a.pending
			a.pending = nil
			a.mu.Unlock()
			if len(buf) > 0 {
				a.write(buf)
			}
			return
		case <-t.C:
		case <-a.kick:
		}
		a.mu.Lock()
		buf := a.pending
		a.pending = spare[:0]
		a.mu.Unlock()
		if len(buf) > 0 {
			a.write(buf)
		}
		spare = buf
	}
}

func (a *Writer) write(buf []byte) {
	if _, err := a.w.Write(buf); err != nil {
		a.log.Warn("write access log", "err", err)
	}
}

// Write queues line (copied); it reports false when the line was dropped
// because the Writer is closed or MaxPending bytes are waiting.
func (a *Writer) Write(line []byte) bool {
	a.mu.Lock()
	if a.closed || len(a.pending)+len(line) > MaxPending {
		a.mu.Unlock()
		return false
	}
	a.pending = append(a.pending, line...)
	big := len(a.pending) > kickAt
	a.mu.Unlock()
	if big {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// Close writes what is pending and stops the goroutine; later writes are
// dropped. It is safe to call more than once.
func (a *Writer) Close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	a.closed = true
	a.mu.Unlock()
	close(a.quit)
	<-a.done
}
