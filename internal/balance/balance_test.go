package balance

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/leakcheck"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// seeded returns a deterministic Options.Rand.
func seeded(seed uint64) func() uint64 {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var mu sync.Mutex
	return func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Uint64()
	}
}

func pool(weights ...int) []*Target {
	ts := make([]*Target, len(weights))
	for i, w := range weights {
		ts[i] = NewTarget(fmt.Sprintf("i-%04d", i), fmt.Sprintf("127.0.0.1:%d", 20000+i), w)
	}
	return ts
}

func mustNew(t testing.TB, algorithm string, opts Options) Selector {
	t.Helper()
	s, err := New(algorithm, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", algorithm, err)
	}
	return s
}

// counts makes n picks and returns how many each target got. With hold
// set every pick stays outstanding, as under sustained load; keyed picks
// use distinct keys.
func counts(t *testing.T, s Selector, ts []*Target, n int, hold bool) map[*Target]int {
	t.Helper()
	got := make(map[*Target]int)
	for i := range n {
		key := ""
		if _, ok := s.(*consistentHash); ok {
			key = fmt.Sprintf("client-%d", i)
		}
		p := s.Select(ts, key)
		if p == nil {
			t.Fatalf("pick %d: Select returned nil", i)
		}
		if hold {
			p.Begin()
		}
		got[p]++
	}
	return got
}

func checkShares(t *testing.T, ts []*Target, got map[*Target]int, n int, want []float64, tol float64) {
	t.Helper()
	for i, tg := range ts {
		share := float64(got[tg]) / float64(n)
		if math.Abs(share-want[i]) > tol {
			t.Errorf("target %s (weight %d): share %.4f, want %.4f ± %.3f", tg.ID, tg.Weight, share, want[i], tol)
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		algorithm string
		opts      Options
		wantErr   string
	}{
		{name: "round robin", algorithm: "round_robin"},
		{name: "least outstanding", algorithm: "least_outstanding_requests"},
		{name: "weighted random", algorithm: "weighted_random"},
		{name: "least response time", algorithm: "least_response_time"},
		{name: "consistent hash", algorithm: "consistent_hash"},
		{name: "slow start with LOR", algorithm: "least_outstanding_requests", opts: Options{SlowStart: 30 * time.Second}},
		{name: "unknown", algorithm: "leastconn", wantErr: `unknown load balancing algorithm "leastconn": use one of round_robin, least_outstanding_requests, weighted_random, least_response_time, consistent_hash`},
		{name: "empty", algorithm: "", wantErr: `unknown load balancing algorithm ""`},
		{name: "case matters", algorithm: "Round_Robin", wantErr: "use one of round_robin"},
		{name: "negative slow start", algorithm: "round_robin", opts: Options{SlowStart: -time.Second}, wantErr: "slow start -1s is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.algorithm, tc.opts)
			if tc.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("New(%q) = %v, %v; want a selector", tc.algorithm, s, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New(%q) error = %v; want it to contain %q", tc.algorithm, err, tc.wantErr)
			}
		})
	}
}

func TestEmptyAndZeroWeights(t *testing.T) {
	for _, alg := range Algorithms() {
		t.Run(alg, func(t *testing.T) {
			s := mustNew(t, alg, Options{Rand: seeded(1)})
			for _, key := range []string{"", "k"} {
				if got := s.Select(nil, key); got != nil {
					t.Errorf("Select(nil, %q) = %s, want nil", key, got.ID)
				}
				if got := s.Select(pool(0, 0, 0), key); got != nil {
					t.Errorf("Select(all weight 0, %q) = %s, want nil", key, got.ID)
				}
			}
			for _, n := range []int{3, 20} {
				ws := make([]int, n)
				for i := range ws {
					ws[i] = i % 2 // every other target has weight 0
				}
				ts := pool(ws...)
				for i := range 2000 {
					p := s.Select(ts, fmt.Sprint(i))
					if p == nil || p.Weight == 0 {
						t.Fatalf("%d targets: pick %d = %v, want a target with weight > 0", n, i, p)
					}
				}
			}
		})
	}
}

