package dataplane

import (
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/health"
)

// changeCapacity is how many health changes a data plane keeps for a
// daemon that is away.
const changeCapacity = 4096

// changeLog is a ring of the latest health changes with a wake-up channel
// for followers.
type changeLog struct {
	epoch string

	// mu guards the fields that follow.
	mu   sync.Mutex
	ring []Change // oldest first, at most changeCapacity
	next uint64   // Seq of the next change
	wake chan struct{}
}

func newChangeLog(epoch string) *changeLog {
	return &changeLog{epoch: epoch, next: 1, wake: make(chan struct{})}
}

func (l *changeLog) add(group string, th health.TargetHealth, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) == changeCapacity {
		copy(l.ring, l.ring[1:])
		l.ring = l.ring[:len(l.ring)-1]
	}
	l.ring = append(l.ring, Change{Seq: l.next, Group: group, Health: th, At: at})
	l.next++
	close(l.wake)
	l.wake = make(chan struct{})
}

// since returns the changes after seq after of epoch (at most max; every
// change when epoch is another data plane's), and a channel closed at the
// next change.
func (l *changeLog) since(epoch string, after uint64, max int) (Changes, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if epoch != l.epoch || after >= l.next {
		after = 0
	}
	out := Changes{Epoch: l.epoch, Next: after}
	for _, c := range l.ring {
		if c.Seq <= after {
			continue
		}
		if len(out.Changes) == max {
			break
		}
		out.Changes = append(out.Changes, c)
	}
	if len(l.ring) > 0 && l.ring[0].Seq > after+1 {
		out.Lost = true
	}
	if n := len(out.Changes); n > 0 {
		out.Next = out.Changes[n-1].Seq
	}
	return out, l.wake
}
