package compute

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/madang-dev/madang/internal/cgroup"
	"github.com/madang-dev/madang/internal/instancetype"
	"github.com/madang-dev/madang/internal/supervisor"
)

// How an instance's record becomes what the supervisor runs: its
// command, directories, environment, restart policy, readiness probe and
// cgroup.

// specFor builds the supervisor spec of an instance's current run.
func (s *Service) specFor(in *Instance) (supervisor.Spec, error) {
	s.mu.Lock()
	lt, ok := s.templates[in.LaunchTemplate]
	var ver LaunchTemplateVersion
	if in.Launch != nil {
		ver, ok = LaunchTemplateVersion{Data: *in.Launch}, true
	} else if ok {
		if v, vok := lt.Version(strconv.Itoa(in.Resolved)); vok {
			ver = v
		} else {
			ok = false
		}
	}
	im, iok := s.images[in.Image]
	s.mu.Unlock()
	if !ok {
		return supervisor.Spec{}, fmt.Errorf("launch template %s version %d no longer exists", in.LaunchTemplate, in.Resolved)
	}
	if !iok {
		return supervisor.Spec{}, fmt.Errorf("image %s no longer exists", in.Image)
	}
	d := ver.Data
	sv := d.Supervision
	env := instanceEnv(in, d)
	spec := supervisor.Spec{
		ID:             in.ID,
		Dir:            filepath.Join(in.Dir, "app"),
		StateDir:       filepath.Join(in.Dir, "state"),
		LogPath:        filepath.Join(in.Dir, "logs", "instance.log"),
		Command:        im.Spec.Command,
		Env:            env,
		UserData:       d.UserData,
		Restart:        supervisor.Policy(orDefault(string(sv.Restart), string(RestartAlways))),
		MaxRestarts:    sv.MaxRestarts,
		MinUptime:      time.Duration(sv.MinUptime),
		BackoffInitial: time.Duration(sv.BackoffInitial),
		BackoffMax:     time.Duration(sv.BackoffMax),
		ResetAfter:     time.Duration(sv.BackoffResetAfter),
		StopSignal:     signalByName(sv.StopSignal),
		KillTimeout:    time.Duration(sv.KillTimeout),
		Restarts:       in.Restarts,
		Ready: supervisor.Probe{
			Addr:     in.Addr(),
			HTTPPath: sv.Readiness.HTTPPath,
			Timeout:  time.Duration(sv.Readiness.Timeout),
		},
	}
	if s.opts.Cgroups != nil {
		if t, err := instancetype.Lookup(in.InstanceType); err == nil {
			if g, err := s.opts.Cgroups.Create("madang/"+in.ID, cgroup.Limits{CPUs: t.VCPUs, MemoryBytes: t.MemoryMiB << 20}); err == nil {
				spec.CgroupProcs = g.ProcsFiles()
			} else {
				s.log.Warn("cgroup", "instance", in.ID, "err", err)
			}
		}
	}
	return spec, nil
}

// instanceEnv is the environment of an instance's app: the daemon's,
// the instance's own variables, then the launch template's env.
func instanceEnv(in *Instance, d LaunchTemplateData) []string {
	env := baseEnv()
	env = append(env,
		"PORT="+strconv.Itoa(in.Port),
		"HOST="+in.PrivateIP,
		"INSTANCE_ID="+in.ID,
		"INSTANCE_DIR="+in.Dir,
		"MADANG_INSTANCE_ID="+in.ID,
		"MADANG_INSTANCE_TYPE="+in.InstanceType,
	)
	for _, k := range slices.Sorted(maps.Keys(d.Env)) {
		env = append(env, k+"="+d.Env[k])
	}
	return env
}

// Enforcement says whether an instance's type limits are enforced.
func (s *Service) Enforcement(id string) cgroup.Enforcement {
	if s.opts.Cgroups == nil {
		return cgroup.Enforcement{Reason: "cgroups are not available to this daemon"}
	}
	return s.opts.Cgroups.Open("madang/" + id).Enforcement()
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func signalByName(name string) syscall.Signal {
	switch strings.TrimPrefix(strings.ToUpper(name), "SIG") {
	case "INT":
		return syscall.SIGINT
	case "QUIT":
		return syscall.SIGQUIT
	case "HUP":
		return syscall.SIGHUP
	case "USR1":
		return syscall.SIGUSR1
	case "USR2":
		return syscall.SIGUSR2
	case "KILL":
		return syscall.SIGKILL
	default:
		return syscall.SIGTERM
	}
}

// baseEnv is the daemon's environment without madang's own variables,
// which instances do not inherit.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MADANG_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
