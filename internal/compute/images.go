package compute

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"

	"github.com/madang-dev/madang/internal/state"
)

// ImageNeedsBuild reports whether PutImage would make a new version.
func (s *Service) ImageNeedsBuild(spec ImageSpec) (bool, error) {
	h, err := sourceHash(spec.Source, spec.Build)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	im, ok := s.images[spec.Name]
	return !ok || im.Current().SourceHash != h || !reflect.DeepEqual(im.Spec, spec), nil
}

// PrepareImage builds a new version of an image if its spec or source
// changed, and returns the record to store (not yet stored) and whether
// anything changed. Building happens before anything is committed, so a
// failed build changes nothing.
func (s *Service) PrepareImage(ctx context.Context, spec ImageSpec, owner string) (*Image, bool, error) {
	h, err := sourceHash(spec.Source, spec.Build)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	old, ok := s.images[spec.Name]
	var im Image
	if ok {
		im = *old
		im.Versions = slices.Clone(old.Versions)
	} else {
		im = Image{ID: newID("ami"), CreatedAt: s.opts.Now()}
	}
	s.mu.Unlock()
	if ok && im.Current().SourceHash == h && reflect.DeepEqual(im.Spec, spec) {
		return old, false, nil
	}
	im.Spec = spec
	im.Owner = owner
	if !ok || im.Current().SourceHash != h {
		n := len(im.Versions) + 1
		if ok {
			n = im.Current().Number + 1
		}
		base := filepath.Join(s.opts.Home, "images", spec.Name)
		v := ImageVersion{Number: n, Dir: filepath.Join(base, "v"+strconv.Itoa(n)), SourceHash: h, BuiltAt: s.opts.Now()}
		if spec.Build != "" {
			v.BuildLog = filepath.Join(base, "build-"+strconv.Itoa(n)+".log")
		}
		s.opts.Events.Info("image", spec.Name, "building version %d from %s", n, spec.Source)
		if err := buildSnapshot(ctx, spec, v.Dir, v.BuildLog, os.Environ()); err != nil {
			s.opts.Events.Error("image", spec.Name, "build failed: %v", err)
			return nil, false, err
		}
		im.Versions = append(im.Versions, v)
		// Keep the last three versions on disk.
		for len(im.Versions) > 3 {
			_ = os.RemoveAll(im.Versions[0].Dir)
			im.Versions = im.Versions[1:]
		}
	}
	return &im, true, nil
}

// Images returns all images sorted by name.
func (s *Service) Images() []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedCopies(s.images)
}

// LaunchTemplates returns all launch templates sorted by name.
func (s *Service) LaunchTemplates() []LaunchTemplate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedCopies(s.templates)
}

// Groups returns all instance groups sorted by name.
func (s *Service) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedCopies(s.groups)
}

// PrepareLaunchTemplate returns the record to store for spec: a new version
// if the data differs from the latest one (which becomes the default), and
// whether anything changed.
func (s *Service) PrepareLaunchTemplate(spec LaunchTemplateSpec, owner string) (*LaunchTemplate, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.templates[spec.Name]
	var lt LaunchTemplate
	if ok {
		lt = *old
		lt.Versions = slices.Clone(old.Versions)
		if reflect.DeepEqual(lt.Versions[len(lt.Versions)-1].Data, spec.LaunchTemplateData) && lt.Description == spec.Description {
			return old, false
		}
	} else {
		lt = LaunchTemplate{Name: spec.Name, ID: newID("lt"), CreatedAt: s.opts.Now()}
	}
	lt.Description = spec.Description
	lt.Owner = owner
	if len(lt.Versions) == 0 || !reflect.DeepEqual(lt.Versions[len(lt.Versions)-1].Data, spec.LaunchTemplateData) {
		lt.Versions = append(lt.Versions, LaunchTemplateVersion{Number: len(lt.Versions) + 1, Data: spec.LaunchTemplateData, CreatedAt: s.opts.Now()})
		lt.DefaultVersion = len(lt.Versions)
	}
	return &lt, true
}

// Change is a batch of compute records to commit together (stack apply).
type Change struct {
	Images          []*Image
	LaunchTemplates []*LaunchTemplate
	Groups          []*Group
	DeleteImages    []string
	DeleteTemplates []string
	DeleteGroups    []string
}

// Ops returns the store operations of the change.
func (c *Change) Ops() ([]state.Op, error) {
	var ops []state.Op
	add := func(key string, v any) error {
		op, err := jsonPut(key, v)
		ops = append(ops, op)
		return err
	}
	for _, im := range c.Images {
		if err := add(ImagePrefix+im.Spec.Name, im); err != nil {
			return nil, err
		}
	}
	for _, lt := range c.LaunchTemplates {
		if err := add(LaunchTemplatePrefix+lt.Name, lt); err != nil {
			return nil, err
		}
	}
	for _, g := range c.Groups {
		if err := add(GroupPrefix+g.Spec.Name, g); err != nil {
			return nil, err
		}
	}
	for _, n := range c.DeleteImages {
		ops = append(ops, state.Delete(ImagePrefix+n))
	}
	for _, n := range c.DeleteTemplates {
		ops = append(ops, state.Delete(LaunchTemplatePrefix+n))
	}
	for _, n := range c.DeleteGroups {
		ops = append(ops, state.Delete(GroupPrefix+n))
	}
	return ops, nil
}

// Committed installs a change that the caller has committed to the store,
// then converges instance groups in the background. Image versions that
// no stored image references any more are removed from disk.
func (s *Service) Committed(c *Change) {
	s.mu.Lock()
	for _, im := range c.Images {
		s.images[im.Spec.Name] = im
	}
	for _, lt := range c.LaunchTemplates {
		s.templates[lt.Name] = lt
	}
	for _, g := range c.Groups {
		s.groups[g.Spec.Name] = g
	}
	var removed []string
	for _, n := range c.DeleteImages {
		if im, ok := s.images[n]; ok {
			removed = append(removed, filepath.Join(s.opts.Home, "images", im.Spec.Name))
		}
		delete(s.images, n)
	}
	for _, n := range c.DeleteTemplates {
		delete(s.templates, n)
	}
	var groups []string
	for _, n := range c.DeleteGroups {
		delete(s.groups, n)
		groups = append(groups, n)
	}
	for _, g := range c.Groups {
		groups = append(groups, g.Spec.Name)
	}
	s.mu.Unlock()
	for _, dir := range removed {
		_ = os.RemoveAll(dir)
	}
	for _, g := range groups {
		s.ReconcileGroup(context.Background(), g)
	}
}
