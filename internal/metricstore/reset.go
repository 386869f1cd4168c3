package metricstore

import (
	"errors"
	"fmt"
	"os"
)

// Reset removes every series and its data, in memory and on disk (the
// series file and every window file), and returns how many series there
// were. The store stays open and usable: the next Put starts new series.
// Files in Options.Dir that are not the store's own are left alone.
func (s *Store) Reset() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	n := len(s.series)
	err := s.disk.reset()
	s.series = map[string]*series{}
	s.byID = map[string][]*series{}
	s.refs = map[uint64]*series{}
	for k := range s.compacted {
		s.compacted[k] = nil
	}
	clear(s.batch)
	s.freeHot = nil
	return n, err
}

// reset closes and removes the series file and every window file.
func (d *disk) reset() error {
	var errs []error
	if d.series != nil {
		errs = append(errs, d.series.Close())
		d.series = nil
	}
	if err := os.Remove(d.path(seriesFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("metricstore: remove %s: %w", d.path(seriesFile), err))
	}
	d.sbytes = 0
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		errs = append(errs, fmt.Errorf("metricstore: read %s: %w", d.dir, err))
	}
	for _, e := range ents {
		if k, ok := parseSegName(e.Name()); ok {
			d.sizes[k] = 0 // so that remove sees it
		}
	}
	for k := range d.sizes {
		errs = append(errs, d.remove(k))
	}
	for k, f := range d.open {
		errs = append(errs, f.Close())
		delete(d.open, k)
	}
	return errors.Join(errs...)
}
