package lbmetrics

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"sync/atomic"
)

// TargetResponseTime is counted in logarithmic buckets, the mapping of
// DDSketch (Masson, Rim and Lee, VLDB 2019) with relative accuracy
// α = RelativeAccuracy:
//
//	γ = (1+α)/(1-α)                      ≈ 1.0202, buckets ~2 % wide
//	index(v) = ceil(ln(v) / ln(γ))       v in seconds
//	bucket i = (γ^(i-1), γ^i]
//	value(i) = 2·γ^i / (1+γ) = γ^(i-1)·(1+α)
//
// Every v in bucket i is within α of value(i): |v - value(i)| ≤ α·v. The
// buckets cover MinResponseTime to MaxResponseTime (indexes MinBucket to
// MaxBucket, NumBuckets of them); shorter times count in MinBucket,
// longer ones in MaxBucket, so only those lose the guarantee.
//
// A sketch that uses the same γ receives the buckets losslessly by adding
// count c at value(i) (DDSketch's AddWithCount): value(i) lies strictly
// inside (γ^(i-1), γ^i), so the sketch files it under the same interval
// whether its own index rounds up (as here) or down. sketches-go's
// LogarithmicMapping (NewLogarithmicMapping(0.01)) rounds down: it
// numbers this interval i-1, and its Value(i-1) equals value(i).
const (
	// RelativeAccuracy is α, the relative error of a bucket's value.
	RelativeAccuracy = 0.01
	// MinResponseTime is the smallest response time, in seconds, that
	// keeps the relative error bound; shorter ones count in MinBucket.
	MinResponseTime = 1e-6
	// MaxResponseTime is the largest response time, in seconds, that
	// keeps the relative error bound; longer ones count in MaxBucket.
	MaxResponseTime = 100.0
	// MinBucket is the index of MinResponseTime's bucket.
	MinBucket = -690
	// MaxBucket is the index of MaxResponseTime's bucket.
	MaxBucket = 231
	// NumBuckets is the number of response-time buckets.
	NumBuckets = MaxBucket - MinBucket + 1
)

// gamma is γ, the ratio of a bucket's upper bound to its lower bound.
const gamma = (1 + RelativeAccuracy) / (1 - RelativeAccuracy)

// invLogGamma is 1/ln(γ).
var invLogGamma = 1 / math.Log(gamma)

// upper holds the buckets' upper bounds: upper[k] = γ^(MinBucket+k)
// seconds. It is filled once and only read.
var upper = func() (u [NumBuckets]float64) {
	for k := range u {
		u[k] = math.Exp(float64(MinBucket+k) / invLogGamma)
	}
	return u
}()

// BucketIndex returns the index of the bucket that counts a response time
// of seconds: ceil(ln(seconds)/ln(γ)), clamped to [MinBucket, MaxBucket]
// (zero, negative and NaN times count in MinBucket). It compares seconds
// with the buckets' bounds, γ^i rounded to float64, instead of taking a
// logarithm, which is faster on the request path; a value within a
// rounding error of a bound may fall on either side of it.
func BucketIndex(seconds float64) int {
	if !(seconds > MinResponseTime) {
		return MinBucket
	}
	if seconds >= MaxResponseTime {
		return MaxBucket
	}
	// log2(seconds) from its binary exponent and mantissa, e + m with m
	// in [0, 1), is at most 0.087 below the real one: the guess is a few
	// buckets low at most, and the bounds settle it.
	b := math.Float64bits(seconds)
	log2 := float64(int(b>>52&0x7ff)-1023) + float64(b&(1<<52-1))/(1<<52)
	k := min(max(int(log2*math.Ln2*invLogGamma)-MinBucket, 0), NumBuckets-1)
	for k < NumBuckets-1 && seconds > upper[k] {
		k++
	}
	for k > 0 && seconds <= upper[k-1] {
		k--
	}
	return MinBucket + k
}

// BucketValue returns the representative value of bucket i in seconds,
// 2·γ^i/(1+γ): within RelativeAccuracy of every time the bucket counts.
func BucketValue(i int) float64 {
	return 2 * math.Exp(float64(i)/invLogGamma) / (1 + gamma)
}

