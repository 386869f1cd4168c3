package metricstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// seriesFile lists the store's series: frames of (ref, unit, ID).
const seriesFile = "series.log"

// lockFile is held (flock) by the process that has the store open.
const lockFile = "LOCK"

// File kinds of a window.
const (
	kindSeg  = iota // segment: frames appended as data arrives
	kindLate        // segment of late records for a compacted window
	kindBlk         // compacted blocks of every series, with an index
)

var kindExt = [...]string{kindSeg: "seg", kindLate: "late", kindBlk: "blk"}

// segKey names a file of one tier's window.
type segKey struct {
	tier   int
	window int64
	kind   int
}

func (k segKey) name() string { return fmt.Sprintf("t%d-%d.%s", k.tier, k.window, kindExt[k.kind]) }

func parseSegName(name string) (segKey, bool) {
	var k segKey
	base, ext, ok := strings.Cut(name, ".")
	if !ok {
		return k, false
	}
	k.kind = slices.Index(kindExt[:], ext)
	if k.kind < 0 {
		return k, false
	}
	if _, err := fmt.Sscanf(base, "t%d-%d", &k.tier, &k.window); err != nil || k.tier < 0 || k.tier >= numTiers {
		return k, false
	}
	return k, k.name() == name
}

// disk is the store's files: the series file and the segments, each
// written only by appending whole frames.
type disk struct {
	dir    string
	lock   *os.File
	series *os.File
	open   map[segKey]*os.File
	sizes  map[segKey]int64 // every window file and its size
	points map[segKey]int64 // records in each block file
	sbytes int64            // size of the series file
}

