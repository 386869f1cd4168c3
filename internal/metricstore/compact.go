package metricstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"slices"
)

// A block file holds one window of one tier for every series, written
// once every period of the window is sealed (so only about one window per
// tier stays in memory):
//
//	blocks, one after another (the memory encoding)
//	index: per series, sorted by ref: ref u64, offset u32, length u32, records u32
//	tail:  entries u32, index offset u64, records u64, watermark i64,
//	       CRC-32C of index u32, blkMagic u32
//
// The watermark is the tier's sealed watermark when the file was written
// (the segment removed with it may have held the newest marker).
// It is written to a temporary file, synced and renamed, and then the
// window's segment file is removed; records arriving later for the window
// go to its .late segment. Queries read the index and the one block they
// need with pread.
const (
	blkMagic    = 0x314b424d // "MBK1"
	blkEntry    = 20
	blkTailSize = 4 + 8 + 8 + 8 + 4 + 4
)

// compact writes the block files of tier k's windows whose periods are
// all sealed and that are still in memory, then drops them from memory.
func (s *Store) compact(k int) error {
	if s.sealed[k] == math.MinInt64 {
		return nil
	}
	keep := floorDiv(s.sealed[k], tiers[k].window) // first window not all sealed
	wins := map[int64]bool{}
	for _, se := range s.series {
		for _, b := range se.t[k].blocks {
			if b.window < keep && !s.compacted[k][b.window] {
				wins[b.window] = true
			}
		}
	}
	for key := range s.disk.sizes { // windows whose data all expired from memory
		if key.tier == k && key.kind == kindSeg && key.window < keep && !s.compacted[k][key.window] {
			wins[key.window] = true
		}
	}
	order := make([]int64, 0, len(wins))
	for w := range wins {
		order = append(order, w)
	}
	slices.Sort(order)
	for _, w := range order {
		if err := s.compactWindow(k, w); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) compactWindow(k int, w int64) error {
	type entry struct {
		se *series
		b  *block
	}
	var es []entry
	for _, se := range s.series {
		for _, b := range se.t[k].blocks {
			if b.window == w && b.n > 0 {
				es = append(es, entry{se, b})
			}
		}
	}
	slices.SortFunc(es, func(a, b entry) int {
		switch {
		case a.se.ref < b.se.ref:
			return -1
		case a.se.ref > b.se.ref:
			return 1
		}
		return 0
	})
	var buf, index []byte
	var points int64
	for _, e := range es {
		index = binary.LittleEndian.AppendUint64(index, e.se.ref)
		index = binary.LittleEndian.AppendUint32(index, uint32(len(buf)))
		index = binary.LittleEndian.AppendUint32(index, uint32(len(e.b.buf)))
		index = binary.LittleEndian.AppendUint32(index, uint32(e.b.n))
		buf = append(buf, e.b.buf...)
		points += int64(e.b.n)
	}
	indexOff := len(buf)
	buf = append(buf, index...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(es)))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(indexOff))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(points))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(s.sealed[k]))
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(index, castagnoli()))
	buf = binary.LittleEndian.AppendUint32(buf, blkMagic)
	key := segKey{k, w, kindBlk}
	if err := writeFileAtomic(s.disk.path(key.name()), buf); err != nil {
		return err
	}
	s.disk.sizes[key] = int64(len(buf))
	s.disk.points[key] = points
	if err := s.disk.remove(segKey{k, w, kindSeg}); err != nil {
		return err
	}
	if s.compacted[k] == nil {
		s.compacted[k] = map[int64]bool{}
	}
	s.compacted[k][w] = true
	for _, e := range es {
		td := &e.se.t[k]
		td.blocks = slices.DeleteFunc(td.blocks, func(b *block) bool { return b == e.b })
	}
	return nil
}

// writeFileAtomic writes b to path through a synced temporary file and a
// rename, so that path is either absent or whole.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("metricstore: create %s: %w", tmp, err)
	}
	_, err = f.Write(b)
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("metricstore: write %s: %w", path, err)
	}
	return nil
}

// blkTail reads a block file's tail: entries, index offset and records.
func blkTail(f *os.File, size int64) (n uint32, indexOff, points uint64, sealed int64, err error) {
	var tail [blkTailSize]byte
	if size < blkTailSize {
		return 0, 0, 0, 0, errCorrupt
	}
	if _, err := f.ReadAt(tail[:], size-blkTailSize); err != nil {
		return 0, 0, 0, 0, err
	}
	if binary.LittleEndian.Uint32(tail[32:]) != blkMagic {
		return 0, 0, 0, 0, errCorrupt
	}
	n = binary.LittleEndian.Uint32(tail[0:])
	indexOff = binary.LittleEndian.Uint64(tail[4:])
	points = binary.LittleEndian.Uint64(tail[12:])
	sealed = int64(binary.LittleEndian.Uint64(tail[20:]))
	if indexOff+uint64(n)*blkEntry+blkTailSize != uint64(size) {
		return 0, 0, 0, 0, errCorrupt
	}
	return n, indexOff, points, sealed, nil
}

// readBlk returns series ref's block of tier k's compacted window w (nil
// when the series has no data there).
func (s *Store) readBlk(k int, w int64, ref uint64) (*block, error) {
	key := segKey{k, w, kindBlk}
	path := s.disk.path(key.name())
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metricstore: open %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("metricstore: %s: %w", path, err)
	}
	n, indexOff, _, _, err := blkTail(f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("metricstore: %s: tail: %w", path, err)
	}
	index := make([]byte, int(n)*blkEntry)
	if _, err := f.ReadAt(index, int64(indexOff)); err != nil {
		return nil, fmt.Errorf("metricstore: %s: index: %w", path, err)
	}
	tail := make([]byte, 4)
	if _, err := f.ReadAt(tail, info.Size()-8); err != nil {
		return nil, fmt.Errorf("metricstore: %s: %w", path, err)
	}
	if crc32.Checksum(index, castagnoli()) != binary.LittleEndian.Uint32(tail) {
		return nil, fmt.Errorf("metricstore: %s: index checksum: %w", path, errCorrupt)
	}
	lo, hi := 0, int(n)
	for lo < hi {
		m := (lo + hi) / 2
		if binary.LittleEndian.Uint64(index[m*blkEntry:]) < ref {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo >= int(n) || binary.LittleEndian.Uint64(index[lo*blkEntry:]) != ref {
		return nil, nil
	}
	e := index[lo*blkEntry:]
	off, length, recs := binary.LittleEndian.Uint32(e[8:]), binary.LittleEndian.Uint32(e[12:]), binary.LittleEndian.Uint32(e[16:])
	b := &block{window: w, base: w * tiers[k].window, buf: make([]byte, length), n: int(recs)}
	if _, err := f.ReadAt(b.buf, int64(off)); err != nil {
		return nil, fmt.Errorf("metricstore: %s: block: %w", path, err)
	}
	return b, nil
}