func TestDistribution(t *testing.T) {
	const n = 60000
	want := []float64{1.0 / 6, 2.0 / 6, 3.0 / 6}
	tests := []struct {
		name      string
		algorithm string
		hold      bool    // keep every pick outstanding
		tol       float64 // absolute share tolerance
	}{
		{name: "round robin is exact", algorithm: RoundRobin, tol: 0.0001},
		{name: "weighted random", algorithm: WeightedRandom, tol: 0.01},
		{name: "least outstanding idle", algorithm: LeastOutstandingRequests, tol: 0.01},
		{name: "least outstanding loaded", algorithm: LeastOutstandingRequests, hold: true, tol: 0.001},
		{name: "least response time loaded", algorithm: LeastResponseTime, hold: true, tol: 0.001},
		{name: "consistent hash", algorithm: ConsistentHash, tol: 0.04},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, tc.algorithm, Options{Rand: seeded(7)})
			ts := pool(1, 2, 3)
			checkShares(t, ts, counts(t, s, ts, n, tc.hold), n, want, tc.tol)
		})
	}
}

func TestDistributionManyTargets(t *testing.T) {
	// 40 targets exercise the power-of-two-choices paths; weights 1 and 3
	// alternate, so the heavy half should get 3/4 of the load.
	const n = 40000
	ws := make([]int, 40)
	for i := range ws {
		ws[i] = 1 + 2*(i%2)
	}
	tests := []struct {
		name      string
		algorithm string
		hold      bool
		tol       float64
	}{
		{name: "round robin", algorithm: RoundRobin, tol: 0.001},
		{name: "weighted random", algorithm: WeightedRandom, tol: 0.02},
		{name: "least outstanding loaded", algorithm: LeastOutstandingRequests, hold: true, tol: 0.02},
		{name: "least response time loaded", algorithm: LeastResponseTime, hold: true, tol: 0.02},
		{name: "consistent hash", algorithm: ConsistentHash, tol: 0.03},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, tc.algorithm, Options{Rand: seeded(11)})
			ts := pool(ws...)
			got := counts(t, s, ts, n, tc.hold)
			heavy := 0
			for _, tg := range ts {
				if tg.Weight == 3 {
					heavy += got[tg]
				}
			}
			if share := float64(heavy) / n; math.Abs(share-0.75) > tc.tol {
				t.Errorf("weight-3 targets got %.4f of picks, want 0.75 ± %.3f", share, tc.tol)
			}
		})
	}
}

func TestRoundRobinOrder(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		want    string // target indexes as letters
	}{
		{name: "equal weights", weights: []int{1, 1, 1}, want: "abcabcabc"},
		{name: "equal heavy weights", weights: []int{7, 7}, want: "ababab"},
		{name: "smooth 5 1 1", weights: []int{5, 1, 1}, want: "aabacaa" + "aabacaa"},
		{name: "smooth 2 1", weights: []int{2, 1}, want: "aba" + "aba"},
		{name: "zero weight skipped", weights: []int{1, 0, 1}, want: "acacac"},
		{name: "single", weights: []int{3}, want: "aaa"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, RoundRobin, Options{})
			ts := pool(tc.weights...)
			var got strings.Builder
			for range len(tc.want) {
				p := s.Select(ts, "")
				for i, tg := range ts {
					if tg == p {
						got.WriteByte(byte('a' + i))
					}
				}
			}
			if got.String() != tc.want {
				t.Errorf("order = %s, want %s", got.String(), tc.want)
			}
		})
	}
}

