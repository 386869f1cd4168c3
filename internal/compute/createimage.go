package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/state"
)

// CreateImageRequest is EC2's CreateImage: a new image whose first
// version is a snapshot of an instance's working directory as it is now
// (the files the app wrote included), with the instance's image's
// command and port.
type CreateImageRequest struct {
	InstanceID  string
	Name        string
	Description string
	// NoReboot snapshots while the app runs. By default, as on EC2, the
	// instance is stopped for the snapshot (so no file is half-written)
	// and started again after it.
	NoReboot bool
}

// validImageName reports whether name matches ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$.
// It is not a regexp: compiling that one (its {0,127} unrolls into 127
// nodes) cost every start of the madang binary, each instance's shim
// included, 1 ms and 118 KB at init.
func validImageName(name string) bool {
	if len(name) == 0 || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// CreateImage makes a new image from an instance. The image is made by
// hand: no stack owns it, and launch templates may use it by name.
func (s *Service) CreateImage(ctx context.Context, req CreateImageRequest) (Image, error) {
	if !validImageName(req.Name) {
		return Image{}, fault.Invalidf(fault.KindImage, req.Name, "image name %q is not valid", req.Name).
			WithHint("use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	in, err := s.get(req.InstanceID)
	if err != nil {
		return Image{}, err
	}
	switch in.State {
	case StateRunning, StateStopped:
	default:
		return Image{}, fault.Conflictf(fault.KindInstance, in.ID, "instance %s is %s", in.ID, in.State).
			WithHint("create an image from a running or stopped instance")
	}
	s.mu.Lock()
	src, ok := s.images[in.Image]
	_, taken := s.images[req.Name]
	s.mu.Unlock()
	if !ok {
		return Image{}, fault.NotFoundf(fault.KindImage, in.Image, "the image of instance %s, %s, no longer exists", in.ID, in.Image)
	}
	if taken {
		return Image{}, fault.AlreadyExistsf(fault.KindImage, req.Name, "an image named %q exists", req.Name).
			WithHint("pick another name (madang images lists them)")
	}
	reboot := !req.NoReboot && in.State == StateRunning
	if reboot {
		if err := s.Stop(ctx, in.ID); err != nil {
			return Image{}, fmt.Errorf("stop %s for a consistent image: %w", in.ID, err)
		}
	}
	im, err := s.snapshotInstance(ctx, in, *src, req)
	if reboot {
		if serr := s.Start(ctx, in.ID); serr != nil {
			err = errors.Join(err, fmt.Errorf("start %s again after the image: %w", in.ID, serr))
		}
	}
	if err != nil {
		return Image{}, err
	}
	how := "without a reboot"
	if reboot {
		how = "stopped for the snapshot and started again"
	}
	s.opts.Events.Info("image", req.Name, "created from instance %s (%s)", in.ID, how)
	return im, nil
}

// snapshotInstance copies the instance's working directory into the new
// image's first version and stores the image; the record must not exist.
func (s *Service) snapshotInstance(ctx context.Context, in Instance, src Image, req CreateImageRequest) (Image, error) {
	now := s.opts.Now()
	dir := filepath.Join(s.opts.Home, "images", req.Name, "v1")
	_ = os.RemoveAll(dir)
	if err := copyTree(filepath.Join(in.Dir, "app"), dir); err != nil {
		_ = os.RemoveAll(filepath.Dir(dir))
		return Image{}, fmt.Errorf("snapshot instance %s: %w", in.ID, err)
	}
	im := Image{
		Spec: ImageSpec{Name: req.Name, Source: filepath.Join(in.Dir, "app"), Command: src.Spec.Command, Port: src.Spec.Port,
			Description: req.Description},
		ID:        newID("ami"),
		CreatedAt: now,
		Versions: []ImageVersion{{Number: 1, Dir: dir, SourceHash: "instance " + in.ID + " " + now.UTC().Format("20060102T150405"),
			BuiltAt: now}},
	}
	b, err := json.Marshal(im)
	if err != nil {
		return Image{}, err
	}
	key := ImagePrefix + req.Name
	rev, err := s.opts.Store.Txn(ctx, []state.Compare{{Key: key, ModRevision: 0}}, []state.Op{{Type: state.OpPut, Key: key, Value: b}})
	if err != nil {
		_ = os.RemoveAll(filepath.Dir(dir))
		if errors.Is(err, state.ErrConflict) {
			return Image{}, fault.AlreadyExistsf(fault.KindImage, req.Name, "an image named %q exists", req.Name)
		}
		return Image{}, fmt.Errorf("store image %s: %w", req.Name, err)
	}
	if err := s.Observed(ctx, rev); err != nil {
		return Image{}, err
	}
	return im, nil
}
