package metricstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/DataDog/sketches-go/ddsketch/mapping"

	"github.com/madang-dev/madang/internal/metric"
)

// DefaultMaxSeries is Options.MaxSeries when it is 0.
const DefaultMaxSeries = 100000

// Options configure a Store.
type Options struct {
	// Dir is the directory of the store's files; Open creates it.
	Dir string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the store's events (default: discarded).
	Logger *slog.Logger
	// MaxSeries is the most series (metric and unit) the store keeps;
	// a Put that would create more fails (default DefaultMaxSeries).
	MaxSeries int
	// Interval is how often the background goroutine seals periods and
	// enforces retention (default 1 s). Negative: no goroutine; the
	// owner calls Maintain (tests with a fake clock do).
	Interval time.Duration
}

// Store is a CloudWatch-like metric store; see the package doc. Its
// methods are safe for concurrent use.
type Store struct {
	now       func() time.Time
	log       *slog.Logger
	maxSeries int
	m         mapping.IndexMapping
	disk      *disk

	mu      sync.RWMutex
	series  map[string]*series   // by seriesKey
	byID    map[string][]*series // by metric.ID.Key, one per unit
	nextRef uint64
	refs    map[uint64]*series
	sealed  [numTiers]int64 // per tier: periods below are sealed
	// compacted are, per tier, the windows written to block files.
	compacted [numTiers]map[int64]bool
	closed    bool
	batch     map[segKey][]byte // per-Put scratch, kept for reuse
	keyBuf    []byte            // scratch for series keys
	aggs      []agg             // scratch for a Put's aggregates
	freeHot   []*hotPeriod      // sealed hot periods, for reuse

	stop chan struct{}
	done chan struct{}
}

// series is one metric stored with one unit.
type series struct {
	ref     uint64
	id      metric.ID // canonical
	idKey   string
	unit    string
	lastPut int64 // unix second of the last datum's arrival
	t       [numTiers]tierData
}

// tierData is a series' data in one tier: the blocks of sealed periods,
// by window, and the hot (still mutable) periods.
type tierData struct {
	blocks []*block
	hot    map[int64]*hotPeriod
}

// hotPeriod is a period not yet sealed. own holds the data stored at
// this tier directly (already on disk in its segments); roll holds the
// data rolled up from finer tiers (written to this tier's segment when
// the period is sealed).
type hotPeriod struct{ own, roll agg }

func seriesKey(idKey, unit string) string { return idKey + "\x00" + unit }

// Open opens (or creates) the store in opts.Dir and recovers its
// history. Unless opts.Interval is negative it starts the goroutine that
// seals periods and enforces retention; Close stops it.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("metricstore: Options.Dir is empty; give the directory for the store's files")
	}
	s := &Store{
		now:       opts.Now,
		log:       opts.Logger,
		maxSeries: opts.MaxSeries,
		m:         newMapping(),
		series:    map[string]*series{},
		byID:      map[string][]*series{},
		refs:      map[uint64]*series{},
		batch:     map[segKey][]byte{},
		nextRef:   1,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxSeries <= 0 {
		s.maxSeries = DefaultMaxSeries
	}
	d, err := openDisk(opts.Dir)
	if err != nil {
		return nil, err
	}
	s.disk = d
	if err := s.recover(); err != nil {
		d.close()
		return nil, err
	}
	if opts.Interval >= 0 {
		iv := opts.Interval
		if iv == 0 {
			iv = time.Second
		}
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.run(iv)
	}
	return s, nil
}

func (s *Store) run(iv time.Duration) {
	defer close(s.done)
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.Maintain(); err != nil {
				s.log.Error("metricstore: maintenance failed", "err", err)
			}
		}
	}
}

// errClosed is returned by the methods of a closed store.
var errClosed = errors.New("metricstore: the store is closed; open it again")

