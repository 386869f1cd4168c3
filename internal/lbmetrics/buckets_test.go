package lbmetrics

import (
	"encoding/json"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"
)

// relErr is |got-want|/want.
func relErr(got, want float64) float64 { return math.Abs(got-want) / want }

// tolerance is RelativeAccuracy plus float rounding at bucket bounds.
const tolerance = RelativeAccuracy * (1 + 1e-9)

func TestBucketMappingError(t *testing.T) {
	// Geometric sweep of [1 µs, 100 s], many points per bucket, plus
	// each bucket's bounds and their neighbours.
	steps := 200000
	ratio := math.Pow(MaxResponseTime/MinResponseTime, 1/float64(steps))
	var worst float64
	check := func(v float64) {
		i := BucketIndex(v)
		if i < MinBucket || i > MaxBucket {
			t.Fatalf("BucketIndex(%g) = %d, outside [%d, %d]", v, i, MinBucket, MaxBucket)
		}
		// The definition, up to rounding at the bounds.
		if want := int(math.Ceil(math.Log(v) / math.Log(gamma))); i != want {
			if b := math.Pow(gamma, float64(min(i, want))); relErr(v, b) > 1e-12 || max(i, want)-min(i, want) != 1 {
				t.Fatalf("BucketIndex(%g) = %d, want ceil(ln v / ln γ) = %d", v, i, want)
			}
		}
		e := relErr(BucketValue(i), v)
		worst = max(worst, e)
		if e > tolerance {
			t.Fatalf("BucketValue(BucketIndex(%g)) = %g: relative error %g > %g", v, BucketValue(i), e, RelativeAccuracy)
		}
	}
	for k, v := 0, MinResponseTime; k <= steps; k, v = k+1, v*ratio {
		check(min(v, MaxResponseTime))
	}
	for i := MinBucket; i <= MaxBucket; i++ {
		upper := math.Pow(gamma, float64(i))
		for _, v := range []float64{upper, math.Nextafter(upper, 0), math.Nextafter(upper, math.Inf(1))} {
			if v >= MinResponseTime && v <= MaxResponseTime {
				check(v)
			}
		}
	}
	t.Logf("worst relative error over [1µs, 100s]: %.6f", worst)
}

func TestBucketIndex(t *testing.T) {
	tests := []struct {
		name    string
		seconds float64
		want    int
	}{
		{name: "zero", seconds: 0, want: MinBucket},
		{name: "negative", seconds: -1, want: MinBucket},
		{name: "NaN", seconds: math.NaN(), want: MinBucket},
		{name: "below the range", seconds: 1e-9, want: MinBucket},
		{name: "range minimum", seconds: MinResponseTime, want: MinBucket},
		{name: "one second", seconds: 1, want: 0},
		{name: "just above one second", seconds: 1.001, want: 1},
		{name: "range maximum", seconds: MaxResponseTime, want: MaxBucket},
		{name: "above the range", seconds: 1e4, want: MaxBucket},
		{name: "infinity", seconds: math.Inf(1), want: MaxBucket},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := BucketIndex(tc.seconds); got != tc.want {
				t.Errorf("BucketIndex(%g) = %d, want %d", tc.seconds, got, tc.want)
			}
		})
	}
}

func TestBucketValueRoundTrip(t *testing.T) {
	for i := MinBucket; i <= MaxBucket; i++ {
		if got := BucketIndex(BucketValue(i)); got != i {
			t.Fatalf("BucketIndex(BucketValue(%d)) = %d", i, got)
		}
	}
	if NumBuckets*8 > 8<<10 {
		t.Errorf("%d buckets take %d bytes, more than 8 KB", NumBuckets, NumBuckets*8)
	}
}