func TestRoundRobinPoolChange(t *testing.T) {
	s := mustNew(t, RoundRobin, Options{})
	ts := pool(3, 1, 2)
	for range 5 {
		s.Select(ts, "")
	}
	// Drop the middle target, then bring it back: shares stay exact over
	// whole cycles.
	for _, p := range [][]*Target{{ts[0], ts[2]}, ts} {
		total := 0
		for _, tg := range p {
			total += tg.Weight
		}
		// Finish the cycle in progress, then count whole cycles.
		for range total {
			s.Select(p, "")
		}
		got := make(map[*Target]int)
		for range 10 * total {
			got[s.Select(p, "")]++
		}
		for _, tg := range p {
			if got[tg] != 10*tg.Weight {
				t.Errorf("pool of %d: %s got %d picks, want %d", len(p), tg.ID, got[tg], 10*tg.Weight)
			}
		}
	}
}

func TestRoundRobinRetrySubset(t *testing.T) {
	s := mustNew(t, RoundRobin, Options{}).(*roundRobin)
	ts := pool(3, 1, 2, 1)
	s.Select(ts, "")
	adopted := s.pool
	for range 700 {
		s.Select(ts, "")
		p := s.Select(ts[1:], "") // a retry that skips ts[0]
		if p == ts[0] {
			t.Fatalf("subset pick returned %s, which is not in the subset", p.ID)
		}
	}
	if &s.pool[0] != &adopted[0] {
		t.Error("pool re-adopted for retry subsets")
	}
	for range adoptAfter + 1 {
		s.Select(ts[1:], "")
	}
	if len(s.pool) != 3 {
		t.Errorf("adopted pool has %d targets after a lasting subset, want 3", len(s.pool))
	}
}

func TestLeastOutstandingPrefersIdle(t *testing.T) {
	tests := []struct {
		name        string
		weights     []int
		outstanding []int64
		want        int // index that must always win
	}{
		{name: "idle among busy", weights: []int{1, 1, 1}, outstanding: []int64{4, 0, 4}, want: 1},
		{name: "fewest wins", weights: []int{1, 1, 1, 1}, outstanding: []int64{3, 2, 5, 9}, want: 1},
		{name: "per unit of weight", weights: []int{2, 1}, outstanding: []int64{3, 2}, want: 0},  // 1.5 < 2
		{name: "weight beats count", weights: []int{1, 10}, outstanding: []int64{1, 5}, want: 1}, // 0.5 < 1
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, LeastOutstandingRequests, Options{Rand: seeded(3)})
			ts := pool(tc.weights...)
			for i, n := range tc.outstanding {
				for range n {
					ts[i].Begin()
				}
			}
			for i := range 500 {
				if got := s.Select(ts, ""); got != ts[tc.want] {
					t.Fatalf("pick %d = %s, want %s", i, got.ID, ts[tc.want].ID)
				}
			}
		})
	}
	t.Run("two choices never pick the busiest", func(t *testing.T) {
		s := mustNew(t, LeastOutstandingRequests, Options{Rand: seeded(5)})
		ts := pool(make1s(30)...)
		for i, tg := range ts {
			for range i {
				tg.Begin()
			}
		}
		got := counts(t, s, ts, 5000, false)
		if got[ts[len(ts)-1]] != 0 {
			t.Errorf("busiest target picked %d times, want 0", got[ts[len(ts)-1]])
		}
		if got[ts[0]] < 5000/len(ts) {
			t.Errorf("idle target picked %d times, want more than its fair share %d", got[ts[0]], 5000/len(ts))
		}
	})
}

func make1s(n int) []int {
	ws := make([]int, n)
	for i := range ws {
		ws[i] = 1
	}
	return ws
}

// simulate drives s sequentially on a fake clock: each pick completes after
// its target's latency, then the clock moves on by gap.
func simulate(s Selector, ts []*Target, clock *fakeClock, n int, gap time.Duration, latency func(*Target) (time.Duration, bool)) map[*Target]int {
	got := make(map[*Target]int)
	for range n {
		p := s.Select(ts, "")
		p.Begin()
		d, failed := latency(p)
		p.EndAt(clock.Now(), d, failed)
		got[p]++
		clock.Advance(gap)
	}
	return got
}

