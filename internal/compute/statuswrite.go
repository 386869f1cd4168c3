package compute

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/state"
)

// Observed phases are stored behind, in batches. A phase the supervisor
// reports (starting, running, exited, a restart counted) is a fact about
// a process, not a decision: after a crash of the daemon it is observed
// again (resume adopts or restarts by the desired state, and the
// supervisor reports the phase anew), so it need not be on disk before
// anyone hears of it. Each such store used to be a commit of its own, in
// line before the instance's listeners were told: fifty instances
// turning running over 200 ms made about fifty commits, each two
// fdatasyncs, a tenth of the daemon's CPU during the launch, and every
// target registration waited for one. Now the listeners are told at
// once, and the records changed meanwhile are stored together at most
// statusWriteDelay later, in one transaction. Decisions (launch, stop,
// terminate, tags, an error that stops an instance) are stored before
// their calls return, as before.

// statusWriteDelay is how long an observed phase may wait to be stored,
// so that the changes of a launch share commits.
const statusWriteDelay = 20 * time.Millisecond

// statusWriter stores the records of instances whose observed phase
// changed, statusWriteDelay after the first change it has not stored yet.
// Once closed it stores each change at once.
type statusWriter struct {
	s     *Service
	delay time.Duration
	kick  chan struct{} // holds a token when dirty may have grown
	stop  chan struct{} // closed by close
	done  chan struct{} // closed when run returns

	// mu guards the fields that follow.
	mu     sync.Mutex
	dirty  map[string]bool
	closed bool
}

func newStatusWriter(s *Service, delay time.Duration) *statusWriter {
	w := &statusWriter{
		s: s, delay: delay,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		dirty: map[string]bool{},
	}
	go w.run()
	return w
}

// mark asks for instance id's record to be stored soon.
func (w *statusWriter) mark(id string) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		_ = w.s.putInstance(context.Background(), id)
		return
	}
	w.dirty[id] = true
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *statusWriter) run() {
	defer close(w.done)
	t := time.NewTimer(w.delay)
	t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-w.kick:
		}
		t.Reset(w.delay)
		select {
		case <-w.stop:
			t.Stop()
			return
		case <-t.C:
		}
		w.flush()
	}
}

// flush stores every marked record, as it is now, in one transaction.
// It holds the put locks of those records meanwhile, so a record stored
// by putInstance at the same time is not overwritten by an older copy
// (see putInstance); records removed meanwhile are not stored again.
func (w *statusWriter) flush() {
	w.mu.Lock()
	ids := make([]string, 0, len(w.dirty))
	for id := range w.dirty {
		ids = append(ids, id)
	}
	clear(w.dirty)
	w.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	s := w.s
	unlock := s.lockPuts(ids)
	defer unlock()
	s.mu.Lock()
	recs := make([]Instance, 0, len(ids))
	for _, id := range ids {
		if in, ok := s.instances[id]; ok {
			recs = append(recs, *in)
		}
	}
	s.mu.Unlock()
	ops := make([]state.Op, 0, len(recs))
	for i := range recs {
		op, err := jsonPut(InstancePrefix+recs[i].ID, &recs[i])
		if err != nil {
			s.log.Warn("store instance state", "instance", recs[i].ID, "err", err)
			continue
		}
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return
	}
	if _, err := s.opts.Store.Txn(context.Background(), nil, ops); err != nil {
		s.log.Warn("store instance states", "instances", len(ops), "err", err)
	}
}

// close stores what is marked and makes later marks store at once.
func (w *statusWriter) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	w.flush()
}

// putShard returns the index of instance id's put lock (FNV-1a).
func putShard(id string) int {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return int(h % putShards)
}

// lockPuts takes the put locks of ids, in ascending order (so two
// callers locking several never wait for each other in a cycle), and
// returns the function that releases them.
func (s *Service) lockPuts(ids []string) (unlock func()) {
	shards := make([]int, 0, len(ids))
	for _, id := range ids {
		shards = append(shards, putShard(id))
	}
	slices.Sort(shards)
	shards = slices.Compact(shards)
	for _, i := range shards {
		s.putLocks[i].Lock()
	}
	return func() {
		for _, i := range shards {
			s.putLocks[i].Unlock()
		}
	}
}
