package shim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The control protocol. A shim listens on an abstract unix socket named
// after its state directory (ControlAddress; and, when started with
// Config.ControlFD, already holds a connection to the daemon that started
// it). Each side writes one JSON object per line.
// Right after a connection is made the shim sends an Event describing
// where it is now; after that it sends an Event at each change, and the
// daemon sends Commands. A shim serves one daemon at a time: a new
// connection replaces the previous one. Without any connection the shim
// goes on as before: it keeps its app running and, once the app has
// ended, waits for a daemon to connect and decide.

// EventKind says what an Event reports.
type EventKind string

// Event kinds.
const (
	// EventStarting: user data is running, or the app has not started yet.
	EventStarting EventKind = "starting"
	// EventStarted: the app is running; State describes it.
	EventStarted EventKind = "started"
	// EventExited: the latest run of the app has ended (Exit says how) and
	// the shim waits for OpStart or OpQuit, unless Final is set.
	EventExited EventKind = "exited"
)

// Event is a message from a shim to its daemon.
type Event struct {
	Kind EventKind `json:"kind"`
	// State is what StateFile says (the running or the latest run).
	State State `json:"state"`
	// Exit is how the latest run ended (EventExited).
	Exit *ExitStatus `json:"exit,omitempty"`
	// Final says the shim will not start the app again: it was told to
	// quit (OpQuit, SIGTERM or StopFile) and exits once the app has ended.
	Final bool `json:"final,omitempty"`
}

// Op is what a Command asks for.
type Op string

// Command operations.
const (
	// OpStart starts the app again (run Run+1), in the same working
	// directory with the same environment and command, provided run Run
	// is the latest and has ended. Otherwise the shim ignores it and
	// answers with an Event describing where it is.
	OpStart Op = "start"
	// OpQuit tells the shim not to start the app again and to exit once
	// the app has ended, at once if it is not running. It does not stop
	// the app.
	OpQuit Op = "quit"
)

// Command is a message from the daemon to a shim.
type Command struct {
	Op  Op  `json:"op"`
	Run int `json:"run,omitempty"`
}

// sendTimeout bounds a write to a control connection, so a stuck peer
// never blocks the other side for long.
const sendTimeout = time.Second

// maxSocketPath is the longest socket path dialed directly; longer ones
// (sun_path holds 108 bytes) are reached through /proc/self/fd.
const maxSocketPath = 100

// ControlAddress returns the name of the control socket of the shim whose
// state directory is stateDir: an abstract unix socket (Linux), so that a
// shim makes no file for it and a dead shim leaves nothing behind. The
// name holds the instance (the state directory's parent) for ss -xl, and
// a hash of the directory's real path, which the daemon that starts a
// shim and a later one that adopts it compute alike.
func ControlAddress(stateDir string) string {
	dir, err := filepath.Abs(stateDir)
	if err == nil {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			dir = real
		}
	} else {
		dir = stateDir
	}
	sum := sha256.Sum256([]byte(dir))
	inst := filepath.Base(filepath.Dir(dir))
	if len(inst) > 40 {
		inst = inst[:40]
	}
	return "@madang-shim/" + inst + "/" + hex.EncodeToString(sum[:12])
}

// Dial connects to the control socket of the shim whose state directory
// is stateDir: ControlAddress, or StateDir/SocketFile, where shims of
// earlier versions listen.
func Dial(stateDir string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("unix", ControlAddress(stateDir), timeout)
	if err == nil {
		return c, nil
	}
	if _, serr := os.Lstat(filepath.Join(stateDir, SocketFile)); serr == nil {
		ferr := withSocketPath(stateDir, func(path string) error {
			var err error
			c, err = net.DialTimeout("unix", path, timeout)
			return err
		})
		if ferr == nil {
			return c, nil
		}
		err = ferr
	}
	return nil, fmt.Errorf("dial shim control socket: %w", err)
}

// withSocketPath calls fn with a path naming SocketFile in dir that fits
// in a socket address.
func withSocketPath(dir string, fn func(path string) error) error {
	path := filepath.Join(dir, SocketFile)
	if len(path) <= maxSocketPath {
		return fn(path)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), SocketFile))
}

// received is a command read from a connection.
type received struct {
	conn net.Conn
	cmd  Command
}

// control is the shim's side of the control protocol. Its goroutines
// (one accepting, one reading each connection) hand connections and
// commands to the shim's loop, which owns cur and does all writing.
type control struct {
	ln    *net.UnixListener // nil when the socket could not be made
	conns chan net.Conn
	cmds  chan received
	stop  chan struct{}
	wg    sync.WaitGroup

	cur net.Conn // the current connection; used by the loop only
}

// newControl listens on ControlAddress(stateDir). A failure to listen
// (another shim of the same directory holds the name) is returned along
// with a usable control (without a listener): the shim still works, but a
// restarted daemon cannot reach it.
func newControl(stateDir string) (*control, error) {
	c := &control{
		conns: make(chan net.Conn),
		cmds:  make(chan received),
		stop:  make(chan struct{}),
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: ControlAddress(stateDir), Net: "unix"})
	if err != nil {
		return c, fmt.Errorf("listen on control socket: %w", err)
	}
	c.ln = ln
	c.wg.Add(1)
	go c.accept()
	return c, nil
}

// accept hands accepted connections from the same user (or root) to the
// loop.
func (c *control) accept() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors or the like: try again shortly.
			select {
			case <-c.stop:
				return
			case <-time.After(10 * time.Millisecond):
				continue
			}
		}
		if !trustedPeer(conn) {
			_ = conn.Close()
			continue
		}
		select {
		case c.conns <- conn:
		case <-c.stop:
			_ = conn.Close()
			return
		}
	}
}

// trustedPeer reports whether the process at the other end of conn runs
// as this shim's user or as root.
func trustedPeer(conn *net.UnixConn) bool {
	raw, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	cerr := raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if cerr != nil || err != nil {
		return false
	}
	return cred.Uid == 0 || int(cred.Uid) == os.Getuid()
}

// attach makes conn the current connection, replacing (and closing) the
// previous one, and starts reading its commands.
func (c *control) attach(conn net.Conn) {
	if c.cur != nil {
		_ = c.cur.Close()
	}
	c.cur = conn
	c.wg.Add(1)
	go c.read(conn)
}

// read hands conn's commands to the loop until conn ends.
func (c *control) read(conn net.Conn) {
	defer c.wg.Done()
	dec := json.NewDecoder(conn)
	for {
		var cmd Command
		if err := dec.Decode(&cmd); err != nil {
			// The daemon went away, or spoke nonsense: drop the connection.
			_ = conn.Close()
			return
		}
		select {
		case c.cmds <- received{conn: conn, cmd: cmd}:
		case <-c.stop:
			return
		}
	}
}

// send writes ev to the current connection, dropping the connection if
// the write fails.
func (c *control) send(ev Event) {
	if c.cur == nil {
		return
	}
	_ = c.cur.SetWriteDeadline(time.Now().Add(sendTimeout))
	if err := json.NewEncoder(c.cur).Encode(ev); err != nil {
		_ = c.cur.Close()
		c.cur = nil
	}
}

// close stops listening, closes the connection and waits for the
// goroutines.
func (c *control) close() {
	close(c.stop)
	if c.ln != nil {
		_ = c.ln.Close()
	}
	if c.cur != nil {
		_ = c.cur.Close()
	}
	c.wg.Wait()
}
