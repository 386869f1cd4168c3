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
// instance's cgroups instead: through clone3 for cgroup v2, and for cgroup
// v1 from the shim's launcher, a thread that joined the v1 hierarchies at
// the first start and stays for the shim's life.
func (s *shim) startIn(cmd *exec.Cmd) error {
	if !s.pr.hosted || len(s.c.CgroupProcs) == 0 {
		return cmd.Start()
	}
	failed := func(file string, err error) {
		s.log.Note("could not start in cgroup (%s): %v; instance type limits are not enforced", file, err)
	}
	tasks, v2 := splitCgroups(s.c.CgroupProcs)
	start := cgroupStart(cmd, v2, failed)
	if len(tasks) == 0 {
		return start()
	}
	if s.launcher == nil {
		s.launcher = newLauncher(tasks, failed)
	}
	return s.launcher.run(start)
}

// closeLauncher ends the shim's launcher thread, if it has one.
func (s *shim) closeLauncher() {
	if s.launcher != nil {
		s.launcher.close()
		s.launcher = nil
	}
}

// splitCgroups sorts the cgroup.procs files of an instance into the
// tasks files of its cgroup v1 hierarchies and its cgroup v2 directory.
func splitCgroups(procs []string) (tasks []string, v2 string) {
	for _, p := range procs {
		dir := filepath.Dir(p)
		t := filepath.Join(dir, "tasks")
		if _, err := os.Stat(t); err == nil {
			tasks = append(tasks, t)
		} else if v2 == "" {
			v2 = dir
		}
	}
	return tasks, v2
}

// cgroupStart returns a function that starts cmd inside the cgroup v2
// directory v2 (none when ""), from its first instruction on: the
// directory is handed to clone3 (CLONE_INTO_CGROUP); where the kernel or
// the cgroup refuses that, cmd starts outside and is moved in.
func cgroupStart(cmd *exec.Cmd, v2 string, failed func(file string, err error)) func() error {
	return func() error {
		if v2 == "" {
			return cmd.Start()
		}
		d, err := os.Open(v2)
		if err != nil {
			failed(v2, err)
			return cmd.Start()
		}
		defer d.Close()
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(d.Fd())
		err = cmd.Start()
		if err != nil && cmd.Process == nil {
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
}

// A launcher starts processes inside an instance's cgroup v1 hierarchies.
// Those take single threads, and a child inherits the cgroups of the
// thread that forks it, so the launcher is a thread of its own that joins
// them (their tasks files) once and then forks every start, so that a
// restart in place does not join again. The thread never runs anything
// else, and the runtime ends it with the launcher (close).
type launcher struct {
	reqs chan launch
	done chan struct{}
}

type launch struct {
	start func() error
	errc  chan error
}

// newLauncher starts a launcher for the v1 tasks files tasks; failed is
// told of each one it cannot join.
func newLauncher(tasks []string, failed func(file string, err error)) *launcher {
	l := &launcher{reqs: make(chan launch), done: make(chan struct{})}
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			l.serve(tasks, failed)
			return
		}
		// The main thread never ends, so it must not join: while this
		// goroutine holds it, another one runs on another thread.
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
			l.serve(tasks, failed)
		}()
		<-locked
		runtime.UnlockOSThread()
	}()
	return l
}

// serve joins the cgroups on the calling, locked, thread and starts
// what it is asked to until close. It never unlocks the thread: the
// runtime ends it with the goroutine.
func (l *launcher) serve(tasks []string, failed func(file string, err error)) {
	defer close(l.done)
	for _, t := range tasks {
		// "0" is the writing thread itself: the kernel then moves it
		// without the global lock that a move of another thread or of a
		// process takes (it waits for an RCU grace period and every fork
		// in progress, and blocks new forks meanwhile): 0.15 ms instead
		// of 7 ms on an idle machine, and no stall of the apps starting
		// around it.
		if err := os.WriteFile(t, []byte("0"), 0); err != nil {
			failed(t, err)
		}
	}
	for r := range l.reqs {
		r.errc <- r.start()
	}
}

// run calls start on the launcher's thread.
func (l *launcher) run(start func() error) error {
	errc := make(chan error, 1)
	l.reqs <- launch{start: start, errc: errc}
	return <-errc
}

// close ends the launcher and waits for its goroutine (its thread ends
// right after).
func (l *launcher) close() {
	close(l.reqs)
	<-l.done
}