func TestLeastResponseTime(t *testing.T) {
	t.Run("moves traffic away from a slow target", func(t *testing.T) {
		clock := newFakeClock()
		s := mustNew(t, LeastResponseTime, Options{Now: clock.Now, Rand: seeded(9)})
		ts := pool(1, 1, 1)
		slow := ts[1]
		lat := func(p *Target) (time.Duration, bool) {
			if p == slow {
				return 100 * time.Millisecond, false
			}
			return 10 * time.Millisecond, false
		}
		simulate(s, ts, clock, 100, time.Millisecond, lat) // warm up
		got := simulate(s, ts, clock, 3000, time.Millisecond, lat)
		if got[slow] > 30 {
			t.Errorf("slow target got %d of 3000 picks, want at most 30", got[slow])
		}
	})
	t.Run("slow target is retried after its estimate decays", func(t *testing.T) {
		clock := newFakeClock()
		s := mustNew(t, LeastResponseTime, Options{Now: clock.Now, Rand: seeded(9)})
		ts := pool(1, 1)
		ts[0].EndAt(clock.Now(), 500*time.Millisecond, false)
		ts[1].EndAt(clock.Now(), 5*time.Millisecond, false)
		// 500ms decays below 5ms after 10s×ln(100) ≈ 46s.
		got := simulate(s, ts, clock, 600, 100*time.Millisecond, func(*Target) (time.Duration, bool) { return 5 * time.Millisecond, false })
		if got[ts[0]] == 0 {
			t.Errorf("slow target never retried within 60 s")
		}
	})
	t.Run("new target without samples gets traffic", func(t *testing.T) {
		clock := newFakeClock()
		s := mustNew(t, LeastResponseTime, Options{Now: clock.Now, Rand: seeded(9)})
		ts := pool(1, 1, 1)
		lat := func(*Target) (time.Duration, bool) { return 20 * time.Millisecond, false }
		simulate(s, ts[:2], clock, 200, time.Millisecond, lat)
		got := simulate(s, ts, clock, 300, time.Millisecond, lat)
		if got[ts[2]] < 50 {
			t.Errorf("new target got %d of 300 picks, want at least 50", got[ts[2]])
		}
	})
	t.Run("fast failures are penalized", func(t *testing.T) {
		clock := newFakeClock()
		s := mustNew(t, LeastResponseTime, Options{Now: clock.Now, Rand: seeded(9)})
		ts := pool(1, 1, 1)
		bad := ts[0]
		lat := func(p *Target) (time.Duration, bool) {
			if p == bad {
				return 100 * time.Microsecond, true // fails fast
			}
			return 10 * time.Millisecond, false
		}
		simulate(s, ts, clock, 100, time.Millisecond, lat)
		got := simulate(s, ts, clock, 3000, time.Millisecond, lat)
		if got[bad] > 30 {
			t.Errorf("failing target got %d of 3000 picks, want at most 30", got[bad])
		}
	})
	t.Run("many targets use two choices", func(t *testing.T) {
		clock := newFakeClock()
		s := mustNew(t, LeastResponseTime, Options{Now: clock.Now, Rand: seeded(9)})
		ts := pool(make1s(20)...)
		lat := func(p *Target) (time.Duration, bool) {
			if p == ts[0] {
				return 200 * time.Millisecond, false
			}
			return 10 * time.Millisecond, false
		}
		simulate(s, ts, clock, 500, time.Millisecond, lat)
		got := simulate(s, ts, clock, 4000, time.Millisecond, lat)
		if got[ts[0]] > 40 {
			t.Errorf("slow target got %d of 4000 picks, want at most 40", got[ts[0]])
		}
	})
}

