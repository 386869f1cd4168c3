package metricstore

import (
	"encoding/binary"
	"time"
)

// tier is one resolution of the store, CloudWatch's: its period, how
// long its periods are kept, how many periods a window (one segment file,
// then, once all its periods are sealed, one compacted block file; one
// memory block per series until then) holds, and
// how long after a period ends it is sealed (moved from the mutable hot
// set into the compact blocks; for the rollup tiers, also written to
// disk). Windows are short so that the one kept in memory is small.
type tier struct {
	period    int64 // seconds
	retention int64 // seconds
	window    int64 // periods per window
	lag       int64 // seconds after a period's end before it is sealed
}

// tiers are the 1-second, 1-minute, 5-minute and 1-hour resolutions.
var tiers = [...]tier{
	{period: 1, retention: 3 * 3600, window: 900, lag: 5},       // 15 min
	{period: 60, retention: 15 * 86400, window: 180, lag: 15},   // 3 h
	{period: 300, retention: 63 * 86400, window: 72, lag: 30},   // 6 h
	{period: 3600, retention: 455 * 86400, window: 24, lag: 60}, // 1 day
}

const numTiers = len(tiers)

// floorDiv divides rounding towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// periodOf returns the index of the period of tier k holding unix second
// t.
func periodOf(k int, t int64) int64 { return floorDiv(t, tiers[k].period) }

// windowOf returns the window of tier k holding period p.
func windowOf(k int, p int64) int64 { return floorDiv(p, tiers[k].window) }

// sealedBefore returns tier k's watermark at unix second now: every
// period with a smaller index is sealed.
func sealedBefore(k int, now int64) int64 {
	return periodOf(k, now-tiers[k].lag)
}

// unix returns t's unix second, rounded down.
func unix(t time.Time) int64 { return floorDiv(t.UnixNano(), int64(time.Second)) }

// block holds one window of one series in one tier: the sealed periods'
// records, each a zigzag varint of its period's distance from the
// previous record's, then the record body. A period may have several
// records (late data); readers merge them.
type block struct {
	window int64
	base   int64 // first period of the window
	buf    []byte
	last   int64 // period of the last record
	n      int   // records
}

// appendRec appends a record for period p.
func (b *block) appendRec(p int64, a *agg) {
	prev := b.last
	if b.n == 0 {
		prev = b.base
	}
	b.buf = binary.AppendVarint(b.buf, p-prev)
	b.buf = appendBody(b.buf, a)
	b.last = p
	b.n++
}

// each calls f for every record of the block, in the order written.
func (b *block) each(f func(p int64, r rec) error) error {
	buf := b.buf
	p := b.base
	for len(buf) > 0 {
		d, k := binary.Varint(buf)
		if k <= 0 {
			return errCorrupt
		}
		p += d
		r, rest, err := readBody(buf[k:])
		if err != nil {
			return err
		}
		if err := f(p, r); err != nil {
			return err
		}
		buf = rest
	}
	return nil
}

// String names the tier by its period, e.g. "1m0s".
func (t tier) String() string { return (time.Duration(t.period) * time.Second).String() }
