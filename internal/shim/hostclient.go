package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hostStartTimeout bounds the start of a process host.
const hostStartTimeout = 10 * time.Second

// hostCallTimeout bounds one request to a process host.
const hostCallTimeout = 5 * time.Second

// maxHostConns is how many connections to the host a HostClient uses:
// as many spawns run at once, the others wait for one of them.
const maxHostConns = 4

// HostClient starts shims in a process host (see HostMain), starting the
// host when none answers on its socket and replacing one that runs
// another build of madang: that one is retired (it takes no new shims and
// exits after its last) and a new one is started. Its methods are safe
// for concurrent use; concurrent spawns use connections of their own.
type HostClient struct {
	command []string // the shim command: the madang binary and "shim"
	sock    string
	logPath string
	version string

	startMu sync.Mutex // serializes finding or starting the host

	slots chan struct{} // one per connection in use

	// startedPID is the host this client started last (under startMu):
	// taken as it is, whatever it says its build is, so that concurrent
	// spawns never retire each other's hosts.
	startedPID int

	mu     sync.Mutex
	idle   []*net.UnixConn
	closed bool
}

// NewHostClient returns a client for the host serving on sock (started,
// when needed, as shimCommand + "host", with its own messages appended to
// logPath). It starts nothing yet.
func NewHostClient(shimCommand []string, sock, logPath string) (*HostClient, error) {
	if len(shimCommand) == 0 || shimCommand[0] == "" {
		return nil, errors.New("shim host: the shim command is empty; set it to the madang binary and \"shim\"")
	}
	command := append([]string(nil), shimCommand...)
	// A daemon starts hosts of its own build, even once its binary has been
	// replaced on disk (an upgrade while it runs): /proc/self/exe is the
	// file it runs from, deleted or not.
	if sameFile(command[0], selfExe) {
		command[0] = selfExe
	}
	version, err := ExecutableVersion(command[0])
	if err != nil {
		return nil, fmt.Errorf("shim host: %w", err)
	}
	return &HostClient{command: command, sock: sock, logPath: logPath, version: version, slots: make(chan struct{}, maxHostConns)}, nil
}

// selfExe names the running binary.
const selfExe = "/proc/self/exe"

// sameFile reports whether paths a and b name the same file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// Warm connects to the host, starting it when none runs, so that the
// first spawn does not wait for it.
func (h *HostClient) Warm() error {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	conn, err := h.get()
	if err != nil {
		return err
	}
	h.put(conn)
	return nil
}

// Spawn starts a shim with c (ControlFD unused) and env in the host. ctl
// is the shim's end of its control connection; the host keeps a
// duplicate, so the caller closes it after Spawn returns. The shim's own
// messages go to StateDir/LogFile, which the host creates at the first
// of them. Spawn returns the host's pid and start time.
func (h *HostClient) Spawn(c Config, env []string, ctl *os.File) (pid int, start uint64, err error) {
	c.ControlFD = 0
	req, err := json.Marshal(hostRequest{Op: hostOpSpawn, Config: c, Env: env})
	if err != nil {
		return 0, 0, fmt.Errorf("shim host: encode spawn: %w", err)
	}
	rights := unix.UnixRights(int(fdOf(ctl)))
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	// A host that went away since the connection was made (it exits when
	// it hosts nothing and nobody is connected) is started again once.
	for try := 0; ; try++ {
		conn, err := h.get()
		if err != nil {
			return 0, 0, err
		}
		reply, err := callOn(conn, req, rights)
		if err != nil {
			// The host is gone (it does not exit while a daemon is
			// connected, so it was killed): so are the other idle
			// connections. The next try starts a new one.
			_ = conn.Close()
			h.dropIdle()
			if try == 0 {
				continue
			}
			return 0, 0, fmt.Errorf("shim host: spawn: %w", err)
		}
		h.put(conn)
		if reply.Error != "" {
			return 0, 0, fmt.Errorf("shim host: %s", reply.Error)
		}
		return reply.PID, reply.StartTime, nil
	}
}

// get returns an idle connection to the host, or a new one.
func (h *HostClient) get() (*net.UnixConn, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errors.New("shim host: client closed")
	}
	if n := len(h.idle); n > 0 {
		conn := h.idle[n-1]
		h.idle = h.idle[:n-1]
		h.mu.Unlock()
		return conn, nil
	}
	h.mu.Unlock()
	return h.connect()
}

// dropIdle closes the idle connections.
func (h *HostClient) dropIdle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.idle {
		_ = c.Close()
	}
	h.idle = nil
}