func TestAppendResponseTimes(t *testing.T) {
	tests := []struct {
		name  string
		times []time.Duration
		want  []Bucket
	}{
		{name: "none", times: nil, want: nil},
		{name: "one bucket", times: []time.Duration{time.Second, time.Second}, want: []Bucket{{Index: 0, Count: 2}}},
		{
			name:  "ascending across bitmap words",
			times: []time.Duration{100 * time.Second, 0, time.Millisecond, 0},
			want: []Bucket{
				{Index: MinBucket, Count: 2},
				{Index: int32(BucketIndex(0.001)), Count: 1},
				{Index: MaxBucket, Count: 1},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewGroupStats()
			for _, d := range tc.times {
				s.CountTarget(200, d)
			}
			got := s.AppendResponseTimes(nil)
			if len(got) != len(tc.want) {
				t.Fatalf("buckets = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("buckets = %v, want %v", got, tc.want)
					break
				}
			}
		})
	}
}

func TestCountTargetConcurrent(t *testing.T) {
	s := NewGroupStats()
	const workers, each = 4, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				s.CountTarget(200, time.Duration(w*each+i)*time.Microsecond)
			}
		}()
	}
	wg.Wait()
	var n int64
	for _, b := range s.AppendResponseTimes(nil) {
		n += b.Count
	}
	if n != workers*each || s.RTCount.Load() != workers*each {
		t.Errorf("bucket total %d, RTCount %d; want %d", n, s.RTCount.Load(), workers*each)
	}
}

func TestCountTargetAllocs(t *testing.T) {
	s := NewGroupStats()
	if n := testing.AllocsPerRun(1000, func() { s.CountTarget(200, 3*time.Millisecond) }); n != 0 {
		t.Errorf("CountTarget allocates %v times, want 0", n)
	}
}

func TestQuantile(t *testing.T) {
	s := NewGroupStats()
	for i := 1; i <= 1000; i++ {
		s.CountTarget(200, time.Duration(i)*time.Millisecond)
	}
	buckets := s.AppendResponseTimes(nil)
	tests := []struct {
		name string
		q    float64
		want float64 // seconds: the response at rank q·(n-1)
	}{
		{name: "min", q: 0, want: 0.001},
		{name: "p50", q: 0.5, want: 0.500},
		{name: "p90", q: 0.9, want: 0.900},
		{name: "p99", q: 0.99, want: 0.990},
		{name: "max", q: 1, want: 1.000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := quantileOf(buckets, tc.q); relErr(got, tc.want) > tolerance {
				t.Errorf("quantile %v = %v, want %v within %v", tc.q, got, tc.want, RelativeAccuracy)
			}
		})
	}
	if got := quantileOf(nil, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %v, want 0", got)
	}
}

func BenchmarkCountTarget(b *testing.B) {
	s := NewGroupStats()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := 3 * time.Millisecond
		for pb.Next() {
			s.CountTarget(200, d)
			d += time.Microsecond
		}
	})
}

func TestBucketsJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      Buckets
		json    string
		wantErr bool
	}{
		{name: "none", in: Buckets{}, json: "[]"},
		{name: "pairs", in: Buckets{{Index: MinBucket, Count: 3}, {Index: 0, Count: 1}, {Index: MaxBucket, Count: 1 << 40}}, json: "[-690,3,0,1,231,1099511627776]"},
		{name: "odd count", json: "[1,2,3]", wantErr: true},
		{name: "index out of range", json: "[232,1]", wantErr: true},
		{name: "not numbers", json: `["a",1]`, wantErr: true},
		{name: "spaces", in: nil, json: " [ 1 , 2 ] "},
		{name: "trailing comma", json: "[1,2,]", wantErr: true},
		{name: "not an array", json: `{"i":1}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in != nil {
				b, err := json.Marshal(tc.in)
				if err != nil || string(b) != tc.json {
					t.Fatalf("Marshal = %s, %v; want %s", b, err, tc.json)
				}
			}
			var got Buckets
			err := json.Unmarshal([]byte(tc.json), &got)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Unmarshal(%s) = %v, want an error", tc.json, got)
				}
				return
			}
			want := tc.in
			if want == nil {
				want = Buckets{{Index: 1, Count: 2}}
			}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Unmarshal(%s) = %v, %v; want %v", tc.json, got, err, tc.in)
			}
		})
	}
}
