package shim

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/madang-dev/madang/internal/procstat"
)

// A process host runs the shims of many instances in one long-lived
// process, as pm2's God daemon runs its apps: starting an instance then
// costs a goroutine and the app's own start rather than the exec of a
// whole madang binary per instance. A hosted shim behaves as a shim in a
// process of its own does (the same control socket, state files, log,
// restarts in place), with three differences recorded in State.Hosted:
// its ShimPID is the host's, which must never be signalled; it ends by
// closing its control connection rather than by exiting; and its
// children are started inside the instance's cgroups (see startIn)
// instead of the shim joining them.
//
// The daemon reaches the host on a unix packet socket (HostClient). Each
// packet is one JSON hostRequest or hostReply; a spawn request carries
// the shim's end of its control connection as SCM_RIGHTS (the shim
// makes its own log, StateDir/LogFile, at its first message). The host exits once it hosts no shim and no daemon is
// connected; SIGTERM or SIGINT tells every shim to quit (as it tells a
// shim in its own process) and the host exits when they have.

// Host operations.
const (
	hostOpHello  = "hello"  // who is there: pid, start time, version
	hostOpSpawn  = "spawn"  // start a shim
	hostOpRetire = "retire" // take no more shims; exit after the last one
)

// hostRequest is a packet from a daemon to the host.
type hostRequest struct {
	Op string `json:"op"`
	// Config and Env describe the shim to spawn (Config.ControlFD is
	// unused: the control connection comes with the packet).
	Config Config   `json:"config,omitzero"`
	Env    []string `json:"env,omitempty"`
}

// hostReply answers a hostRequest.
type hostReply struct {
	Error     string `json:"error,omitempty"`
	PID       int    `json:"pid,omitempty"`
	StartTime uint64 `json:"startTime,omitempty"`
	Version   string `json:"version,omitempty"`
	Shims     int    `json:"shims,omitempty"`
}

// maxHostPacket bounds a request (a shim's configuration and
// environment: a few KiB as a rule).
const maxHostPacket = 256 << 10

// hostIdleTimeout is how long a host that was started but never reached
// waits for its first daemon before it exits.
const hostIdleTimeout = 10 * time.Second

// host is a running process host.
type host struct {
	ln      *net.UnixListener
	path    string
	ino     uint64 // of the socket file, so a retired host leaves a successor's alone
	pid     int
	start   uint64
	version string
	stderr  io.Writer

	mu       sync.Mutex
	shims    map[string]*hostShim // by state directory
	clients  int
	retired  bool
	stopping bool
	empty    chan struct{} // signalled when shims and clients may both be zero
}

// HostMain runs a process host with the given command-line arguments
// (after "shim host") and returns the process exit code.
func HostMain(args []string) int {
	fs := flag.NewFlagSet("madang shim host", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sock := fs.String("socket", "", "unix socket to serve daemons on")
	readyFD := fs.Int("ready-fd", 0, "inherited descriptor closed once the socket is served")
	if err := fs.Parse(args); err != nil || *sock == "" || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "shim host: usage: madang shim host --socket PATH [--ready-fd N]")
		return 2
	}
	// The main goroutine keeps the main thread: the launcher threads that
	// start apps inside cgroups end with their shims (see launcher), and
	// the main thread cannot.
	runtime.LockOSThread()
	tuneHostGC()
	// Started as /proc/self/exe, the host would show as "exe" in top and
	// ps -o comm.
	setProcessName("madang-shimhost")
	// Handled rather than ignored, so that apps start with the default
	// dispositions (see run).
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	defer signal.Stop(sigs)
	h, err := listenHost(*sock, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "shim host:", err)
		return 1
	}
	if *readyFD >= 3 {
		_ = os.NewFile(uintptr(*readyFD), "ready").Close()
	}
	fmt.Fprintf(os.Stderr, "%s shim host: pid %d serving %s\n", time.Now().UTC().Format(time.RFC3339Nano), h.pid, *sock)
	h.serve(sigs)
	fmt.Fprintf(os.Stderr, "%s shim host: pid %d exiting: no shim left and no daemon connected\n", time.Now().UTC().Format(time.RFC3339Nano), h.pid)
	return 0
}

// The host's garbage collector, unless GOGC or GOMEMLIMIT says
// otherwise. The host forks every app, and a fork holds its thread's P
// until the child has exec'd (vfork), so a collection whose
// stop-the-world falls in a burst of launches waits for the forks while
// its other Ps spin: 16 ms, and 32 ms of CPU, per collection in a launch
// of 50 (GODEBUG=gctrace=1). The heap is small (5 MiB for 50 shims), so
// the host lets it grow 5x between collections, which takes a launch of
// 50 without one, and holds it under a soft limit beyond that.
const (
	hostGCPercent   = 400
	hostMemoryLimit = 256 << 20
)

