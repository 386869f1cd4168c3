package logstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Reset removes every stream of every log group (their files and rotated
// files) and returns how many streams there were. The store stays usable:
// CreateStream and Put start new streams.
func (s *Store) Reset() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.Streams())
	ents, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return 0, fmt.Errorf("logstore: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(s.opts.Dir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("logstore: remove %s: %w", e.Name(), err))
		}
	}
	return n, errors.Join(errs...)
}
