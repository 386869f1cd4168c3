package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/madang-dev/madang/internal/procstat"
)

// RunOptions configure Run.
type RunOptions struct {
	// Home is the madang home: the control socket, state file and access
	// logs live there.
	Home string
	// Version and Binary identify what the process runs (see State).
	Version string
	Binary  string
	Logger  *slog.Logger
	// Takeover takes the listening sockets, configuration and health
	// over from the data plane serving Home's control socket, which then
	// drains and exits.
	Takeover bool
	// Ready, if set, is called once the process serves its control
	// socket (after a takeover: once the old process was told to stop).
	Ready func()
	// ShutdownGrace bounds the drain on SIGTERM or after a takeover;
	// 0 means 30 s.
	ShutdownGrace time.Duration
	// EventLoops is proxy.Options.EventLoops.
	EventLoops int
}

// drainLinger is how long the connections of a data plane that stops
// (after a takeover, or asked to) wait for their client's next request,
// which they answer with Connection: close, before closing: clients that
// do not retry a request on a closed kept-alive connection see none fail.
const drainLinger = 500 * time.Millisecond

// homeCheckInterval is how often a data plane checks that its home still
// exists; a data plane whose home was removed exits.
const homeCheckInterval = time.Second

// Run is the data-plane process: it serves the load balancers and the
// control socket until ctx ends (SIGTERM: drain and exit), a shutdown is
// requested, a new data plane takes over, or the home disappears.
func Run(ctx context.Context, opts RunOptions) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := log.With("pid", os.Getpid())
	log = base.With("component", "dataplane")
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 30 * time.Second
	}
	socket := filepath.Join(opts.Home, SocketFile)

	var (
		old       *net.UnixConn
		inherited map[string]*net.TCPListener
		handed    handoverState
	)
	if opts.Takeover {
		var err error
		old, handed, inherited, err = requestHandover(socket)
		if err != nil {
			return err
		}
		defer old.Close()
		log.Info("took over listening sockets", "listeners", handed.Listeners)
	}
	eng := NewEngine(Options{Logger: base, Inherited: inherited, EventLoops: opts.EventLoops, DrainLinger: drainLinger})
	if opts.Takeover {
		_ = eng.Restore(ctx, handed.Health)
		if err := eng.Apply(ctx, handed.Config); err != nil {
			_ = eng.Shutdown(context.Background())
			return fmt.Errorf("apply the configuration taken over: %w", err)
		}
		eng.socks.closeUnused()
	}

	ln, err := listenControl(socket)
	if err != nil {
		_ = eng.Shutdown(context.Background())
		return err
	}
	start, _ := procstat.StartTime(os.Getpid())
	st := State{PID: os.Getpid(), StartTime: start, Version: opts.Version, Binary: opts.Binary, StartedAt: time.Now().UTC(), Epoch: eng.Epoch()}
	if err := writeState(opts.Home, st); err != nil {
		ln.Close()
		_ = eng.Shutdown(context.Background())
		return err
	}
	if old != nil {
		if _, err := io.WriteString(old, handoverGo); err != nil {
			log.Warn("tell the old data plane to stop", "err", err)
		}
		old.Close()
	}

	// stopc receives the one request to end: shutdown (with its grace
	// and a channel for the answer) or release after a handover.
	type stopReq struct {
		grace    time.Duration
		answered chan<- error
	}
	stopc := make(chan stopReq, 1)
	var once sync.Once
	request := func(r stopReq) {
		once.Do(func() { stopc <- r })
	}
	srv := &server{
		eng: eng, log: log,
		status: func() Status {
			return Status{PID: st.PID, StartTime: st.StartTime, Version: opts.Version, Binary: opts.Binary, Epoch: eng.Epoch(),
				Configured: eng.Configured(), Listeners: eng.Listeners()}
		},
		stop:    func(grace time.Duration, answered chan<- error) { request(stopReq{grace: grace, answered: answered}) },
		release: func() { request(stopReq{grace: opts.ShutdownGrace}) },
	}
	sctx, stopServing := context.WithCancel(context.Background())
	waitServing := serveControl(sctx, ln, srv.handler(), log)
	log.Info("data plane serving", "socket", socket, "version", opts.Version)
	if opts.Ready != nil {
		opts.Ready()
	}

	tick := time.NewTicker(homeCheckInterval)
	defer tick.Stop()
	var req stopReq
wait:
	for {
		select {
		case <-ctx.Done():
			req = stopReq{grace: opts.ShutdownGrace}
			break wait
		case req = <-stopc:
			break wait
		case <-tick.C:
			if _, err := os.Stat(opts.Home); errors.Is(err, os.ErrNotExist) {
				log.Info("home removed; stopping")
				req = stopReq{grace: time.Second}
				break wait
			}
		}
	}
	dctx, cancel := context.WithTimeout(context.Background(), req.grace)
	err = eng.Shutdown(dctx)
	cancel()
	log.Info("data plane stopped", "err", err)
	// Clean up only what this process still owns: after a handover the
	// socket and state file are the new data plane's.
	if cur, rerr := ReadState(opts.Home); rerr == nil && cur.PID == st.PID && cur.Epoch == st.Epoch {
		_ = os.Remove(socket)
		_ = os.Remove(filepath.Join(opts.Home, StateFile))
	}
	if req.answered != nil {
		req.answered <- err
	}
	stopServing()
	waitServing()
	return err
}

// listenControl binds the control socket (mode 0600) at a temporary name
// and renames it over socket, so that a data plane taking over replaces
// the old one's socket atomically: clients connect to one or the other.
func listenControl(socket string) (*net.UnixListener, error) {
	tmp := socket + "." + strconv.Itoa(os.Getpid())
	_ = os.Remove(tmp)
	old := syscall.Umask(0o077)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", socket, err)
	}
	// The path belongs to whoever bound last; never unlink it on close.
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("listen on %s: %w", socket, err)
	}
	if err := os.Rename(tmp, socket); err != nil {
		ln.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("listen on %s: %w", socket, err)
	}
	return ln, nil
}
