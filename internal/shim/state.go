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
	// StateFile describes the running shim and app (State). It is written
	// when the app has started, and also before user data runs, with
	// AppPID 0.
	StateFile = "shim.json"
	// ExitFile describes how the app ended (ExitStatus).
	ExitFile = "exit.json"
	// UserDataDone marks that the user data script has run.
	UserDataDone = "user-data.done"
	// UserDataScript is where the supervisor writes the user data script.
	UserDataScript = "user-data.sh"
	// LogFile receives the shim's own standard output and error.
	LogFile = "shim.log"
	// StopFile, when present, tells a shim not to start the app: the
	// supervisor creates it before it signals a shim whose app has not
	// started yet (signal delivery alone could race with the end of the
	// user data script).
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
}

// ExitStatus is the content of ExitFile.
type ExitStatus struct {
	AppPID int `json:"appPid"`
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
// either the old or the new content, and the new content survives a
// crash: write a temporary file, fsync it, rename it, fsync the directory.
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
	serr := f.Sync()
	cerr := f.Close()
	if err := firstErr(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(name), err)
	}
	if err := os.Rename(tmp, name); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(name), err)
	}
	d, err := os.Open(filepath.Dir(name))
	if err != nil {
		return fmt.Errorf("sync state dir: %w", err)
	}
	serr = d.Sync()
	cerr = d.Close()
	if err := firstErr(serr, cerr); err != nil {
		return fmt.Errorf("sync state dir: %w", err)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
