package compute

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// prepareWorkdir gives an instance its own working directory: a clone of
// its image version (files hard-linked, see linkTree), refreshed when the
// version changed.
func (s *Service) prepareWorkdir(in *Instance) error {
	s.mu.Lock()
	im, ok := s.images[in.Image]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("image %s no longer exists", in.Image)
	}
	var ver *ImageVersion
	for i := range im.Versions {
		if im.Versions[i].Number == in.ImageVersion {
			ver = &im.Versions[i]
		}
	}
	if ver == nil {
		return fmt.Errorf("image %s version %d no longer exists", in.Image, in.ImageVersion)
	}
	app := filepath.Join(in.Dir, "app")
	want := in.Image + " " + strconv.Itoa(in.ImageVersion)
	if appImage(in.Dir) == want {
		return nil
	}
	for _, d := range []string{"state", "logs"} {
		if err := os.MkdirAll(filepath.Join(in.Dir, d), 0o755); err != nil {
			return err
		}
	}
	_ = os.RemoveAll(app)
	if err := linkTree(ver.Dir, app); err != nil {
		return fmt.Errorf("copy image %s v%d to %s: %w", in.Image, in.ImageVersion, app, err)
	}
	return markAppImage(in.Dir, want)
}

// The image version an instance's app directory holds ("NAME VERSION")
// is kept as an extended attribute of the directory, written once the
// copy is complete: no file to make per launch. Where the file system
// has no user attributes (tmpfs before Linux 6.6) it is kept in the file
// state/image-version, as it was before.
const (
	appImageAttr = "user.madang.image"
	appImageFile = "image-version"
)

// appImage returns what markAppImage recorded for the instance directory
// dir, or "" when its app directory is incomplete or missing.
func appImage(dir string) string {
	buf := make([]byte, 256)
	if n, err := getAttr(filepath.Join(dir, "app"), buf); err == nil {
		return string(buf[:n])
	}
	if b, err := os.ReadFile(filepath.Join(dir, "state", appImageFile)); err == nil {
		return string(b)
	}
	return ""
}

// markAppImage records that dir's app directory holds image version v.
func markAppImage(dir, v string) error {
	err := unix.Setxattr(filepath.Join(dir, "app"), appImageAttr, []byte(v), 0)
	if err == nil {
		// A file left by an earlier version would outlive a later copy.
		if err := os.Remove(filepath.Join(dir, "state", appImageFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", appImageFile, err)
		}
		return nil
	}
	if !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("mark app directory of %s: %w", dir, err)
	}
	return os.WriteFile(filepath.Join(dir, "state", appImageFile), []byte(v), 0o644)
}

// getAttr reads the mark of the app directory path into buf.
func getAttr(path string, buf []byte) (int, error) { return unix.Getxattr(path, appImageAttr, buf) }