// Put stores data as PutMetricData does: every datum is validated first
// (metric.Validate; errors name "MetricData.member.N…") and nothing is
// stored unless all are valid (nor when writing fails; records already
// written to some of the files may then reappear after a restart). When
// Put returns nil the data has been
// written to the store's files with write(2): it survives the process
// being killed (not the machine losing power before the kernel writes
// it back; Flush forces that).
func (s *Store) Put(data []metric.Datum) error {
	now := s.now()
	for i := range data {
		if err := data[i].Validate(now); err != nil {
			return fmt.Errorf("metricstore: put: %w", metric.WithFieldPrefix(err, fmt.Sprintf("MetricData.member.%d", i+1)))
		}
	}
	nowSec := unix(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	ss, err := s.resolve(data)
	if err != nil {
		return err
	}
	// Disk first, memory after: a failed write leaves memory untouched.
	aggs := s.aggs[:0]
	for i := range data {
		aggs = append(aggs, s.contribution(&data[i]))
	}
	defer func() { clear(aggs); s.aggs = aggs[:0] }()
	for pass := range 2 {
		for i := range data {
			s.add(ss[i], &data[i], &aggs[i], nowSec, pass == 1)
		}
		if pass == 0 {
			if err := s.writeBatch(); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolve finds or creates the series of each datum, refusing to pass
// MaxSeries; new series are logged to the series file in one write.
func (s *Store) resolve(data []metric.Datum) ([]*series, error) {
	ss := make([]*series, len(data))
	var fresh map[string]int
	for i := range data {
		s.keyBuf = data[i].ID.AppendKey(s.keyBuf[:0])
		s.keyBuf = append(s.keyBuf, 0)
		s.keyBuf = append(s.keyBuf, data[i].UnitOrNone()...)
		if se := s.series[string(s.keyBuf)]; se != nil {
			ss[i] = se
			continue
		}
		if fresh == nil {
			fresh = map[string]int{}
		}
		if _, ok := fresh[string(s.keyBuf)]; !ok {
			fresh[string(s.keyBuf)] = i
		}
	}
	if len(fresh) == 0 {
		return ss, nil
	}
	if n := len(s.series) + len(fresh); n > s.maxSeries {
		return nil, fmt.Errorf("metricstore: put: %d new series would make %d, more than MaxSeries %d; raise Options.MaxSeries or send fewer distinct metrics/dimensions",
			len(fresh), n, s.maxSeries)
	}
	buf, start := beginFrame(nil)
	created := make([]*series, 0, len(fresh))
	for i := range data {
		if ss[i] != nil {
			continue
		}
		d := &data[i]
		idKey := d.ID.Key()
		key := seriesKey(idKey, d.UnitOrNone())
		if se := s.series[key]; se != nil { // created for an earlier datum of this Put
			ss[i] = se
			continue
		}
		se := &series{ref: s.nextRef, id: d.ID.Canonical(), idKey: idKey, unit: d.UnitOrNone()}
		s.nextRef++
		s.addSeries(se, key)
		created = append(created, se)
		ss[i] = se
		buf = binary.AppendUvarint(buf, se.ref)
		buf = appendString(buf, se.unit)
		buf = appendID(buf, se.id)
	}
	if err := s.disk.writeSeries(endFrame(buf, start)); err != nil {
		for _, se := range created {
			s.removeSeries(se)
		}
		return nil, err
	}
	return ss, nil
}

func (s *Store) addSeries(se *series, key string) {
	s.series[key] = se
	s.byID[se.idKey] = append(s.byID[se.idKey], se)
	s.refs[se.ref] = se
}

func (s *Store) removeSeries(se *series) {
	delete(s.series, seriesKey(se.idKey, se.unit))
	delete(s.refs, se.ref)
	l := slices.DeleteFunc(s.byID[se.idKey], func(x *series) bool { return x == se })
	if len(l) == 0 {
		delete(s.byID, se.idKey)
	} else {
		s.byID[se.idKey] = l
	}
}

// baseTier returns the finest tier a datum at unix second t is stored
// in: the 1-second tier for high-resolution data it still keeps, the
// 1-minute tier otherwise.
func baseTier(d *metric.Datum, t, now int64) int {
	if d.Resolution() == 1 && t > now-tiers[0].retention+tiers[0].lag {
		return 0
	}
	return 1
}

// add puts one datum into every tier from its base tier up: the base
// tier's record goes to disk now; coarser tiers take it into their hot
// periods (written when sealed) or, for a period already sealed, as a
// record of their own. With apply false it only stages the records for
// disk; with apply true it only changes memory.
func (s *Store) add(se *series, d *metric.Datum, c *agg, now int64, apply bool) {
	if apply {
		se.lastPut = now
	}
	if c.empty() { // every count 0
		return
	}
	t := now
	if !d.Timestamp.IsZero() {
		t = unix(d.Timestamp)
	}
	base := baseTier(d, t, now)
	for k := base; k < numTiers; k++ {
		p := periodOf(k, t)
		hot := p >= s.sealed[k]
		switch {
		case !apply:
			if !hot || k == base {
				s.stage(k, se.ref, p, c)
			}
		case !hot:
			se.block(k, p).appendRec(p, c)
		case k == base:
			s.hot(se, k, p).own.merge(s.m, c)
		default:
			s.hot(se, k, p).roll.merge(s.m, c)
		}
	}
}

// contribution returns a datum's samples as an aggregate.
func (s *Store) contribution(d *metric.Datum) agg {
	var c agg
	switch {
	case d.Value != nil:
		c.addValue(s.m, *d.Value, 1)
	case d.StatisticValues != nil:
		c.addSet(s.m, *d.StatisticValues)
	default:
		for i, v := range d.Values {
			w := 1.0
			if d.Counts != nil {
				w = d.Counts[i]
			}
			c.addValue(s.m, v, w)
		}
	}
	return c
}

// hot returns the hot period p of tier k of se, creating it.
func (s *Store) hot(se *series, k int, p int64) *hotPeriod {
	td := &se.t[k]
	if td.hot == nil {
		td.hot = map[int64]*hotPeriod{}
	}
	hp := td.hot[p]
	if hp == nil {
		if n := len(s.freeHot); n > 0 {
			hp = s.freeHot[n-1]
			s.freeHot = s.freeHot[:n-1]
		} else {
			hp = &hotPeriod{}
		}
		td.hot[p] = hp
	}
	return hp
}

// block returns the block of tier k holding period p, creating it.
func (se *series) block(k int, p int64) *block {
	td := &se.t[k]
	w := windowOf(k, p)
	i, found := slices.BinarySearchFunc(td.blocks, w, func(b *block, w int64) int {
		switch {
		case b.window < w:
			return -1
		case b.window > w:
			return 1
		}
		return 0
	})
	if !found {
		td.blocks = slices.Insert(td.blocks, i, &block{window: w, base: w * tiers[k].window})
	}
	return td.blocks[i]
}

// Segment entries.
const (
	entryRecord = 1 // ref, period offset in window, record body
	entryMarker = 2 // zigzag varint: every period below is sealed
)

// stage adds a record for the current Put's write to tier k's segment.
func (s *Store) stage(k int, ref uint64, p int64, a *agg) {
	w := windowOf(k, p)
	key := segKey{k, w, kindSeg}
	if s.compacted[k][w] {
		key.kind = kindLate
	}
	buf, ok := s.batch[key]
	if !ok || len(buf) == 0 {
		buf, _ = beginFrame(buf[:0])
	}
	buf = append(buf, entryRecord)
	buf = binary.AppendUvarint(buf, ref)
	buf = binary.AppendUvarint(buf, uint64(p-w*tiers[k].window))
	s.batch[key] = appendBody(buf, a)
}

// writeBatch writes the staged records, one frame (one write) per
// segment file.
func (s *Store) writeBatch() error {
	var errs []error
	for key, buf := range s.batch {
		if len(buf) == 0 {
			continue
		}
		if err := s.disk.writeSeg(key, endFrame(buf, frameHeaderMax)); err != nil {
			errs = append(errs, err)
		}
		s.batch[key] = buf[:0]
	}
	if len(s.batch) > 16 { // do not keep scratch for old windows forever
		clear(s.batch)
	}
	return errors.Join(errs...)
}

// Maintain seals the periods whose time has passed (writing the rollup
// tiers' records to disk) and drops data past its tier's retention. The
// background goroutine calls it every Options.Interval.
func (s *Store) Maintain() error {
	now := unix(s.now())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	var errs []error
	for k := range numTiers {
		errs = append(errs, s.seal(k, sealedBefore(k, now)))
	}
	errs = append(errs, s.expire(now))
	for k := range numTiers {
		errs = append(errs, s.compact(k))
	}
	return errors.Join(errs...)
}

// seal seals tier k's hot periods below w. For the rollup tiers their
// rolled-up part is written to the tier's segments, each window's
// records with a marker in the same write, so that recovery knows which
// periods to rebuild from the finer tier.
func (s *Store) seal(k int, w int64) error {
	if w <= s.sealed[k] {
		return nil
	}
	batches := map[int64][]byte{}
	var ps []int64
	for _, se := range s.series {
		td := &se.t[k]
		ps = ps[:0]
		for p := range td.hot {
			if p < w {
				ps = append(ps, p)
			}
		}
		slices.Sort(ps)
		for _, p := range ps {
			hp := td.hot[p]
			delete(td.hot, p)
			if k > 0 && !hp.roll.empty() {
				win := windowOf(k, p)
				buf, ok := batches[win]
				if !ok {
					buf, _ = beginFrame(nil)
				}
				buf = append(buf, entryRecord)
				buf = binary.AppendUvarint(buf, se.ref)
				buf = binary.AppendUvarint(buf, uint64(p-win*tiers[k].window))
				batches[win] = appendBody(buf, &hp.roll)
			}
			hp.own.merge(s.m, &hp.roll)
			if !hp.own.empty() {
				se.block(k, p).appendRec(p, &hp.own)
			}
			*hp = hotPeriod{}
			s.freeHot = append(s.freeHot, hp)
		}
	}
	if k > 0 {
		last := windowOf(k, w-1)
		if _, ok := batches[last]; !ok {
			batches[last], _ = beginFrame(nil)
		}
		wins := make([]int64, 0, len(batches))
		for win := range batches {
			wins = append(wins, win)
		}
		slices.Sort(wins)
		for _, win := range wins {
			mark := min(w, (win+1)*tiers[k].window)
			buf := append(batches[win], entryMarker)
			buf = binary.AppendVarint(buf, mark)
			if err := s.disk.writeSeg(segKey{k, win, kindSeg}, endFrame(buf, frameHeaderMax)); err != nil {
				// Leave the watermark: the periods are sealed in memory,
				// and recovery rebuilds them from the finer tier.
				s.sealed[k] = w
				return err
			}
		}
	}
	s.sealed[k] = w
	return nil
}

// expire drops each tier's windows that ended before its retention, in
// memory and on disk, and the series that can have no data left.
func (s *Store) expire(now int64) error {
	var oldest [numTiers]int64 // first window kept
	for k, tr := range tiers {
		oldest[k] = floorDiv(periodOf(k, now-tr.retention), tr.window)
	}
	for k := range numTiers {
		for w := range s.compacted[k] {
			if w < oldest[k] {
				delete(s.compacted[k], w)
			}
		}
	}
	for _, se := range s.series {
		empty := true
		for k := range numTiers {
			td := &se.t[k]
			i := 0
			for i < len(td.blocks) && td.blocks[i].window < oldest[k] {
				i++
			}
			if i > 0 {
				td.blocks = slices.Delete(td.blocks, 0, i)
			}
			for p := range td.hot {
				if windowOf(k, p) < oldest[k] {
					delete(td.hot, p)
				}
			}
			empty = empty && len(td.blocks) == 0 && len(td.hot) == 0
		}
		if empty && se.lastPut < now-tiers[numTiers-1].retention-tiers[numTiers-1].window*tiers[numTiers-1].period {
			s.removeSeries(se)
		}
	}
	var cur [numTiers]int64
	for k := range numTiers {
		cur[k] = windowOf(k, periodOf(k, now))
	}
	return s.disk.expire(oldest, cur)
}

// Flush forces the store's written data to stable storage (fsync).
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	return s.disk.sync()
}

// Close stops the background goroutine, flushes and closes the files.
// Hot periods need no saving: their data is in the segments already and
// Open rebuilds them.
func (s *Store) Close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.disk.sync()
	return errors.Join(err, s.disk.close())
}

// sealedSec returns the unix second where tier k's sealed periods end
// (math.MinInt64 when nothing is sealed yet).
func (s *Store) sealedSec(k int) int64 {
	if s.sealed[k] == math.MinInt64 {
		return math.MinInt64
	}
	return s.sealed[k] * tiers[k].period
}
