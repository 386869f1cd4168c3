package health

import (
	"context"
	"log/slog"
	"sync"
)

// change is one state change waiting to be logged and reported.
type change struct {
	group string
	th    TargetHealth
	// prev is the state before the change.
	prev State
}

// notifier logs state changes and hands them to OnChange from one
// goroutine, in order, so that neither runs under the Manager's locks nor
// on the proxy's request path.
type notifier struct {
	log      *slog.Logger
	onChange func(group string, th TargetHealth)
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}

	// mu guards the fields that follow.
	mu    sync.Mutex
	queue []change
}

func newNotifier(log *slog.Logger, onChange func(string, TargetHealth)) *notifier {
	n := &notifier{
		log:      log,
		onChange: onChange,
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go n.run()
	return n
}

// push queues a change; it never blocks.
func (n *notifier) push(c change) {
	n.mu.Lock()
	n.queue = append(n.queue, c)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) run() {
	defer close(n.done)
	for {
		select {
		case <-n.wake:
			n.drain()
		case <-n.stop:
			n.drain()
			return
		}
	}
}

func (n *notifier) drain() {
	for {
		n.mu.Lock()
		batch := n.queue
		n.queue = nil
		n.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, c := range batch {
			n.report(c)
		}
	}
}

func (n *notifier) report(c change) {
	th := c.th
	level := slog.LevelInfo
	if th.State == StateUnhealthy {
		level = slog.LevelWarn
	}
	n.log.Log(context.Background(), level, "target health changed",
		"group", c.group, "target", th.ID, "addr", th.Addr,
		"from", string(c.prev), "to", string(th.State),
		"reason", th.Reason, "description", th.Description, "passive", th.Passive)
	if n.onChange != nil {
		n.onChange(c.group, th)
	}
}

// close reports the queued changes and stops the goroutine.
func (n *notifier) close() {
	close(n.stop)
	<-n.done
}
