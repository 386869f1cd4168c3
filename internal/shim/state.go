package shim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Names of the files a shim keeps in its state directory.
const (
	// StateFile describes the running shim and its latest run of the app
	// (State). The shim writes it shortly after each start of the app
	// (and when user data starts, with AppPID 0), after reporting the
	// start on the control connection; see recordDelay.
	StateFile = "shim.json"
	// ExitFile describes how the latest run of the app ended (ExitStatus),
	// written shortly after the exit is reported, and before the shim
	// exits.
	ExitFile = "exit.json"
	// SocketFile is where shims of earlier versions listened for control
	// connections; shims now listen on ControlAddress, an abstract socket.
	SocketFile = "shim.sock"
	// UserDataDone marks that the user data script has run.
	UserDataDone = "user-data.done"
	// UserDataScript is where the supervisor writes the user data script.
	UserDataScript = "user-data.sh"
	// LogFile receives the shim's own standard output and error.
	LogFile = "shim.log"
	// StopFile, when present, tells a shim not to start the app and to
	// exit once the app has ended: the supervisor creates it before it
	// stops an instance (signal delivery alone could race with the end of
	// the user data script, and a control connection may be missing).
	StopFile = "stop"
)

// State is the content of StateFile.
type State struct {
	ShimPID       int       `json:"shimPid"`
	ShimStartTime uint64    `json:"shimStartTime"` // clock ticks since boot, see procstat.StartTime
	AppPID        int       `json:"appPid"`        // 0 until the app has started
	AppStartTime  uint64    `json:"appStartTime"`
	PGID          int       `json:"pgid"` // the app's process group
	StartedAt     time.Time `json:"startedAt"`
	// Run counts the runs of the app this shim has started: 1 for the
	// first, 0 before it.
	Run int `json:"run"`
	// Fingerprint is Config.Fingerprint: it tells the supervisor whether
	// the shim still runs the instance's current command and environment.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Hosted says the shim runs in a process host (ShimPID is the host,
	// shared with other shims): it must never be signalled, and the shim
	// ends when the host says so (see Host) rather than by exiting.
	Hosted bool `json:"hosted,omitempty"`
	// UserDataPGID is the process group of the running user data script
	// of a hosted shim (0 when none runs); a stop signals it.
	UserDataPGID int `json:"userDataPgid,omitempty"`
}

// ExitStatus is the content of ExitFile.
type ExitStatus struct {
	AppPID int `json:"appPid"`
	// Run is State.Run of the run that ended.
	Run int `json:"run"`
	// Code is the exit code, or -1 when the app was killed by a signal or
	// could not be started.
	Code int `json:"code"`
	// Signal names the signal that killed the app ("SIGKILL"), if any.
	Signal   string    `json:"signal"`
	ExitedAt time.Time `json:"exitedAt"`
	UptimeMS int64     `json:"uptimeMs"`
}

// Uptime returns how long the app ran.
func (e ExitStatus) Uptime() time.Duration {
	return time.Duration(e.UptimeMS) * time.Millisecond
}

// ReadState reads StateFile from a state directory.
func ReadState(stateDir string) (State, error) {
	var s State
	err := readJSON(filepath.Join(stateDir, StateFile), &s)
	return s, err
}

// ReadExit reads ExitFile from a state directory.
func ReadExit(stateDir string) (ExitStatus, error) {
	var e ExitStatus
	err := readJSON(filepath.Join(stateDir, ExitFile), &e)
	return e, err
}

func readJSON(name string, v any) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(name), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", name, err)
	}
	return nil
}

// writeJSONAtomic replaces name with v encoded as JSON so that readers see
// either the old or the new content: write a temporary file, rename it
// over name. Nothing is synced to disk: the files describe processes,
// which a crash of the machine ends too, while a crash of a shim or of
// the daemon leaves what was written in the page cache. After a power
// loss a file may be empty or missing; readers then start afresh, as
// for an instance that never ran (see ReadState). Syncing cost each
// launch two fsyncs and a millisecond or more of CPU on a busy disk.
func writeJSONAtomic(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(name), err)
	}
	b = append(b, '\n')
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(name), err)
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := firstErr(werr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(name), err)
	}
	if err := os.Rename(tmp, name); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(name), err)
	}
	return nil
}

// recordDelay is how long the recorder lets recorded state settle before
// it writes it. A crash of the app and the restart that follows happen
// within it, so no disk work competes with them: replacing a file takes
// from a fraction of a millisecond to milliseconds (ext4 flushes the data
// of a file renamed over another).
const recordDelay = 20 * time.Millisecond

// recorder writes the shim's state files in the background, each with
// writeJSONAtomic, recordDelay after they were recorded (the latest
// content of each file; files in the order they were first recorded).
// The daemon learns everything from the control connection first; the
// files are for daemons that come later. Its goroutine is stopped, after
// writing what is pending, and waited for by close.
type recorder struct {
	dir    string
	jobs   chan recordJob
	done   chan struct{}
	report func(error) // called on the recorder's goroutine
}

type recordJob struct {
	name string
	v    any
}

func newRecorder(dir string, report func(error)) *recorder {
	r := &recorder{dir: dir, jobs: make(chan recordJob, 16), done: make(chan struct{}), report: report}
	go r.run()
	return r
}

func (r *recorder) run() {
	defer close(r.done)
	var order []string
	pending := map[string]any{}
	timer := time.NewTimer(recordDelay)
	timer.Stop()
	defer timer.Stop()
	write := func() {
		for _, name := range order {
			if err := writeJSONAtomic(filepath.Join(r.dir, name), pending[name]); err != nil {
				r.report(err)
			}
		}
		order = order[:0]
		clear(pending)
	}
	for {
		select {
		case j, ok := <-r.jobs:
			if !ok {
				write()
				return
			}
			if len(order) == 0 {
				timer.Reset(recordDelay)
			}
			if _, queued := pending[j.name]; !queued {
				order = append(order, j.name)
			}
			pending[j.name] = j.v
		case <-timer.C:
			write()
		}
	}
}

// record has v (a value, not a pointer) written to the file name in the
// state directory.
func (r *recorder) record(name string, v any) {
	r.jobs <- recordJob{name: name, v: v}
}

// close writes what is pending and stops the goroutine.
func (r *recorder) close() {
	close(r.jobs)
	<-r.done
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
