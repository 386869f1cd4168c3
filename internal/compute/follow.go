package compute

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/state"
)

// follower is the compute service's informer handler: it keeps the
// images, launch templates and groups maps equal to the store's records
// under /compute/ (instances and group status are written by the service
// itself and are not followed), and wakes the group controller.
type follower struct{ s *Service }

// Reset implements informer.Handler.
func (f follower) Reset(kvs []state.KV, rev int64) {
	s := f.s
	s.mu.Lock()
	s.seenRev = max(s.seenRev, rev)
	s.images = map[string]*Image{}
	s.templates = map[string]*LaunchTemplate{}
	s.groups = map[string]*Group{}
	for _, kv := range kvs {
		s.putLocked(kv)
	}
	s.changedLocked()
	s.mu.Unlock()
	s.sweepImages()
	s.kickGroups()
}

// Apply implements informer.Handler.
func (f follower) Apply(events []state.Event) {
	s := f.s
	var removed []string
	relevant := false
	s.mu.Lock()
	s.seenRev = max(s.seenRev, events[len(events)-1].KV.ModRevision)
	for _, ev := range events {
		if strings.HasPrefix(ev.KV.Key, InstancePrefix) || strings.HasPrefix(ev.KV.Key, GroupStatusPrefix) {
			continue // the service's own records
		}
		relevant = true
		s.changedLocked()
		if ev.Type == state.EventPut {
			s.putLocked(ev.KV)
			continue
		}
		key := ev.KV.Key
		switch {
		case strings.HasPrefix(key, ImagePrefix):
			name := strings.TrimPrefix(key, ImagePrefix)
			delete(s.images, name)
			removed = append(removed, filepath.Join(s.opts.Home, "images", name))
		case strings.HasPrefix(key, LaunchTemplatePrefix):
			delete(s.templates, strings.TrimPrefix(key, LaunchTemplatePrefix))
		case strings.HasPrefix(key, GroupPrefix):
			delete(s.groups, strings.TrimPrefix(key, GroupPrefix))
		}
	}
	s.mu.Unlock()
	if !relevant {
		return
	}
	for _, dir := range removed {
		_ = os.RemoveAll(dir)
	}
	s.sweepImages()
	s.kickGroups()
}

// putLocked installs one stored record; s.mu must be held.
func (s *Service) putLocked(kv state.KV) {
	decode := func(v any) bool {
		if err := json.Unmarshal(kv.Value, v); err != nil {
			s.log.Warn("decode record", "key", kv.Key, "err", err)
			return false
		}
		return true
	}
	switch {
	case strings.HasPrefix(kv.Key, ImagePrefix):
		var im Image
		if decode(&im) {
			s.images[im.Spec.Name] = &im
		}
	case strings.HasPrefix(kv.Key, LaunchTemplatePrefix):
		var lt LaunchTemplate
		if decode(&lt) {
			s.templates[lt.Name] = &lt
		}
	case strings.HasPrefix(kv.Key, GroupPrefix):
		var g Group
		if decode(&g) {
			s.groups[g.Spec.Name] = &g
		}
	}
}

// sweepImages removes version directories older than every version an
// image record keeps. Directories newer than the current version (a build
// whose apply has not committed, or failed) are left for the next build of
// that number, which starts afresh.
func (s *Service) sweepImages() {
	s.mu.Lock()
	var old []string
	for name, im := range s.images {
		if len(im.Versions) == 0 {
			continue
		}
		oldest := im.Versions[0].Number
		base := filepath.Join(s.opts.Home, "images", name)
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			n, ok := versionNumber(e.Name())
			if ok && n < oldest {
				old = append(old, filepath.Join(base, e.Name()))
			}
		}
	}
	s.mu.Unlock()
	for _, p := range old {
		_ = os.RemoveAll(p)
	}
}

// versionNumber parses "v3" and "build-3.log".
func versionNumber(name string) (int, bool) {
	var digits string
	switch {
	case strings.HasPrefix(name, "v"):
		digits = name[1:]
	case strings.HasPrefix(name, "build-") && strings.HasSuffix(name, ".log"):
		digits = strings.TrimSuffix(strings.TrimPrefix(name, "build-"), ".log")
	default:
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}
