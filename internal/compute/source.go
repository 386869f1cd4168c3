package compute

import (
	"context"
	"fmt"
)

// A start or reboot re-reads an instance's launch template (env, instance
// type, supervision) and runs its image's current version, but it never
// builds: code reaches instances only as a new image version, which
// `madang apply` builds from the image's source directory. The pm2 habit
// `git pull && madang restart NAME` would then quietly run the old code,
// so a start or reboot compares the source directory with the version it
// runs (the fingerprint sourceHash computes for apply) and says so.

// sourceWarnings returns what a start of in should tell the user about
// its image: that the source changed since the version it runs was built,
// and the command that builds and rolls it out.
func (s *Service) sourceWarnings(in Instance) []string {
	s.mu.Lock()
	im, ok := s.images[in.Image]
	var spec ImageSpec
	var ver ImageVersion
	var stackFile, owner string
	if ok {
		spec, stackFile, owner = im.Spec, im.StackFile, im.Owner
		for _, v := range im.Versions {
			if v.Number == in.ImageVersion {
				ver = v
			}
		}
	}
	s.mu.Unlock()
	if !ok || spec.Source == "" || ver.SourceHash == "" {
		return nil
	}
	h, err := sourceHash(spec.Source, spec.Build)
	if err != nil {
		return []string{fmt.Sprintf("could not check image %s's source for changes: %v", spec.Name, err)}
	}
	if h == ver.SourceHash {
		return nil
	}
	how := "madang apply -f " + stackFile
	switch {
	case stackFile != "":
	case owner != "":
		how = fmt.Sprintf("madang apply -f FILE (the stack file of stack %s)", owner)
	default:
		how = "madang apply -f FILE (a stack file with this image)"
	}
	return []string{fmt.Sprintf(
		"the source of image %s (%s) changed after version %d was built, and this instance still runs version %d: start and reboot run built image versions only. Build and roll out the change with: %s",
		spec.Name, spec.Source, ver.Number, ver.Number, how)}
}

// noteSource records the source warnings of instance id's new run on its
// record (the answer to the start or reboot carries them) and in the
// event log.
func (s *Service) noteSource(ctx context.Context, id string) error {
	in, err := s.get(id)
	if err != nil {
		return err
	}
	ws := s.sourceWarnings(in)
	if len(ws) == 0 {
		return nil
	}
	for _, w := range ws {
		s.opts.Events.Warn("instance", id, "%s", w)
	}
	s.mu.Lock()
	cur, ok := s.instances[id]
	if !ok {
		s.mu.Unlock()
		return nil
	}
	cur.Warnings = ws
	s.changedLocked()
	s.mu.Unlock()
	return s.putInstance(ctx, id)
}
