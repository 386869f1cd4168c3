package metricstore

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/metric"
)

func TestBodyRoundTrip(t *testing.T) {
	m := newMapping()
	tests := []struct {
		name string
		fill func(a *agg)
		size int // encoded bytes, 0 = not checked
	}{
		{"one integer sample", func(a *agg) { a.addValue(m, 7, 1) }, 2},
		{"one fractional sample", func(a *agg) { a.addValue(m, 0.25, 1) }, 9},
		{"uniform samples", func(a *agg) { a.addValue(m, 3, 5) }, 3},
		{"distinct samples", func(a *agg) { a.addValue(m, 1, 1); a.addValue(m, 2.5, 3) }, 0},
		{"stat set without distribution", func(a *agg) { a.addSet(m, metric.StatSet{SampleCount: 4, Sum: 10, Minimum: 1, Maximum: 4}) }, 0},
		{"negative sample", func(a *agg) { a.addValue(m, -2, 1); a.addValue(m, 2, 1) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a agg
			tt.fill(&a)
			b := appendBody(nil, &a)
			if tt.size > 0 && len(b) != tt.size {
				t.Errorf("%d bytes, want %d", len(b), tt.size)
			}
			r, rest, err := readBody(append(b, 0xEE))
			if err != nil || len(rest) != 1 {
				t.Fatalf("readBody = %v, %d bytes left", err, len(rest))
			}
			var got agg
			if err := got.mergeRec(m, r, true); err != nil {
				t.Fatal(err)
			}
			if got.set != a.set || got.noDist != a.noDist {
				t.Errorf("decoded %+v noDist %v, want %+v noDist %v", got.set, got.noDist, a.set, a.noDist)
			}
			if a.hasDist() && got.quantile(0.5) != a.quantile(0.5) {
				t.Errorf("median %v, want %v", got.quantile(0.5), a.quantile(0.5))
			}
		})
	}
}

// TestTornTail damages the end of the newest segment as a crash during
// a write would and checks that the store opens with the data before it
// and keeps appending after it.
func TestTornTail(t *testing.T) {
	tests := []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"half a frame", func(b []byte) []byte { return append(b, b[:len(b)/2]...) }},
		{"bad checksum", func(b []byte) []byte {
			x := append([]byte(nil), b...)
			x[len(x)-1] ^= 0xFF
			return append(b, x...)
		}},
		{"garbage", func(b []byte) []byte { return append(b, 1, 2, 3) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := newClock(t0)
			s := openTest(t, dir, c)
			if err := s.Put([]metric.Datum{hiRes(cpu, t0, 5)}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			seg := filepath.Join(dir, segKey{0, windowOf(0, periodOf(0, unix(t0))), kindSeg}.name())
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(seg, tt.damage(b), 0o644); err != nil {
				t.Fatal(err)
			}
			s = openTest(t, dir, c)
			if err := s.Put([]metric.Datum{hiRes(cpu, t0.Add(time.Second), 6)}); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			s = openTest(t, dir, c)
			defer s.Close()
			_, vals, _, err := s.Series(cpu, metric.Sum, t0, t0.Add(time.Minute), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(vals) != 2 || vals[0] != 5 || vals[1] != 6 {
				t.Errorf("values %v, want [5 6]", vals)
			}
		})
	}
}
