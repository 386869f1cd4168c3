package informer

import (
	"context"
	"sync"
)

// Mark is a store revision that only moves forward, with a wait for it to
// reach a revision: how far an informer has read, or a controller has
// acted. The zero Mark is at revision 0 and ready to use.
type Mark struct {
	mu      sync.Mutex
	rev     int64
	changed chan struct{} // closed and replaced when rev moves
}

// Advance moves the mark to rev if rev is ahead of it.
func (m *Mark) Advance(rev int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rev > m.rev {
		m.rev = rev
		if m.changed != nil {
			close(m.changed)
			m.changed = nil
		}
	}
}

// Rev returns the mark's revision.
func (m *Mark) Rev() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev
}

// Wait returns once the mark has reached rev, or ctx ends.
func (m *Mark) Wait(ctx context.Context, rev int64) error {
	for {
		m.mu.Lock()
		if m.rev >= rev {
			m.mu.Unlock()
			return nil
		}
		if m.changed == nil {
			m.changed = make(chan struct{})
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
