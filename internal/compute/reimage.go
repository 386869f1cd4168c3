package compute

import (
	"errors"
	"os"

	"context"
	"fmt"
	"github.com/madang-dev/madang/internal/appspec"
	"path/filepath"
	"strconv"

	"github.com/madang-dev/madang/internal/fault"
)

// version returns one of the image's kept versions.
func (im *Image) version(n int) (ImageVersion, bool) {
	for _, v := range im.Versions {
		if v.Number == n && n > 0 {
			return v, true
		}
	}
	return ImageVersion{}, false
}

// Reimage installs another version of an instance's image in place (an
// in-place deployment's Install): the process is stopped, the working
// directory becomes a clone of that version, and the version is pinned
// so later starts and reboots keep running it (Instance.ImagePin). The
// instance keeps its id, address, port, tags, zone, logs and restart
// count. It stays stopped; Start starts it on the new version.
func (s *Service) Reimage(ctx context.Context, id string, version int) error {
	in, err := s.get(id)
	if err != nil {
		return err
	}
	if in.Desired == StateTerminated {
		return fault.Invalidf(fault.KindInstance, id, "instance %s is terminated", id)
	}
	s.mu.Lock()
	im, ok := s.images[in.Image]
	var ok2 bool
	if ok {
		_, ok2 = im.version(version)
	}
	s.mu.Unlock()
	if !ok {
		return fault.NotFoundf(fault.KindImage, in.Image, "image %s of instance %s no longer exists", in.Image, id)
	}
	if !ok2 {
		return fault.Invalidf(fault.KindImage, in.Image, "image %s has no version %d", in.Image, version).WithHint("madang images lists the versions kept")
	}
	if err := s.stopProcess(ctx, id, StateStopped); err != nil {
		return err
	}
	l := s.opLock(id)
	l.Lock()
	defer l.Unlock()
	s.mu.Lock()
	p := s.instances[id]
	from := p.ImageVersion
	p.ImagePin, p.ImageVersion = version, version
	s.changedLocked()
	cp := *p
	s.mu.Unlock()
	if err := s.putInstance(ctx, id); err != nil {
		return err
	}
	if err := s.prepareWorkdir(&cp); err != nil {
		return fmt.Errorf("install image %s v%d on %s: %w", cp.Image, version, id, err)
	}
	s.notify(id)
	s.opts.Events.Info("instance", id, "re-imaged in place: image %s v%d → v%d (%s)", cp.Image, from, version, filepath.Join(cp.Dir, "app"))
	return nil
}

// InstanceEnv returns the environment an instance's app runs with
// (PORT, HOST, INSTANCE_ID, INSTANCE_DIR, the launch template's env…).
func (s *Service) InstanceEnv(id string) ([]string, error) {
	in, err := s.get(id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lt, ok := s.templates[in.LaunchTemplate]
	if !ok {
		return nil, fmt.Errorf("launch template %s of instance %s no longer exists", in.LaunchTemplate, id)
	}
	v, ok := lt.Version(strconv.Itoa(in.Resolved))
	if !ok {
		return nil, fmt.Errorf("launch template %s version %d no longer exists", in.LaunchTemplate, in.Resolved)
	}
	return instanceEnv(&in, v.Data), nil
}

// checkAppSpec validates the AppSpec file of a built version (in dir),
// naming the source's file in its errors: a version whose deployments
// would fail on their hooks is not built.
func checkAppSpec(spec *ImageSpec, dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, appspec.FileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("image %s: %w", spec.Name, err)
	}
	if _, err := appspec.Parse(filepath.Join(spec.Source, appspec.FileName), data, dir, appspec.CurrentIdentity()); err != nil {
		return fmt.Errorf("image %s: invalid %s:\n%w", spec.Name, appspec.FileName, err)
	}
	return nil
}