func TestEstimate(t *testing.T) {
	const ms = time.Millisecond
	type sample struct {
		after   time.Duration // since the previous sample
		latency time.Duration
		failed  bool
	}
	tests := []struct {
		name    string
		samples []sample
		readAt  time.Duration // after the last sample
		want    time.Duration
		tol     time.Duration
	}{
		{name: "no samples", want: 0},
		{name: "first sample", samples: []sample{{latency: 40 * ms}}, want: 40 * ms},
		{name: "peak replaces", samples: []sample{{latency: 10 * ms}, {after: ms, latency: 90 * ms}}, want: 90 * ms},
		{name: "lower sample blends by elapsed time", samples: []sample{{latency: 100 * ms}, {after: DecayTime, latency: 0}},
			want: time.Duration(100e6 * math.Exp(-1)), tol: 10 * time.Microsecond},
		{name: "decays while idle", samples: []sample{{latency: 100 * ms}}, readAt: DecayTime,
			want: time.Duration(100e6 * math.Exp(-1)), tol: 10 * time.Microsecond},
		{name: "failure floor", samples: []sample{{latency: 10 * time.Microsecond, failed: true}}, want: MinFailurePenalty},
		{name: "failure doubles", samples: []sample{{latency: 50 * ms}, {latency: ms, failed: true}}, want: 100 * ms},
		{name: "slow failure counts in full", samples: []sample{{latency: 5 * time.Second, failed: true}}, want: 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			tg := NewTarget("i-1", "127.0.0.1:1", 1)
			for _, s := range tc.samples {
				clock.Advance(s.after)
				tg.Begin()
				tg.EndAt(clock.Now(), s.latency, s.failed)
			}
			clock.Advance(tc.readAt)
			got := tg.Latency(clock.Now())
			if d := got - tc.want; d < -tc.tol || d > tc.tol {
				t.Errorf("Latency = %v, want %v ± %v", got, tc.want, tc.tol)
			}
			if tg.Outstanding() != 0 {
				t.Errorf("Outstanding = %d, want 0", tg.Outstanding())
			}
		})
	}
}

func TestSlowStart(t *testing.T) {
	const ramp = 100 * time.Second
	tests := []struct {
		name      string
		algorithm string
		hold      bool
		tol       float64
	}{
		{name: "round robin", algorithm: RoundRobin, tol: 0.002},
		{name: "weighted random", algorithm: WeightedRandom, tol: 0.015},
		{name: "least outstanding idle", algorithm: LeastOutstandingRequests, tol: 0.015},
		{name: "least outstanding loaded", algorithm: LeastOutstandingRequests, hold: true, tol: 0.01},
		{name: "least response time loaded", algorithm: LeastResponseTime, hold: true, tol: 0.01},
		{name: "consistent hash", algorithm: ConsistentHash, tol: 0.04},
	}
	// Two equal targets; b became healthy at t0. Its share is w/(1+w)
	// where w is its ramp fraction.
	steps := []struct {
		at   time.Duration
		frac float64
	}{
		{at: 0, frac: 0.1},
		{at: 5 * time.Second, frac: 0.1}, // the floor
		{at: 50 * time.Second, frac: 0.5},
		{at: 80 * time.Second, frac: 0.8},
		{at: ramp, frac: 1},
		{at: 10 * ramp, frac: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, st := range steps {
				clock := newFakeClock()
				s := mustNew(t, tc.algorithm, Options{SlowStart: ramp, Now: clock.Now, Rand: seeded(13)})
				ts := pool(4, 4)
				ts[1].SetHealthySince(clock.Now())
				clock.Advance(st.at)
				const n = 20000
				got := counts(t, s, ts, n, tc.hold)
				want := st.frac / (1 + st.frac)
				if share := float64(got[ts[1]]) / n; math.Abs(share-want) > tc.tol {
					t.Errorf("at %v: ramping target share %.4f, want %.4f ± %.3f", st.at, share, want, tc.tol)
				}
			}
		})
	}
	t.Run("zero time ends slow start", func(t *testing.T) {
		tg := NewTarget("i-1", "127.0.0.1:1", 1)
		now := time.Unix(1700000000, 0)
		tg.SetHealthySince(now)
		if got := tg.HealthySince(); !got.Equal(now) {
			t.Errorf("HealthySince = %v, want %v", got, now)
		}
		tg.SetHealthySince(time.Time{})
		if got := tg.HealthySince(); !got.IsZero() {
			t.Errorf("HealthySince = %v, want the zero time", got)
		}
	})
}

