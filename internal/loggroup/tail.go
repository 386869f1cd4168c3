package loggroup

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// TailInterval is how often Tail looks for new lines.
const TailInterval = 250 * time.Millisecond

// Tail follows the query's streams live, as `aws logs tail --follow` and
// StartLiveTail do, calling fn for each new event that passes the query's
// time range and pattern until ctx ends (it then returns nil) or fn fails
// (it returns fn's error). With Start zero it shows only events written
// after it began; with Start set it first shows the stored events from
// Start on. Streams that appear later (a new instance) are read from
// their beginning. It follows rotation: the rest of a rotated file is read
// before the new one. Each round's events are delivered oldest first;
// Limit and Cursor are ignored.
func Tail(ctx context.Context, src Source, q FilterQuery, fn func(Event) error) error {
	return TailReady(ctx, src, q, nil, fn)
}

// TailReady is Tail, calling ready (when not nil) once, after its first
// round: from then on every event written to the query's streams is
// delivered, so a caller can tell its client the tail has begun.
func TailReady(ctx context.Context, src Source, q FilterQuery, ready func(), fn func(Event) error) error {
	t := time.NewTicker(TailInterval)
	defer t.Stop()
	var rounds func()
	if ready != nil {
		var once sync.Once
		rounds = func() { once.Do(ready) }
	}
	return tail(ctx, src, q, t.C, fn, rounds)
}

// tail is Tail polling on each tick; rounds, when set, is told after each
// round.
func tail(ctx context.Context, src Source, q FilterQuery, tick <-chan time.Time, fn func(Event) error, rounds func()) error {
	q.Limit, q.Cursor = 0, ""
	q, err := q.validate()
	if err != nil {
		return err
	}
	follows := make(map[[2]string]*follow)
	first := true
	for {
		var batch []Event
		for _, s := range q.streams(src) {
			k := [2]string{s.Group, s.Stream}
			fl := follows[k]
			if fl == nil {
				fl = &follow{}
				if first && q.Start.IsZero() {
					p, err := endPosition(s)
					if err != nil {
						return err
					}
					fl.pos = &p
				}
				follows[k] = fl
			}
			err := fl.advance(s, func(e Event) error {
				if q.keeps(e) {
					batch = append(batch, e)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		first = false
		slices.SortStableFunc(batch, func(a, b Event) int { return cmp.Compare(a.Timestamp.UnixNano(), b.Timestamp.UnixNano()) })
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if rounds != nil {
			rounds()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		}
	}
}