// tuneHostGC sets the host's collector (see hostGCPercent).
func tuneHostGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(hostGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(hostMemoryLimit)
	}
}

// listenHost serves a new host on the unix packet socket path.
func listenHost(path string, stderr io.Writer) (*host, error) {
	pid := os.Getpid()
	start, err := procstat.StartTime(pid)
	if err != nil {
		return nil, err
	}
	// The file this process runs from, even if it has been replaced.
	version, err := ExecutableVersion(selfExe)
	if err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale host socket: %w", err)
	}
	var ln *net.UnixListener
	err = withLongPath(path, func(name string) error {
		var err error
		ln, err = net.ListenUnix("unixpacket", &net.UnixAddr{Name: name, Net: "unixpacket"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("restrict host socket: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("stat host socket: %w", err)
	}
	return &host{
		ln: ln, path: path, ino: st.Ino, pid: pid, start: start, version: version, stderr: stderr,
		shims: make(map[string]*hostShim),
		empty: make(chan struct{}, 1),
	}, nil
}

// ExecutableVersion identifies the binary at path (its inode, size and
// modification time), so that a daemon can tell a host running another
// build of madang from one running its own.
func ExecutableVersion(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("stat %s: %w", path, err)
	}
	return fmt.Sprintf("%x.%x.%x.%x", st.Dev, st.Ino, st.Size, st.Mtim.Nano()), nil
}

// serve accepts daemons until the host is done: nothing hosted, nobody
// connected (or never anybody, for hostIdleTimeout).
func (h *host) serve(sigs <-chan os.Signal) {
	go h.accept()
	idle := time.NewTimer(hostIdleTimeout)
	defer idle.Stop()
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGTERM || sig == syscall.SIGINT {
				fmt.Fprintf(h.stderr, "%s shim host: %v: telling every shim to quit; exiting once their apps have ended\n", time.Now().UTC().Format(time.RFC3339Nano), sig)
				h.shutdown(sig)
			}
		case <-idle.C:
		case <-h.empty:
		}
		if h.done() {
			h.retire()
			return
		}
	}
}

// done reports whether the host has nothing left to do; the idle timer
// covers a host that has not been reached yet.
func (h *host) done() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.shims) == 0 && h.clients == 0
}

// shutdown passes a stop signal to every shim and takes no new ones.
func (h *host) shutdown(sig os.Signal) {
	h.retire()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopping = true
	for _, s := range h.shims {
		select {
		case s.sigs <- sig:
		default:
		}
	}
	h.poke()
}

// poke has serve check whether the host is done. Call with h.mu held
// or not; it never blocks.
func (h *host) poke() {
	select {
	case h.empty <- struct{}{}:
	default:
	}
}

// retire stops accepting daemons and removes the socket, unless another
// host has taken its path since.
func (h *host) retire() {
	h.mu.Lock()
	if h.retired {
		h.mu.Unlock()
		return
	}
	h.retired = true
	h.mu.Unlock()
	_ = h.ln.Close()
	var st unix.Stat_t
	if unix.Stat(h.path, &st) == nil && st.Ino == h.ino {
		_ = os.Remove(h.path)
	}
}

// accept serves each daemon that connects.
func (h *host) accept() {
	for {
		conn, err := h.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !trustedPeer(conn) {
			_ = conn.Close()
			continue
		}
		h.mu.Lock()
		h.clients++
		h.mu.Unlock()
		go h.client(conn)
	}
}

// client answers one daemon's requests until it disconnects.
func (h *host) client(conn *net.UnixConn) {
	defer func() {
		_ = conn.Close()
		h.mu.Lock()
		h.clients--
		h.mu.Unlock()
		h.poke()
	}()
	buf := make([]byte, 16<<10)
	oob := make([]byte, unix.CmsgSpace(2*4))
	for {
		// Peek at the packet's size, so a large one is read whole.
		if size, err := packetSize(conn); err == nil && size > len(buf) && size <= maxHostPacket {
			buf = make([]byte, size)
		}
		n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			return
		}
		files, ferr := receivedFiles(oob[:oobn])
		var req hostRequest
		reply := hostReply{PID: h.pid, StartTime: h.start, Version: h.version}
		switch err := json.Unmarshal(buf[:n], &req); {
		case flags&unix.MSG_TRUNC != 0:
			reply.Error = fmt.Sprintf("request of more than %d bytes; the shim's configuration and environment must be smaller", n)
		case ferr != nil:
			reply.Error = ferr.Error()
		case err != nil:
			reply.Error = "bad request: " + err.Error()
		default:
			reply.Error = h.handle(req, files)
		}
		for _, f := range files {
			_ = f.Close() // handle keeps its own duplicates
		}
		h.mu.Lock()
		reply.Shims = len(h.shims)
		h.mu.Unlock()
		b, _ := json.Marshal(reply)
		if _, err := conn.Write(b); err != nil {
			return
		}
	}
}