func TestEffectiveWeight(t *testing.T) {
	c := newConfig(Options{SlowStart: 10 * time.Second})
	t0 := time.Unix(1700000000, 0)
	tests := []struct {
		name    string
		weight  int
		since   time.Duration // healthy since t0+since; -1 = never set
		now     time.Duration
		wantMil int64 // expected effective weight
	}{
		{name: "not in slow start", weight: 3, since: -1, wantMil: 3000},
		{name: "just healthy", weight: 3, now: 0, wantMil: 300},
		{name: "below floor", weight: 3, now: 500 * time.Millisecond, wantMil: 300},
		{name: "halfway", weight: 3, now: 5 * time.Second, wantMil: 1500},
		{name: "done", weight: 3, now: 10 * time.Second, wantMil: 3000},
		{name: "clock behind", weight: 2, since: time.Second, now: 0, wantMil: 200},
		{name: "weight zero", weight: 0, now: 5 * time.Second, wantMil: 0},
		{name: "negative weight", weight: -4, since: -1, wantMil: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := NewTarget("i-1", "127.0.0.1:1", tc.weight)
			if tc.since >= 0 {
				tg.SetHealthySince(t0.Add(tc.since))
			}
			if got := c.weight(tg, t0.Add(tc.now).UnixNano()); got != tc.wantMil {
				t.Errorf("weight = %d, want %d", got, tc.wantMil)
			}
		})
	}
}

