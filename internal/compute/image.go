package compute

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// sourceHash fingerprints a source directory by its file paths, sizes,
// modes and modification times, plus the build command; reading metadata
// only keeps it fast for large trees. Version-control metadata (.git) is
// skipped.
func sourceHash(dir, build string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "build=%q\n", build)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %o %d %d\n", rel, info.Mode(), info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("scan image source %s: %w", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// copyTree copies the regular files, directories and symlinks under src to
// dst (which must not exist), skipping .git.
func copyTree(src, dst string) error { return cloneTree(src, dst, false) }

// linkTree is copyTree with regular files hard-linked instead of copied
// (falling back to a copy across file systems): instances of one image
// share its files' pages, so fifty instances of an 8 MB binary cost one
// copy of it in memory and on disk. The image snapshot is immutable; an
// instance that rewrites one of its files in place would change it for
// all instances of that image version, so apps should write new files
// (or replace files by rename), as they would on a read-only image.
func linkTree(src, dst string) error { return cloneTree(src, dst, true) }

func cloneTree(src, dst string, link bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == ".git" && rel != "." {
				return filepath.SkipDir
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			if link && os.Link(p, target) == nil {
				return nil
			}
			return copyFile(p, target, info.Mode().Perm())
		default:
			return nil // sockets, fifos, devices are not part of an image
		}
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// BuildError is returned when an image's build command fails; it carries
// the command's last output lines.
type BuildError struct {
	Image    string
	Command  string
	Err      error
	LogPath  string
	LastLine []string
}

// Error implements error.
func (e *BuildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "image %s: build command %q failed: %v (full output in %s)", e.Image, e.Command, e.Err, e.LogPath)
	for _, l := range e.LastLine {
		b.WriteString("\n  | " + l)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *BuildError) Unwrap() error { return e.Err }

// buildSnapshot copies spec.Source into dir and runs the build command
// there, with output to dir/../build-N.log. On failure dir is removed.
func buildSnapshot(ctx context.Context, spec ImageSpec, dir, logPath string, env []string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("image %s: %w", spec.Name, err)
	}
	_ = os.RemoveAll(dir)
	if err := copyTree(spec.Source, dir); err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("image %s: copy %s: %w", spec.Name, spec.Source, err)
	}
	if strings.TrimSpace(spec.Build) == "" {
		return nil
	}
	logf, err := os.Create(logPath)
	if err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("image %s: %w", spec.Name, err)
	}
	defer logf.Close()
	var tail bytes.Buffer
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", spec.Build)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = io.MultiWriter(logf, &tail)
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		_ = os.RemoveAll(dir)
		return &BuildError{Image: spec.Name, Command: spec.Build, Err: err, LogPath: logPath, LastLine: lastLines(tail.String(), 10)}
	}
	return nil
}

func lastLines(s string, n int) []string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines
}