func openDisk(dir string) (*disk, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("metricstore: create Options.Dir %q: %w; give a writable directory", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metricstore: open the lock file in Options.Dir %q: %w", dir, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("metricstore: Options.Dir %q is in use by another store (lock: %w); close that store or give another directory", dir, err)
	}
	d := &disk{dir: dir, lock: lock, open: map[segKey]*os.File{}, sizes: map[segKey]int64{}, points: map[segKey]int64{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("metricstore: read Options.Dir %q: %w", dir, err)
	}
	for _, e := range ents {
		if k, ok := parseSegName(e.Name()); ok {
			d.sizes[k] = 0
			if info, err := e.Info(); err == nil {
				d.sizes[k] = info.Size()
			}
		}
	}
	return d, nil
}

func (d *disk) path(name string) string { return filepath.Join(d.dir, name) }

// readFrames reads the intact frames of file name and truncates the file
// after the last one (dropping a write torn by a crash).
func (d *disk) readFrames(name string, f func(payload []byte) error) (int64, error) {
	b, err := os.ReadFile(d.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("metricstore: read %s: %w", d.path(name), err)
	}
	rest := b
	for len(rest) > 0 {
		payload, r, ok := readFrame(rest)
		if !ok {
			break
		}
		if err := f(payload); err != nil {
			return 0, fmt.Errorf("metricstore: %s at byte %d: %w", d.path(name), len(b)-len(rest), err)
		}
		rest = r
	}
	good := int64(len(b) - len(rest))
	if len(rest) > 0 {
		if err := os.Truncate(d.path(name), good); err != nil {
			return 0, fmt.Errorf("metricstore: truncate the torn end of %s: %w", d.path(name), err)
		}
	}
	return good, nil
}

func (d *disk) writeSeries(frame []byte) error {
	if d.series == nil {
		f, err := os.OpenFile(d.path(seriesFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("metricstore: open %s: %w", d.path(seriesFile), err)
		}
		d.series = f
	}
	if _, err := d.series.Write(frame); err != nil {
		return fmt.Errorf("metricstore: write %s: %w", d.path(seriesFile), err)
	}
	d.sbytes += int64(len(frame))
	return nil
}

func (d *disk) writeSeg(k segKey, frame []byte) error {
	f := d.open[k]
	if f == nil {
		var err error
		f, err = os.OpenFile(d.path(k.name()), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("metricstore: open segment %s: %w", d.path(k.name()), err)
		}
		d.open[k] = f
	}
	if _, err := f.Write(frame); err != nil {
		return fmt.Errorf("metricstore: write segment %s: %w", d.path(k.name()), err)
	}
	d.sizes[k] += int64(len(frame))
	return nil
}

// expire removes the files of windows before oldest and closes the
// files of windows before the previous one (late data reopens them).
func (d *disk) expire(oldest, cur [numTiers]int64) error {
	var errs []error
	for k, f := range d.open {
		if k.window < cur[k.tier]-1 {
			errs = append(errs, f.Close())
			delete(d.open, k)
		}
	}
	for k := range d.sizes {
		if k.window < oldest[k.tier] {
			if f := d.open[k]; f != nil {
				errs = append(errs, f.Close())
				delete(d.open, k)
			}
			errs = append(errs, d.remove(k))
		}
	}
	return errors.Join(errs...)
}

// remove deletes a window file.
func (d *disk) remove(k segKey) error {
	if f := d.open[k]; f != nil {
		_ = f.Close()
		delete(d.open, k)
	}
	delete(d.sizes, k)
	delete(d.points, k)
	if err := os.Remove(d.path(k.name())); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("metricstore: remove %s: %w", d.path(k.name()), err)
	}
	return nil
}

func (d *disk) bytes() int64 {
	n := d.sbytes
	for _, s := range d.sizes {
		n += s
	}
	return n
}

func (d *disk) sync() error {
	var errs []error
	if d.series != nil {
		errs = append(errs, d.series.Sync())
	}
	for _, f := range d.open {
		errs = append(errs, f.Sync())
	}
	return errors.Join(errs...)
}

func (d *disk) close() error {
	var errs []error
	if d.series != nil {
		errs = append(errs, d.series.Close())
		d.series = nil
	}
	for k, f := range d.open {
		errs = append(errs, f.Close())
		delete(d.open, k)
	}
	if d.lock != nil {
		errs = append(errs, d.lock.Close()) // releases the flock
		d.lock = nil
	}
	return errors.Join(errs...)
}

// recover loads the series file and the segments, tier by tier: records
// of sealed periods become blocks, the rest hot periods; then each
// rollup tier's unsealed periods are rebuilt from the finer tier.
func (s *Store) recover() error {
	n, err := s.disk.readFrames(seriesFile, func(p []byte) error {
		for len(p) > 0 {
			ref, k := binary.Uvarint(p)
			if k <= 0 {
				return errCorrupt
			}
			unit, rest, err := readString(p[k:])
			if err != nil {
				return err
			}
			id, rest, err := readID(rest)
			if err != nil {
				return err
			}
			p = rest
			se := &series{ref: ref, id: id, idKey: id.Key(), unit: unit}
			s.addSeries(se, seriesKey(se.idKey, unit))
			s.nextRef = max(s.nextRef, ref+1)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.disk.sbytes = n
	now := unix(s.now())
	defer func() {
		for _, se := range s.series {
			if se.lastPut == 0 { // data only in block files, or none
				se.lastPut = now
			}
		}
	}()
	keys := make([]segKey, 0, len(s.disk.sizes))
	for k := range s.disk.sizes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b segKey) int {
		if a.tier != b.tier {
			return a.tier - b.tier
		}
		if a.window != b.window {
			return int(a.window - b.window)
		}
		return a.kind - b.kind
	})
	for k := range numTiers {
		var mine []segKey
		for _, key := range keys {
			if key.tier == k {
				mine = append(mine, key)
			}
		}
		if err := s.recoverTier(k, mine, now); err != nil {
			return err
		}
	}
	s.log.Info("metricstore: opened", "dir", s.disk.dir, "series", len(s.series), "bytes", s.disk.bytes())
	return nil
}

func (s *Store) recoverTier(k int, keys []segKey, now int64) error {
	s.sealed[k] = math.MinInt64
	if k == 0 {
		s.sealed[0] = sealedBefore(0, now)
	}
	// Block files first: their windows' segments are leftovers of a
	// compaction cut short after the rename, and their data is in the
	// block file.
	for _, key := range keys {
		if key.kind != kindBlk {
			continue
		}
		f, err := os.Open(s.disk.path(key.name()))
		if err != nil {
			return fmt.Errorf("metricstore: open %s: %w", s.disk.path(key.name()), err)
		}
		_, _, points, sealed, err := blkTail(f, s.disk.sizes[key])
		f.Close()
		if err != nil {
			return fmt.Errorf("metricstore: block file %s is damaged (%w); move it away to open the store without that window", s.disk.path(key.name()), err)
		}
		s.disk.points[key] = int64(points)
		if k > 0 {
			s.sealed[k] = max(s.sealed[k], sealed)
		}
		if s.compacted[k] == nil {
			s.compacted[k] = map[int64]bool{}
		}
		s.compacted[k][key.window] = true
	}
	type file struct {
		key    segKey
		frames [][]byte
	}
	files := make([]file, 0, len(keys))
	for _, key := range keys {
		if key.kind == kindBlk {
			continue
		}
		if key.kind == kindSeg && s.compacted[k][key.window] {
			if err := s.disk.remove(key); err != nil {
				return err
			}
			continue
		}
		// Pass 1: the frames and the watermark.
		f := file{key: key}
		size, err := s.disk.readFrames(key.name(), func(p []byte) error {
			f.frames = append(f.frames, p)
			return eachEntry(p, func(kind byte, ref uint64, off int64, body []byte) {
				if kind == entryMarker && k > 0 {
					s.sealed[k] = max(s.sealed[k], off)
				}
			})
		})
		if err != nil {
			return err
		}
		s.disk.sizes[key] = size
		files = append(files, f)
	}
	// Pass 2: the records.
	for _, f := range files {
		base := f.key.window * tiers[k].window
		for _, p := range f.frames {
			var ferr error
			_ = eachEntry(p, func(kind byte, ref uint64, off int64, body []byte) {
				se := s.refs[ref]
				if kind != entryRecord || se == nil || ferr != nil {
					return
				}
				per := base + off
				se.lastPut = max(se.lastPut, per*tiers[k].period)
				if per < s.sealed[k] {
					b := se.block(k, per)
					prev := b.last
					if b.n == 0 {
						prev = b.base
					}
					b.buf = binary.AppendVarint(b.buf, per-prev)
					b.buf = append(b.buf, body...)
					b.last = per
					b.n++
					return
				}
				r, _, err := readBody(body)
				if err == nil {
					err = s.hot(se, k, per).own.mergeRec(s.m, r, true)
				}
				ferr = err
			})
			if ferr != nil {
				return fmt.Errorf("metricstore: segment %s: %w", s.disk.path(f.key.name()), ferr)
			}
		}
	}
	if k == 0 {
		return nil
	}
	// Rebuild the unsealed periods from tier k-1.
	from := s.sealedSec(k)
	fine := k - 1
	for _, se := range s.series {
		err := s.eachPeriod(se, fine, from, math.MaxInt64, true, func(start int64, a *agg) error {
			s.hot(se, k, periodOf(k, start)).roll.merge(s.m, a)
			return nil
		})
		if err != nil {
			return fmt.Errorf("metricstore: rebuild tier %d of %s: %w", k, se.id, err)
		}
	}
	return nil
}

// eachEntry calls f for each entry of a segment frame: records (kind,
// ref, period offset, body) and markers (kind, 0, watermark, nil).
func eachEntry(p []byte, f func(kind byte, ref uint64, off int64, body []byte)) error {
	for len(p) > 0 {
		kind := p[0]
		p = p[1:]
		switch kind {
		case entryMarker:
			w, k := binary.Varint(p)
			if k <= 0 {
				return errCorrupt
			}
			p = p[k:]
			f(kind, 0, w, nil)
		case entryRecord:
			ref, k := binary.Uvarint(p)
			if k <= 0 {
				return errCorrupt
			}
			off, k2 := binary.Uvarint(p[k:])
			if k2 <= 0 {
				return errCorrupt
			}
			body := p[k+k2:]
			_, rest, err := readBody(body)
			if err != nil {
				return err
			}
			f(kind, ref, int64(off), body[:len(body)-len(rest)])
			p = rest
		default:
			return errCorrupt
		}
	}
	return nil
}