func TestConsistentHash(t *testing.T) {
	const keys = 50000
	assign := func(s Selector, ts []*Target) []*Target {
		out := make([]*Target, keys)
		for i := range out {
			out[i] = s.Select(ts, fmt.Sprintf("10.1.%d.%d", i/256, i%256))
		}
		return out
	}
	t.Run("stable and order independent", func(t *testing.T) {
		ts := pool(1, 1, 1, 1, 1)
		a := assign(mustNew(t, ConsistentHash, Options{}), ts)
		b := assign(mustNew(t, ConsistentHash, Options{}), ts)
		rev := []*Target{ts[4], ts[3], ts[2], ts[1], ts[0]}
		c := assign(mustNew(t, ConsistentHash, Options{}), rev)
		for i := range a {
			if a[i] != b[i] || a[i] != c[i] {
				t.Fatalf("key %d: %s, %s, %s; want one target", i, a[i].ID, b[i].ID, c[i].ID)
			}
		}
	})
	tests := []struct {
		name   string
		before []int // weights
		after  []int // weights; a longer list adds targets, a shorter removes the last ones
		// moved share bounds
		lo, hi float64
	}{
		{name: "add one of 10", before: make1s(10), after: make1s(11), lo: 0.06, hi: 0.12},              // ideal 1/11
		{name: "remove one of 10", before: make1s(10), after: make1s(9), lo: 0.07, hi: 0.13},            // ideal 1/10
		{name: "add one of 3", before: make1s(3), after: make1s(4), lo: 0.19, hi: 0.31},                 // ideal 1/4
		{name: "add one of 50", before: make1s(50), after: make1s(51), lo: 0.01, hi: 0.03},              // ideal 1/51
		{name: "weighted add", before: []int{1, 2, 3}, after: []int{1, 2, 3, 2}, lo: 0.18, hi: 0.32},    // ideal 2/8
		{name: "weighted remove", before: []int{2, 2, 2, 2}, after: []int{2, 2, 2}, lo: 0.19, hi: 0.31}, // ideal 1/4
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			big := pool(make1s(max(len(tc.before), len(tc.after)))...)
			for i := range big {
				big[i].Weight = 0
			}
			mk := func(ws []int) []*Target {
				ts := make([]*Target, len(ws))
				for i, w := range ws {
					ts[i] = NewTarget(big[i].ID, big[i].Addr, w)
				}
				return ts
			}
			before, after := mk(tc.before), mk(tc.after)
			s := mustNew(t, ConsistentHash, Options{})
			a, b := assign(s, before), assign(s, after)
			moved := 0
			for i := range a {
				if a[i].ID == b[i].ID {
					continue
				}
				moved++
				// Only keys of a removed target, or keys taken by an
				// added target, may move.
				if len(after) > len(before) && b[i].ID != after[len(after)-1].ID {
					t.Fatalf("key %d moved from %s to %s, not to the new target", i, a[i].ID, b[i].ID)
				}
				if len(after) < len(before) && a[i].ID != before[len(before)-1].ID {
					t.Fatalf("key %d moved from %s, which stayed", i, a[i].ID)
				}
			}
			t.Logf("moved %.4f of keys", float64(moved)/keys)
			if share := float64(moved) / keys; share < tc.lo || share > tc.hi {
				t.Errorf("moved %.4f of keys, want %.2f–%.2f", share, tc.lo, tc.hi)
			}
		})
	}
	t.Run("empty key falls back to round robin", func(t *testing.T) {
		s := mustNew(t, ConsistentHash, Options{})
		ts := pool(1, 1, 1)
		for i := range 9 {
			if got := s.Select(ts, ""); got != ts[i%3] {
				t.Fatalf("pick %d = %s, want %s", i, got.ID, ts[i%3].ID)
			}
		}
	})
	t.Run("ring rebuilds only on lasting change", func(t *testing.T) {
		s := mustNew(t, ConsistentHash, Options{}).(*consistentHash)
		ts := pool(1, 2, 1)
		s.Select(ts, "a")
		r := s.ring.Load()
		s.Select(ts, "b")
		s.Select(append([]*Target(nil), ts...), "c") // same pool, new slice
		if s.ring.Load() != r {
			t.Fatal("ring rebuilt for an unchanged pool")
		}
		// Retries alternate a subset with the full pool: no rebuild.
		for i := range 100 {
			s.Select(ts[1:], "d")
			s.Select(ts, fmt.Sprint(i))
		}
		if s.ring.Load() != r {
			t.Fatal("ring rebuilt for retry subsets")
		}
		// A subset that lasts is adopted.
		for range adoptAfter + 1 {
			s.Select(ts[1:], "e")
		}
		if s.ring.Load() == r {
			t.Fatal("ring not rebuilt for a lasting subset")
		}
		// A new target rebuilds at once.
		r = s.ring.Load()
		s.Select(append(ts[1:], NewTarget("i-new", "127.0.0.1:1", 1)), "f")
		if s.ring.Load() == r {
			t.Fatal("ring not rebuilt for a new target")
		}
	})
	t.Run("subset walks to where removal would send the key", func(t *testing.T) {
		ts := pool(make1s(8)...)
		full := mustNew(t, ConsistentHash, Options{})
		fresh := mustNew(t, ConsistentHash, Options{})
		sub := append(append([]*Target(nil), ts[:3]...), ts[4:]...) // without ts[3]
		for i := range 2000 {
			key := fmt.Sprint("k", i)
			full.Select(ts, key) // keep the full ring adopted
			got := full.Select(sub, key)
			want := fresh.Select(sub, key)
			if got != want {
				t.Fatalf("key %s: subset pick %s, ring without the target picks %s", key, got.ID, want.ID)
			}
		}
	})
}