// put keeps conn for the next spawn.
func (h *HostClient) put(conn *net.UnixConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.idle) >= maxHostConns {
		_ = conn.Close()
		return
	}
	h.idle = append(h.idle, conn)
}

// fdOf returns f's descriptor without changing its mode (unlike Fd).
func fdOf(f *os.File) uintptr {
	raw, err := f.SyscallConn()
	if err != nil {
		return ^uintptr(0)
	}
	var fd uintptr
	_ = raw.Control(func(d uintptr) { fd = d })
	return fd
}

// Close disconnects from the host, which goes on running its shims.
func (h *HostClient) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.dropIdle()
	return nil
}

// connect returns a new connection to a host of this build, starting one
// when none serves the socket.
func (h *HostClient) connect() (*net.UnixConn, error) {
	if conn, reply, err := h.dial(); err == nil {
		h.startMu.Lock()
		ours := h.startedPID != 0 && reply.PID == h.startedPID
		h.startMu.Unlock()
		if reply.Version == h.version || ours {
			return conn, nil
		}
		_ = conn.Close()
	}
	h.startMu.Lock()
	defer h.startMu.Unlock()
	// Another spawn may have started it meanwhile.
	if conn, reply, err := h.dial(); err == nil {
		if reply.Version == h.version || (h.startedPID != 0 && reply.PID == h.startedPID) {
			return conn, nil
		}
		// Another build: it keeps its shims, takes no more, and leaves
		// the socket to a new host.
		b, _ := json.Marshal(hostRequest{Op: hostOpRetire})
		_, _ = callOn(conn, b, nil)
		_ = conn.Close()
	}
	if err := h.startHost(); err != nil {
		return nil, err
	}
	conn, reply, err := h.dial()
	if err != nil {
		return nil, fmt.Errorf("shim host: started, but %w", err)
	}
	h.startedPID = reply.PID
	return conn, nil
}

// dial connects to the socket and says hello.
func (h *HostClient) dial() (*net.UnixConn, hostReply, error) {
	var conn *net.UnixConn
	err := withLongPath(h.sock, func(path string) error {
		var err error
		conn, err = net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
		return err
	})
	if err != nil {
		return nil, hostReply{}, fmt.Errorf("connect to %s: %w", h.sock, err)
	}
	b, _ := json.Marshal(hostRequest{Op: hostOpHello})
	reply, err := callOn(conn, b, nil)
	if err != nil {
		_ = conn.Close()
		return nil, hostReply{}, fmt.Errorf("hello to %s: %w", h.sock, err)
	}
	return conn, reply, nil
}

// callOn sends one request packet and reads its reply.
func callOn(conn *net.UnixConn, req, rights []byte) (hostReply, error) {
	_ = conn.SetDeadline(time.Now().Add(hostCallTimeout))
	defer func() { _ = conn.SetDeadline(time.Time{}) }()
	if _, _, err := conn.WriteMsgUnix(req, rights, nil); err != nil {
		return hostReply{}, err
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return hostReply{}, err
	}
	var r hostReply
	if err := json.Unmarshal(buf[:n], &r); err != nil {
		return hostReply{}, fmt.Errorf("bad reply: %w", err)
	}
	return r, nil
}

// startHost starts a host process in a session of its own and waits
// until it serves its socket.
func (h *HostClient) startHost() error {
	if err := os.MkdirAll(filepath.Dir(h.sock), 0o755); err != nil {
		return fmt.Errorf("shim host: %w", err)
	}
	logf, err := os.OpenFile(h.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("shim host: open its log: %w", err)
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("shim host: %w", err)
	}
	defer r.Close()
	args := append(append([]string(nil), h.command[1:]...), "host", "--socket="+h.sock, "--ready-fd=3")
	cmd := exec.Command(h.command[0], args...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		return fmt.Errorf("shim host: start %s: %w", h.command[0], err)
	}
	// Reaped when it exits; it outlives this daemon otherwise.
	go func() { _ = cmd.Wait() }()
	// The host closes its end of the pipe once it serves (or exits).
	_ = r.SetReadDeadline(time.Now().Add(hostStartTimeout))
	_, err = r.Read(make([]byte, 1))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("shim host: did not come up within %s; see %s", hostStartTimeout, h.logPath)
	}
	return nil
}

// withLongPath calls fn with a name for the socket path that fits in a
// socket address: path itself, or, when it is too long, the path through
// an open descriptor of its directory.
func withLongPath(path string, fn func(string) error) error {
	if len(path) <= maxSocketPath {
		return fn(path)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(fmt.Sprintf("/proc/self/fd/%d/%s", fdOf(d), filepath.Base(path)))
}
