package shim

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// startIn starts cmd. A shim in its own process has joined the instance's
// cgroups already, and its children inherit them; a hosted shim shares
// its process with other instances, so cmd is started inside the
// instance's cgroups instead (startInCgroups).
func (s *shim) startIn(cmd *exec.Cmd) error {
	if !s.pr.hosted || len(s.c.CgroupProcs) == 0 {
		return cmd.Start()
	}
	return startInCgroups(cmd, s.c.CgroupProcs, func(file string, err error) {
		s.log.Note("could not start in cgroup (%s): %v; instance type limits are not enforced", file, err)
	})
}

// startInCgroups starts cmd as a member of the cgroups whose cgroup.procs
// files are procs, from its first instruction on, without moving the
// calling process: a cgroup v2 directory is handed to clone3
// (CLONE_INTO_CGROUP); cgroup v1 hierarchies take single threads, so a
// thread of its own joins them (their tasks files) and forks cmd, which
// inherits the thread's cgroups, and then ends. failed is told of each
// cgroup that could not be joined; cmd then starts without it.
func startInCgroups(cmd *exec.Cmd, procs []string, failed func(file string, err error)) error {
	var tasks []string
	v2 := ""
	for _, p := range procs {
		dir := filepath.Dir(p)
		t := filepath.Join(dir, "tasks")
		if _, err := os.Stat(t); err == nil {
			tasks = append(tasks, t)
		} else if v2 == "" {
			v2 = dir
		}
	}
	if v2 != "" {
		d, err := os.Open(v2)
		if err != nil {
			failed(v2, err)
		} else {
			defer d.Close()
			if cmd.SysProcAttr == nil {
				cmd.SysProcAttr = &syscall.SysProcAttr{}
			}
			cmd.SysProcAttr.UseCgroupFD = true
			cmd.SysProcAttr.CgroupFD = int(d.Fd())
		}
	}
	start := func() error {
		err := cmd.Start()
		if err != nil && cmd.SysProcAttr != nil && cmd.SysProcAttr.UseCgroupFD && cmd.Process == nil {
			// A kernel without CLONE_INTO_CGROUP, or a cgroup that
			// refuses it: start outside the cgroup and move the child in.
			failed(v2, err)
			cmd.SysProcAttr.UseCgroupFD = false
			if err = cmd.Start(); err == nil {
				if werr := os.WriteFile(filepath.Join(v2, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0); werr != nil {
					failed(v2, werr)
				}
			}
		}
		return err
	}
	if len(tasks) == 0 {
		return start()
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread has joined the instance's cgroups,
		// so the runtime ends it with this goroutine.
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The main thread never ends, so it must not join: start
			// outside and move the child in (HostMain keeps the main
			// thread to itself, so a host does not get here).
			runtime.UnlockOSThread()
			err := start()
			if err == nil {
				pid := []byte(strconv.Itoa(cmd.Process.Pid))
				for _, t := range tasks {
					if werr := os.WriteFile(filepath.Join(filepath.Dir(t), "cgroup.procs"), pid, 0); werr != nil {
						failed(t, werr)
					}
				}
			}
			errc <- err
			return
		}
		tid := []byte(strconv.Itoa(unix.Gettid()))
		for _, t := range tasks {
			if err := os.WriteFile(t, tid, 0); err != nil {
				failed(t, err)
			}
		}
		errc <- start()
	}()
	return <-errc
}
