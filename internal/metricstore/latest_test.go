package metricstore

import (
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

// TestEachLatest: one pass gives every recently written metric with the
// same newest period Latest gives, and leaves out the ones not written in
// the window.
func TestEachLatest(t *testing.T) {
	c := newClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	s := openTest(t, t.TempDir(), c)
	old := metric.ID{Namespace: "N", Name: "Old"}
	fresh := metric.ID{Namespace: "N", Name: "Fresh", Dimensions: []metric.Dimension{{Name: "A", Value: "1"}}}
	if err := s.Put([]metric.Datum{hiRes(old, c.Now().Add(-time.Second), 1)}); err != nil {
		t.Fatal(err)
	}
	c.Add(30 * time.Second)
	if err := s.Put([]metric.Datum{hiRes(fresh, c.Now().Add(-2*time.Second), 4), hiRes(fresh, c.Now().Add(-time.Second), 7)}); err != nil {
		t.Fatal(err)
	}
	got := map[string]metric.StatSet{}
	s.EachLatest(10*time.Second, func(id metric.ID, ts time.Time, st metric.StatSet) {
		got[id.Key()] = st
		wt, wst, ok := s.latestUnlockedForTest(id)
		if !ok || !wt.Equal(ts) || wst != st {
			t.Errorf("%v: EachLatest %v %+v, Latest %v %+v", id, ts, st, wt, wst)
		}
	})
	if len(got) != 1 || got[fresh.Key()].Sum != 7 {
		t.Fatalf("EachLatest = %+v, want only %v with its newest second (7)", got, fresh)
	}
}

// latestUnlockedForTest is Latest for use inside EachLatest's callback
// (which holds the read lock): the test's own comparison.
func (s *Store) latestUnlockedForTest(id metric.ID) (time.Time, metric.StatSet, bool) {
	return latestLocked(s.byID[id.Key()])
}
