package supervisor

import "sync"

// notifier delivers one proc's status changes to Config.OnChange, in
// order, from its own goroutine, so that a slow OnChange (one that writes
// the instance's state to disk) never holds up the proc's loop, such as
// a restart that is due. close delivers what is queued and waits.
type notifier struct {
	fn   func(Status)
	wake chan struct{} // holds a token when the queue may have grown
	done chan struct{} // closed when the goroutine returns

	// mu guards the fields that follow.
	mu     sync.Mutex
	queue  []Status
	closed bool
}

// newNotifier starts a notifier calling fn; with a nil fn it returns nil,
// which drops everything.
func newNotifier(fn func(Status)) *notifier {
	if fn == nil {
		return nil
	}
	n := &notifier{fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go n.run()
	return n
}

func (n *notifier) run() {
	defer close(n.done)
	for {
		n.mu.Lock()
		q, closed := n.queue, n.closed
		n.queue = nil
		n.mu.Unlock()
		for _, st := range q {
			n.fn(st)
		}
		if len(q) > 0 {
			continue
		}
		if closed {
			return
		}
		<-n.wake
	}
}

// push queues st and reports whether it will be delivered: false once the
// notifier is closed (the caller then calls OnChange itself).
func (n *notifier) push(st Status) bool {
	if n == nil {
		return true
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return false
	}
	n.queue = append(n.queue, st)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
	return true
}

// close delivers the queued changes and stops the goroutine.
func (n *notifier) close() {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
	<-n.done
}
