package compute

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// book returns the host-wide address book.
func (s *Service) book() *AddressBook {
	if s.opts.Addresses != nil {
		return s.opts.Addresses
	}
	return &AddressBook{}
}

// homeID is the home as leases record it: its absolute, clean path.
func (s *Service) homeID() string {
	if abs, err := filepath.Abs(s.opts.Home); err == nil {
		return abs
	}
	return filepath.Clean(s.opts.Home)
}

// claimantLocked is in as a lease holder. s.mu must be held while its
// live func is used.
func (s *Service) claimantLocked(in *Instance) claimant {
	return claimant{
		home: s.homeID(),
		id:   in.ID,
		dir:  in.Dir,
		live: func(id string) bool {
			other, ok := s.instances[id]
			return ok && other.Desired != StateTerminated
		},
	}
}

// allocateLocked gives the new instance in an address leased host-wide,
// avoiding those of used. Its directory is created first: other homes
// tell a live lease by it.
func (s *Service) allocateLocked(in *Instance, imagePort int, used []*Instance) error {
	return s.book().batch(func(l *leases) error { return s.allocateInLocked(l, in, imagePort, used) })
}

// allocateInLocked is allocateLocked in the locked lease directory l, for
// several instances launched together.
func (s *Service) allocateInLocked(l *leases, in *Instance, imagePort int, used []*Instance) error {
	if err := os.MkdirAll(in.Dir, 0o755); err != nil {
		return fmt.Errorf("create instance directory: %w", err)
	}
	ip, port, err := s.book().allocateIn(l, s.opts.AddressMode, s.claimantLocked(in), imagePort, used, s.opts.Now())
	if err != nil {
		if in.PrivateIP == "" {
			_ = os.Remove(in.Dir) // a new instance's empty directory
		}
		return err
	}
	in.PrivateIP, in.Port = ip, port
	return nil
}

// leaseLocked makes sure in holds the lease of its address before it
// starts. If another home's live instance has leased it meanwhile (the
// lease directory was emptied by a reboot, say), in gets a new address;
// moved then describes the move for the event log.
func (s *Service) leaseLocked(in *Instance, imagePort int) (moved string, err error) {
	if in.PrivateIP == "" {
		return "", nil
	}
	err = s.book().claim(s.claimantLocked(in), in.PrivateIP, in.Port, s.opts.Now())
	var conflict *leaseConflict
	if !errors.As(err, &conflict) {
		return "", err
	}
	old := in.Addr()
	var used []*Instance
	for _, other := range s.liveInstancesLocked() {
		if other.ID != in.ID {
			used = append(used, other)
		}
	}
	if err := s.allocateLocked(in, imagePort, used); err != nil {
		return "", fmt.Errorf("%v, and no other address is free: %w", conflict, err)
	}
	return fmt.Sprintf("%v; moved from %s to %s", conflict, old, in.Addr()), nil
}

// releaseAddress gives up in's lease (at terminate).
func (s *Service) releaseAddress(in Instance) {
	if in.PrivateIP == "" {
		return
	}
	s.mu.Lock()
	c := s.claimantLocked(&in)
	s.mu.Unlock()
	if err := s.book().release(c, in.PrivateIP, in.Port); err != nil {
		s.log.Warn("release address", "instance", in.ID, "err", err)
	}
}

// claimAddresses leases the addresses of this home's instances when the
// daemon starts, since the lease directory does not survive a reboot, and
// releases those of terminated instances. An address another home leased
// meanwhile is reported; the instance moves at its next start.
func (s *Service) claimAddresses() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range sortedPtrs(s.instances) {
		if in.PrivateIP == "" {
			continue
		}
		if in.Desired == StateTerminated {
			// A terminate cut short by a crash of the daemon may have
			// left its lease.
			if err := s.book().release(s.claimantLocked(in), in.PrivateIP, in.Port); err != nil {
				s.log.Warn("release address", "instance", in.ID, "err", err)
			}
			continue
		}
		err := s.book().claim(s.claimantLocked(in), in.PrivateIP, in.Port, s.opts.Now())
		var conflict *leaseConflict
		switch {
		case errors.As(err, &conflict):
			s.opts.Events.Warn("instance", in.ID, "%v; it gets another address at its next start", conflict)
		case err != nil:
			s.log.Warn("claim address", "instance", in.ID, "err", err)
		}
	}
}

// sortedPtrs returns a map's values in key order.
func sortedPtrs[T any](m map[string]*T) []*T {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]*T, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
