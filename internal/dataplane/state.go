package dataplane

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/procstat"
)

// Names of the files a data plane keeps in the madang home.
const (
	// StateFile describes the running data plane (State); it is written
	// once the data plane serves its control socket.
	StateFile = "dataplane.json"
	// SocketFile is the data plane's control socket.
	SocketFile = "dataplane.sock"
	// LogFile receives the data plane's own log, under the home,
	// rotated like instance logs.
	LogFile = "logs/dataplane.log"
	// OutputFile receives the data plane's standard output and error
	// (what the runtime prints when it crashes), under the home.
	OutputFile = "logs/dataplane.out"
	// cursorFile records the last health change the daemon has seen.
	cursorFile = "dataplane.cursor"
)

// State is the content of StateFile.
type State struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime"` // clock ticks since boot, see procstat.StartTime
	// Version and Binary are the madang version and executable the data
	// plane runs; a daemon of another version or binary replaces it.
	Version   string    `json:"version"`
	Binary    string    `json:"binary"`
	StartedAt time.Time `json:"startedAt"`
	// Epoch is the data plane's Status.Epoch; it tells two data planes
	// of one process apart.
	Epoch string `json:"epoch"`
}

// Alive reports whether the process the state names still runs.
func (s State) Alive() bool { return procstat.Alive(s.PID, s.StartTime) }

// Runs reports whether the process runs version from binary, as the file
// it was started from (a binary replaced in place does not count).
func (s State) Runs(version, binary string) bool {
	if s.Version != version || s.Binary != binary {
		return false
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(s.PID) + "/exe")
	if err != nil {
		return true // not readable: trust the state file
	}
	return !strings.HasSuffix(exe, " (deleted)") && exe == binary
}

// ReadState reads StateFile from a madang home.
func ReadState(home string) (State, error) {
	var s State
	b, err := os.ReadFile(filepath.Join(home, StateFile))
	if err != nil {
		return s, fmt.Errorf("read %s: %w", StateFile, err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("decode %s: %w", StateFile, err)
	}
	return s, nil
}

// writeFileAtomic replaces name with b so that readers see the old or the
// new content.
func writeFileAtomic(name string, b []byte, mode os.FileMode) error {
	tmp := name + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(name), err)
	}
	if err := os.Rename(tmp, name); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(name), err)
	}
	return nil
}

func writeState(home string, s State) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode %s: %w", StateFile, err)
	}
	return writeFileAtomic(filepath.Join(home, StateFile), append(b, '\n'), 0o600)
}

// cursor is the content of cursorFile.
type cursor struct {
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

func readCursor(home string) cursor {
	var c cursor
	if b, err := os.ReadFile(filepath.Join(home, cursorFile)); err == nil {
		_ = json.Unmarshal(b, &c)
	}
	return c
}

func writeCursor(home string, c cursor) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(home, cursorFile), b, 0o600)
}