// bitmapWords is the number of 64-bit words of a histogram's occupancy
// bitmap.
const bitmapWords = (NumBuckets + 63) / 64

// histogram counts response times in the logarithmic buckets, lock-free.
// used has bit k set once bucket MinBucket+k counted anything, so that
// reading it skips the empty buckets.
type histogram struct {
	used   [bitmapWords]atomic.Uint64
	counts [NumBuckets]atomic.Int64
}

// add counts one response time of seconds.
func (h *histogram) add(seconds float64) {
	k := BucketIndex(seconds) - MinBucket
	h.counts[k].Add(1)
	w, bit := &h.used[k>>6], uint64(1)<<(k&63)
	if w.Load()&bit == 0 {
		w.Or(bit)
	}
}

// nonEmpty returns the number of non-empty buckets.
func (h *histogram) nonEmpty() int {
	n := 0
	for i := range h.used {
		n += bits.OnesCount64(h.used[i].Load())
	}
	return n
}

// appendBuckets appends the non-empty buckets, ascending by index, to dst.
func (h *histogram) appendBuckets(dst Buckets) Buckets {
	for wi := range h.used {
		w := h.used[wi].Load()
		for w != 0 {
			b := bits.TrailingZeros64(w)
			w &^= 1 << b
			k := wi<<6 + b
			if n := h.counts[k].Load(); n != 0 {
				dst = append(dst, Bucket{Index: int32(k + MinBucket), Count: n})
			}
		}
	}
	return dst
}

// Bucket is one response-time bucket: its index (see BucketIndex) and a
// count of responses.
type Bucket struct {
	Index int32 `json:"i"`
	Count int64 `json:"n"`
}

// quantileOf estimates the q-quantile (0 ≤ q ≤ 1) of the responses counted
// in buckets, which must be ascending by index: the value of the bucket
// that holds the response of rank q·(n-1), within RelativeAccuracy of it.
// It returns 0 without responses.
func quantileOf(buckets Buckets, q float64) float64 {
	var total int64
	for _, b := range buckets {
		total += b.Count
	}
	if total == 0 {
		return 0
	}
	rank := int64(q * float64(total-1))
	var cum int64
	for _, b := range buckets {
		cum += b.Count
		if cum > rank {
			return BucketValue(int(b.Index))
		}
	}
	return BucketValue(int(buckets[len(buckets)-1].Index))
}

// Buckets are response-time buckets ascending by index. In JSON they are
// one flat array of index, count pairs, [i0, n0, i1, n1, ...], which
// keeps a snapshot of hundreds of buckets small.
type Buckets []Bucket

// MarshalJSON encodes the buckets as [i0, n0, i1, n1, ...].
func (bs Buckets) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 2+len(bs)*12)
	out = append(out, '[')
	for i, b := range bs {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendInt(out, int64(b.Index), 10)
		out = append(out, ',')
		out = strconv.AppendInt(out, b.Count, 10)
	}
	return append(out, ']'), nil
}

// UnmarshalJSON decodes buckets that MarshalJSON encoded.
func (bs *Buckets) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	body, open := bytes.CutPrefix(data, []byte("["))
	body, closed := bytes.CutSuffix(body, []byte("]"))
	if !open || !closed {
		return fmt.Errorf("response-time buckets: %.40q is not an array of numbers", data)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		*bs = Buckets{}
		return nil
	}
	out := make(Buckets, 0, bytes.Count(body, []byte(","))/2+1)
	var pending int64
	half := false
	for field := range bytes.SplitSeq(body, []byte(",")) {
		field = bytes.TrimSpace(field)
		n, err := strconv.ParseInt(string(field), 10, 64)
		if err != nil {
			return fmt.Errorf("response-time buckets: %w", err)
		}
		if !half {
			if n < MinBucket || n > MaxBucket {
				return fmt.Errorf("response-time buckets: index %d outside [%d, %d]", n, MinBucket, MaxBucket)
			}
			pending, half = n, true
			continue
		}
		out = append(out, Bucket{Index: int32(pending), Count: n})
		half = false
	}
	if half {
		return fmt.Errorf("response-time buckets: an index without a count")
	}
	*bs = out
	return nil
}