// handle carries out req and returns an error text ("" when it worked).
func (h *host) handle(req hostRequest, files []*os.File) string {
	switch req.Op {
	case hostOpHello:
		return ""
	case hostOpRetire:
		h.retire()
		return ""
	case hostOpSpawn:
		if err := h.spawn(req.Config, req.Env, files); err != nil {
			return err.Error()
		}
		return ""
	default:
		return fmt.Sprintf("unknown operation %q", req.Op)
	}
}

// spawn starts a hosted shim with c and env; files hold its control
// connection.
func (h *host) spawn(c Config, env []string, files []*os.File) error {
	if len(files) != 1 {
		return fmt.Errorf("spawn needs the control connection (got %d descriptors)", len(files))
	}
	c.ControlFD = 0
	if c.StateDir == "" || c.Dir == "" || c.LogPath == "" || len(c.Argv) == 0 {
		return errors.New("spawn: the shim's state directory, working directory, log and command are required")
	}
	conn, err := net.FileConn(files[0])
	if err != nil {
		return fmt.Errorf("spawn: control connection: %w", err)
	}
	sigs := make(chan os.Signal, 4)
	hs := &hostShim{sigs: sigs, done: make(chan struct{})}
	// A shim's control connection ends before the shim has quite finished
	// (its log closed, its entry removed), and a daemon that saw the end
	// may start the instance's next shim at once (a reboot): wait for the
	// previous one rather than refuse.
	deadline := time.NewTimer(hostSpawnWait)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		prev := h.shims[c.StateDir]
		switch {
		case h.stopping:
			h.mu.Unlock()
			_ = conn.Close()
			return errors.New("spawn: the host is stopping")
		case prev == nil:
			h.shims[c.StateDir] = hs
			h.mu.Unlock()
		default:
			h.mu.Unlock()
			select {
			case <-prev.done:
				continue
			case <-deadline.C:
				_ = conn.Close()
				return fmt.Errorf("spawn: a shim of %s runs in this host already (for more than %s)", c.StateDir, hostSpawnWait)
			}
		}
		break
	}
	go func() {
		defer close(hs.done)
		logf := &lazyLog{path: filepath.Join(c.StateDir, LogFile)}
		pr := process{env: env, stderr: logf, sigs: sigs, pid: h.pid, start: h.start, hosted: true}
		if err := serve(c, pr, conn); err != nil {
			fmt.Fprintln(logf, "shim:", err)
		}
		logf.close()
		h.mu.Lock()
		delete(h.shims, c.StateDir)
		h.mu.Unlock()
		h.poke()
	}()
	return nil
}

// hostShim is a shim running in a host.
type hostShim struct {
	sigs chan os.Signal // its stop signals
	done chan struct{}  // closed once it has finished and left the host
}

// hostSpawnWait bounds how long a spawn waits for the previous shim of
// the same state directory to finish.
const hostSpawnWait = 5 * time.Second

// lazyLog is a hosted shim's own log: a file in its state directory,
// opened (for appending) at the first message, so that a shim with
// nothing to say, the usual case, makes no file. A message that cannot be
// written is dropped.
type lazyLog struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func (l *lazyLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return 0, err
		}
		l.f = f
	}
	return l.f.Write(b)
}

func (l *lazyLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
}

// packetSize returns the size of the next packet on conn without
// reading it.
func packetSize(conn *net.UnixConn) (int, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	size := 0
	var rerr error
	err = raw.Read(func(fd uintptr) bool {
		size, _, rerr = unix.Recvfrom(int(fd), nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	return size, rerr
}

// receivedFiles returns the descriptors of an SCM_RIGHTS message.
func receivedFiles(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("control message: %w", err)
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "received"))
		}
	}
	return files, nil
}

// setProcessName sets the name of the calling thread (the main thread's
// is the process's in top and ps), at most 15 bytes.
func setProcessName(name string) {
	if p, err := unix.BytePtrFromString(name); err == nil {
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(p)), 0, 0, 0)
	}
}
