package metricstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sync"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/madang-dev/madang/internal/metric"
)

// A record body is a flags byte and the period's aggregate:
//
//	uniform (all samples equal, Sum == Minimum·SampleCount):
//	    value, then SampleCount unless it is 1
//	otherwise: SampleCount, Sum, Minimum, Maximum
//	then, with flagSketch, the sketch's length and its ddsketch encoding
//
// A number is a zigzag varint when it is an integer of magnitude below
// 2^53 (flagInts), eight little-endian bytes otherwise. A one-sample
// period thus costs its value and one byte.
const (
	flagUniform = 1 << iota
	flagCountOne
	flagInts
	flagNoDist
	flagSketch
)

var errCorrupt = errors.New("corrupt record")

func isInt(v float64) bool {
	return v == math.Trunc(v) && math.Abs(v) < 1<<53
}

func appendNum(b []byte, v float64, ints bool) []byte {
	if ints {
		return binary.AppendVarint(b, int64(v))
	}
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

func readNum(b []byte, ints bool) (float64, []byte, error) {
	if ints {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, nil, errCorrupt
		}
		return float64(v), b[n:], nil
	}
	if len(b) < 8 {
		return 0, nil, errCorrupt
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], nil
}

// appendBody appends the encoding of a (not empty) to b.
func appendBody(b []byte, a *agg) []byte {
	s := a.set
	var flags byte
	uniform := s.Minimum == s.Maximum && s.Sum == s.Minimum*s.SampleCount && a.sk == nil
	nums := []float64{s.SampleCount, s.Sum, s.Minimum, s.Maximum}
	if uniform {
		flags |= flagUniform
		nums = nums[2:3]
		if s.SampleCount == 1 {
			flags |= flagCountOne
		} else {
			nums = append(nums, s.SampleCount)
		}
	}
	ints := true
	for _, v := range nums {
		ints = ints && isInt(v)
	}
	if ints {
		flags |= flagInts
	}
	if a.noDist {
		flags |= flagNoDist
	}
	if a.sk != nil {
		flags |= flagSketch
	}
	b = append(b, flags)
	for _, v := range nums {
		b = appendNum(b, v, ints)
	}
	if a.sk != nil {
		var enc []byte
		a.sk.Encode(&enc, true)
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	}
	return b
}

// rec is a decoded record body; the sketch stays encoded until needed.
type rec struct {
	set    metric.StatSet
	noDist bool
	sketch []byte
}

// readBody decodes one record body from b and returns the rest.
func readBody(b []byte) (rec, []byte, error) {
	var r rec
	if len(b) == 0 {
		return r, nil, errCorrupt
	}
	flags := b[0]
	b = b[1:]
	ints := flags&flagInts != 0
	var err error
	if flags&flagUniform != 0 {
		var v float64
		if v, b, err = readNum(b, ints); err != nil {
			return r, nil, err
		}
		r.set = metric.StatSet{SampleCount: 1, Sum: v, Minimum: v, Maximum: v}
		if flags&flagCountOne == 0 {
			if r.set.SampleCount, b, err = readNum(b, ints); err != nil {
				return r, nil, err
			}
			r.set.Sum = v * r.set.SampleCount
		}
	} else {
		for _, p := range []*float64{&r.set.SampleCount, &r.set.Sum, &r.set.Minimum, &r.set.Maximum} {
			if *p, b, err = readNum(b, ints); err != nil {
				return r, nil, err
			}
		}
	}
	r.noDist = flags&flagNoDist != 0
	if flags&flagSketch != 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return r, nil, errCorrupt
		}
		r.sketch = b[k : k+int(n)]
		b = b[k+int(n):]
	}
	return r, b, nil
}

// mergeRec adds a decoded record to a; with dist false only the
// statistic set is kept (the distribution is marked unknown, so it is
// never used by mistake).
func (a *agg) mergeRec(m mapping.IndexMapping, r rec, dist bool) error {
	if !dist {
		a.set = a.set.Merge(r.set)
		a.dropDist()
		return nil
	}
	o := agg{set: r.set, noDist: r.noDist}
	if r.sketch != nil {
		sk, err := ddsketch.DecodeDDSketch(r.sketch, store.BufferedPaginatedStoreConstructor, m)
		if err != nil {
			return fmt.Errorf("decode sketch: %w", err)
		}
		o.sk = sk
	}
	a.merge(m, &o)
	return nil
}

// A frame holds the entries of one write(2) to a segment or series file:
//
//	frameMagic, uvarint payload length, CRC-32C of the payload, payload
//
// Recovery stops at the first frame that is short or fails its checksum
// (a write torn by a crash) and truncates the file there.
const frameMagic = 0xA7

// castagnoli returns the CRC-32C table, made on first use: making it
// costs a quarter of a millisecond, which every start of the binary (a
// CLI command, an instance shim) would pay otherwise.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// frameHeaderMax is the largest frame header: magic, uvarint, CRC.
const frameHeaderMax = 1 + binary.MaxVarintLen64 + 4

// beginFrame reserves room for a frame header at the end of b and
// returns b and the offset where the payload starts.
func beginFrame(b []byte) ([]byte, int) {
	return append(b, make([]byte, frameHeaderMax)...), len(b) + frameHeaderMax
}

// endFrame writes the header of the frame whose payload starts at start
// and moves the payload up against it.
func endFrame(b []byte, start int) []byte {
	payload := b[start:]
	var hdr [frameHeaderMax]byte
	hdr[0] = frameMagic
	n := 1 + binary.PutUvarint(hdr[1:], uint64(len(payload)))
	binary.LittleEndian.PutUint32(hdr[n:], crc32.Checksum(payload, castagnoli()))
	n += 4
	hstart := start - frameHeaderMax
	copy(b[hstart:], hdr[:n])
	m := copy(b[hstart+n:], payload)
	return b[:hstart+n+m]
}

// readFrame splits the first frame off b; ok is false when b does not
// start with a whole, intact frame.
func readFrame(b []byte) (payload, rest []byte, ok bool) {
	if len(b) < 6 || b[0] != frameMagic {
		return nil, nil, false
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return nil, nil, false
	}
	h := 1 + k + 4
	if uint64(len(b)-h) < n {
		return nil, nil, false
	}
	payload = b[h : h+int(n)]
	if crc32.Checksum(payload, castagnoli()) != binary.LittleEndian.Uint32(b[1+k:]) {
		return nil, nil, false
	}
	return payload, b[h+int(n):], true
}

// appendString appends a length-prefixed string.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func readString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return "", nil, errCorrupt
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

// appendID appends a canonical ID.
func appendID(b []byte, id metric.ID) []byte {
	b = appendString(b, id.Namespace)
	b = appendString(b, id.Name)
	b = binary.AppendUvarint(b, uint64(len(id.Dimensions)))
	for _, d := range id.Dimensions {
		b = appendString(b, d.Name)
		b = appendString(b, d.Value)
	}
	return b
}

func readID(b []byte) (metric.ID, []byte, error) {
	var id metric.ID
	var err error
	if id.Namespace, b, err = readString(b); err != nil {
		return id, nil, err
	}
	if id.Name, b, err = readString(b); err != nil {
		return id, nil, err
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > metric.MaxDimensions {
		return id, nil, errCorrupt
	}
	b = b[k:]
	for range n {
		var d metric.Dimension
		if d.Name, b, err = readString(b); err != nil {
			return id, nil, err
		}
		if d.Value, b, err = readString(b); err != nil {
			return id, nil, err
		}
		id.Dimensions = append(id.Dimensions, d)
	}
	return id, b, nil
}
