package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults of the restart and waitup subcommands.
const (
	defaultGap         = 1500 * time.Millisecond
	defaultTimeout     = 30 * time.Second
	defaultWaitTimeout = 120 * time.Second
	// pollEvery is the pause between connection attempts while an app is
	// down: the resolution of the measurement.
	pollEvery = time.Millisecond
	// attemptTimeout bounds one connect or one HTTP request.
	attemptTimeout = time.Second
)

// restartConfig says what the restart subcommand measures.
type restartConfig struct {
	// Addr is the HOST:PORT the supervised app listens on.
	Addr string
	// N is how many times the app is killed.
	N int
	// Gap is the pause between the app serving again and the next kill.
	Gap time.Duration
	// Timeout bounds one kill-to-serving measurement.
	Timeout time.Duration
}

func (c restartConfig) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("restart: -addr is empty; pass the app's HOST:PORT, e.g. 127.0.0.1:3000")
	case c.N < 1:
		return fmt.Errorf("restart: -n is %d; pass a number of kills of at least 1", c.N)
	case c.Gap < 0:
		return fmt.Errorf("restart: -gap is %s; pass a pause of 0 or more, e.g. 1500ms", c.Gap)
	case c.Timeout <= 0:
		return fmt.Errorf("restart: -timeout is %s; pass a positive duration, e.g. 30s", c.Timeout)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("restart: -addr %q: %w; pass HOST:PORT, e.g. 127.0.0.1:3000", c.Addr, err)
	}
	return nil
}

// restartResult is one kill and the recovery after it. Durations count
// from the moment SIGKILL was sent.
type restartResult struct {
	Iter   int
	OldPID int
	NewPID int
	// At is when SIGKILL was sent.
	At time.Time
	// Exit is when the killed process was gone (its listening socket
	// closed).
	Exit time.Duration
	// Connect is when the port accepted a TCP connection again.
	Connect time.Duration
	// HTTP is when a new process answered GET / with 200.
	HTTP time.Duration
}

// String formats r as key=value fields.
func (r restartResult) String() string {
	return fmt.Sprintf("iter=%d old_pid=%d new_pid=%d exit_ms=%.2f connect_ms=%.2f http_ms=%.2f at=%s",
		r.Iter, r.OldPID, r.NewPID, msOf(r.Exit), msOf(r.Connect), msOf(r.HTTP), r.At.UTC().Format(time.RFC3339Nano))
}

// measureRestarts kills the app listening on c.Addr c.N times and
// measures each recovery, calling each with every result as it comes. It
// returns the results so far and the first error.
func measureRestarts(ctx context.Context, c restartConfig, each func(restartResult)) ([]restartResult, error) {
	tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: attemptTimeout}
	var out []restartResult
	for i := 1; i <= c.N; i++ {
		r, err := measureOne(ctx, c, client)
		if err != nil {
			return out, fmt.Errorf("restart: kill %d of %d: %w", i, c.N, err)
		}
		r.Iter = i
		out = append(out, r)
		if each != nil {
			each(r)
		}
		if i < c.N {
			if err := sleep(ctx, c.Gap); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// measureOne finds the app serving c.Addr, kills it and waits for a new
// one to serve.
func measureOne(ctx context.Context, c restartConfig, client *http.Client) (restartResult, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var r restartResult
	// The app must be serving before the kill.
	if err := untilOK(ctx, func() error { return get(ctx, client, c.Addr) }); err != nil {
		return r, fmt.Errorf("app on %s is not serving before the kill: %w", c.Addr, err)
	}
	if err := untilOK(ctx, func() (err error) {
		r.OldPID, err = listenerPID("/proc", c.Addr)
		return err
	}); err != nil {
		return r, err
	}
	pidfd, err := unix.PidfdOpen(r.OldPID, 0)
	if err != nil {
		return r, fmt.Errorf("open pidfd of %d: %w", r.OldPID, err)
	}
	defer unix.Close(pidfd)

	start := time.Now()
	r.At = start
	if err := unix.Kill(r.OldPID, unix.SIGKILL); err != nil {
		return r, fmt.Errorf("kill %d: %w", r.OldPID, err)
	}
	if err := waitExited(ctx, pidfd); err != nil {
		return r, fmt.Errorf("wait for pid %d to exit: %w", r.OldPID, err)
	}
	r.Exit = time.Since(start)
	if err := untilOK(ctx, func() error { return dial(ctx, c.Addr) }); err != nil {
		return r, fmt.Errorf("port %s did not accept connections again: %w", c.Addr, err)
	}
	r.Connect = time.Since(start)
	if err := untilOK(ctx, func() error { return get(ctx, client, c.Addr) }); err != nil {
		return r, fmt.Errorf("no new process answered on %s: %w", c.Addr, err)
	}
	r.HTTP = time.Since(start)
	err = untilOK(ctx, func() error {
		pid, err := listenerPID("/proc", c.Addr)
		switch {
		case err != nil:
			return err
		case pid == r.OldPID:
			return fmt.Errorf("pid %d still listens on %s", pid, c.Addr)
		}
		r.NewPID = pid
		return nil
	})
	return r, err
}

// waitExited waits until the process behind pidfd has exited.
func waitExited(ctx context.Context, pidfd int) error {
	for {
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 10)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		if n > 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// untilOK calls fn every pollEvery until it succeeds or ctx ends; then it
// returns fn's last error.
func untilOK(ctx context.Context, fn func() error) error {
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		}
		if serr := sleep(ctx, pollEvery); serr != nil {
			return fmt.Errorf("%w (last error: %w)", serr, err)
		}
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// dial reports whether addr accepts a TCP connection.
func dial(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: attemptTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// get reports whether addr answers GET / with 200, on a new connection.
func get(ctx context.Context, client *http.Client, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET http://%s/: status %d, want 200", addr, resp.StatusCode)
	}
	return nil
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
