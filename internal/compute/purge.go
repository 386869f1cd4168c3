package compute

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/madang-dev/madang/internal/state"
)

// Purge removes every instance, whatever its state or owner: the live
// ones are terminated first, in parallel (each bounded by its own stop
// signal and kill timeout), then every instance is forgotten at once, as
// if it had never run — its record (one store transaction), its directory
// (working copy and logs), its address lease and its supervision. It also
// removes the image directories (built versions, build logs) of images
// that have no record any more. Instances launched while Purge runs (a
// group that was still converging) are purged too. It returns how many
// instances it removed.
//
// Purge is for a clean slate: the caller deletes the groups (instance
// groups, Auto Scaling groups) first, so that nothing launches
// replacements.
func (s *Service) Purge(ctx context.Context) (int, error) {
	removed := 0
	var errs []error
	for {
		s.mu.Lock()
		var live []string
		all := make([]Instance, 0, len(s.instances))
		for id, in := range s.instances {
			all = append(all, *in)
			if in.Desired != StateTerminated || in.State != StateTerminated {
				live = append(live, id)
			}
		}
		s.mu.Unlock()
		if len(all) == 0 {
			break
		}
		errs = append(errs, s.terminateAll(ctx, live))
		n, err := s.forget(ctx, all)
		removed += n
		errs = append(errs, err)
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
	}
	// Records of instances the service does not know (a crash between
	// a record's write and its entry in memory) go too.
	kvs, _, err := s.opts.Store.List(ctx, InstancePrefix)
	errs = append(errs, err)
	var ops []state.Op
	for _, kv := range kvs {
		ops = append(ops, state.Delete(kv.Key))
	}
	if len(ops) > 0 {
		if _, err := s.opts.Store.Txn(ctx, nil, ops); err != nil {
			errs = append(errs, fmt.Errorf("delete instance records: %w", err))
		}
	}
	errs = append(errs, s.removeImageDirs())
	return removed, errors.Join(errs...)
}

// terminateAll terminates the instances ids in parallel.
func (s *Service) terminateAll(ctx context.Context, ids []string) error {
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Terminate(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
				errs[i] = fmt.Errorf("terminate %s: %w", id, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// forget drops the terminated instances ins: from memory, from the store
// (one transaction), their directories, leases and supervision. An
// instance that is not terminated (started again meanwhile) is kept for
// the next round.
func (s *Service) forget(ctx context.Context, ins []Instance) (int, error) {
	var gone []Instance
	var ops []state.Op
	// The put locks: a record being stored (a phase stored behind) is
	// stored before it is deleted, not after.
	ids := make([]string, 0, len(ins))
	for _, in := range ins {
		ids = append(ids, in.ID)
	}
	unlock := s.lockPuts(ids)
	s.mu.Lock()
	for _, in := range ins {
		cur, ok := s.instances[in.ID]
		if !ok {
			continue
		}
		if cur.Desired != StateTerminated || cur.State != StateTerminated {
			continue
		}
		gone = append(gone, *cur)
		delete(s.instances, in.ID)
		delete(s.opLocks, in.ID)
		s.changedLocked()
		ops = append(ops, state.Delete(InstancePrefix+in.ID))
	}
	s.mu.Unlock()
	var errs []error
	if len(ops) > 0 {
		if _, err := s.opts.Store.Txn(ctx, nil, ops); err != nil {
			errs = append(errs, fmt.Errorf("delete instance records: %w", err))
		}
	}
	unlock()
	for _, in := range gone {
		s.sup.Forget(in.ID)
		s.releaseAddress(in)
		if in.Dir != "" {
			if err := os.RemoveAll(in.Dir); err != nil {
				errs = append(errs, fmt.Errorf("remove instance directory: %w", err))
			}
		}
	}
	return len(gone), errors.Join(errs...)
}

// removeImageDirs removes the directories under Home/images of images
// that have no record.
func (s *Service) removeImageDirs() error {
	base := filepath.Join(s.opts.Home, "images")
	ents, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read image directories: %w", err)
	}
	s.mu.Lock()
	var names []string
	for _, e := range ents {
		if _, ok := s.images[e.Name()]; !ok {
			names = append(names, e.Name())
		}
	}
	s.mu.Unlock()
	slices.Sort(names)
	var errs []error
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(base, n)); err != nil {
			errs = append(errs, fmt.Errorf("remove image directory: %w", err))
		}
	}
	return errors.Join(errs...)
}