func TestHashKeyIsStable(t *testing.T) {
	// These values must never change: they decide which target a client
	// sticks to across restarts and upgrades.
	tests := []struct {
		key  string
		want uint64
	}{
		{key: "", want: 0xf52a15e9a9b5e89b},
		{key: "10.0.0.1", want: 0x7fb1b600f0f5c6d3},
		{key: "i-0123456789abcdef0", want: 0x5826238b44c76c26},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if got := HashKey(tc.key); got != tc.want {
				t.Errorf("HashKey(%q) = %#x, want %#x", tc.key, got, tc.want)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	before := leakcheck.Take()
	for _, alg := range Algorithms() {
		t.Run(alg, func(t *testing.T) {
			s := mustNew(t, alg, Options{SlowStart: time.Second})
			pools := [][]*Target{pool(1, 2, 3), pool(make1s(20)...)}
			pools[1][3].SetHealthySince(time.Now())
			var wg sync.WaitGroup
			var nils atomic.Int64
			for g := range 8 {
				wg.Go(func() {
					for i := range 3000 {
						ts := pools[(g+i/100)%2]
						p := s.Select(ts, fmt.Sprint(i%64))
						if p == nil {
							nils.Add(1)
							continue
						}
						p.Begin()
						p.End(time.Duration(i%7)*time.Millisecond, i%13 == 0)
					}
				})
			}
			wg.Wait()
			if n := nils.Load(); n != 0 {
				t.Errorf("Select returned nil %d times", n)
			}
			for _, ts := range pools {
				for _, tg := range ts {
					if n := tg.Outstanding(); n != 0 {
						t.Errorf("%s: Outstanding = %d after all requests ended", tg.ID, n)
					}
				}
			}
		})
	}
	if err := leakcheck.Check(5*time.Second, before.Since()); err != nil {
		t.Error(err)
	}
}

func TestSelectDoesNotAllocate(t *testing.T) {
	for _, alg := range Algorithms() {
		for _, n := range []int{3, 100} {
			for _, slow := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%d/slowstart=%v", alg, n, slow), func(t *testing.T) {
					opts := Options{}
					if slow {
						opts.SlowStart = time.Hour
					}
					s := mustNew(t, alg, opts)
					ts := pool(make1s(n)...)
					ts[1].Weight = 3
					ts[0].SetHealthySince(time.Now())
					ts[2].End(time.Millisecond, false)
					s.Select(ts, "warm") // consistent_hash builds its ring once
					allocs := testing.AllocsPerRun(200, func() {
						p := s.Select(ts, "user-42")
						p.Begin()
						p.End(time.Millisecond, false)
					})
					if allocs != 0 {
						t.Errorf("allocs per Select = %v, want 0", allocs)
					}
					// Retries pass the pool without the targets tried.
					allocs = testing.AllocsPerRun(200, func() {
						s.Select(ts[1:], "user-42")
						s.Select(ts, "user-42")
					})
					if allocs != 0 {
						t.Errorf("allocs per retry and Select = %v, want 0", allocs)
					}
				})
			}
		}
	}
}

func BenchmarkSelect(b *testing.B) {
	for _, alg := range Algorithms() {
		for _, n := range []int{3, 100} {
			b.Run(fmt.Sprintf("%s/%d", alg, n), func(b *testing.B) {
				s := mustNew(b, alg, Options{})
				ts := pool(make1s(n)...)
				for i, tg := range ts {
					tg.Weight = 1 + i%3
					tg.End(time.Duration(1+i%5)*time.Millisecond, false)
				}
				keys := make([]string, 256)
				for i := range keys {
					keys[i] = fmt.Sprintf("10.0.%d.%d", i/16, i%16)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					s.Select(ts, keys[i&255])
					i++
				}
			})
		}
	}
}

func BenchmarkSelectParallel(b *testing.B) {
	for _, alg := range Algorithms() {
		b.Run(alg, func(b *testing.B) {
			s := mustNew(b, alg, Options{})
			ts := pool(1, 2, 3, 1, 2, 3)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p := s.Select(ts, "10.0.0.1")
					p.Begin()
					p.End(time.Millisecond, false)
				}
			})
		})
	}
}
