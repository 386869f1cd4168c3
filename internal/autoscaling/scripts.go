package autoscaling

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/madang-dev/madang/internal/logfile"
)

// Script is one AppSpec hook script to run for an instance.
type Script struct {
	// Path is the script's file; Location its path in the appspec.
	Path     string
	Location string
	// Dir is the working directory (the instance's); Env its environment.
	Dir string
	Env []string
	// Timeout bounds the run; RunAs is a user to run as ("" the daemon's).
	Timeout time.Duration
	RunAs   string
	// LogPath is the instance's log, where the output is appended.
	LogPath string
	// Event and Deployment name the lifecycle event and deployment.
	Event      string
	Deployment string
}

// ScriptRunner runs AppSpec hook scripts. Run returns the script's
// combined output; a non-zero exit, a signal or the timeout
// (context.DeadlineExceeded in the chain) is an error.
type ScriptRunner interface {
	Run(ctx context.Context, sc Script) ([]byte, error)
}

// ExecScripts runs scripts as processes: executable files directly
// (their #! line), others with /bin/sh, in their own process group,
// which the timeout kills. Their output is appended to the instance's
// log as madang's notes, each line prefixed with the deployment, event
// and script.
type ExecScripts struct{}

// Run implements ScriptRunner.
func (ExecScripts) Run(ctx context.Context, sc Script) ([]byte, error) {
	tctx, cancel := context.WithTimeout(ctx, sc.Timeout)
	defer cancel()
	args := []string{sc.Path}
	if st, err := os.Stat(sc.Path); err == nil && st.Mode()&0o111 == 0 {
		args = []string{"/bin/sh", sc.Path}
	}
	c := exec.CommandContext(tctx, args[0], args[1:]...)
	c.Dir, c.Env = sc.Dir, sc.Env
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = time.Second
	if sc.RunAs != "" && os.Geteuid() == 0 {
		cred, err := credential(sc.RunAs)
		if err != nil {
			return nil, err
		}
		c.SysProcAttr.Credential = cred
	}
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	start := time.Now()
	err := c.Run()
	took := time.Since(start).Round(time.Millisecond)
	if tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		err = fmt.Errorf("timed out after %s: %w", sc.Timeout, context.DeadlineExceeded)
	}
	note(sc, out.Bytes(), err, took)
	return out.Bytes(), err
}

// note appends a script's run to the instance's log.
func note(sc Script, out []byte, err error, took time.Duration) {
	if sc.LogPath == "" {
		return
	}
	f, ferr := logfile.Open(sc.LogPath, logfile.Options{})
	if ferr != nil {
		return
	}
	defer f.Close()
	prefix := fmt.Sprintf("deployment %s %s %s:", sc.Deployment, sc.Event, sc.Location)
	for l := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
		if l != "" {
			f.Note("%s %s", prefix, l)
		}
	}
	if err != nil {
		f.Note("%s failed after %s: %v", prefix, took, err)
	} else {
		f.Note("%s exited 0 after %s", prefix, took)
	}
}

func credential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("runas %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("runas %q: uid %s gid %s are not numbers", name, u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
