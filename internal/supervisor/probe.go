package supervisor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Readiness probing tries every millisecond at first, for apps that
// listen within milliseconds (a refused connection on loopback costs
// about 20 µs of CPU), then waits a fifth longer each time, to a modest
// rate: an app that takes 100 ms to listen is tried about 20 times rather
// than 60, which matters when fifty start at once, and is found at most a
// sixth of its start time late.
const (
	probeFirstDelay = time.Millisecond
	probeFastFor    = 10 * time.Millisecond // of tries every probeFirstDelay
	probeMaxDelay   = 100 * time.Millisecond
	probeAttempt    = time.Second // per connect or request
	// listenTableMaxAge is how old the listen table may be when a probe
	// reads it: a listener is seen at most this much later than a
	// connection would have found it.
	listenTableMaxAge = probeFirstDelay
)

// prober waits for an app to become ready. It is owned by one run; its
// goroutine stops when the run's context is done.
type prober struct {
	result chan string // "" when ready, else the reason it is not
	cancel context.CancelFunc
	done   chan struct{}

	// mu guards the field that follows.
	mu      sync.Mutex
	foreign string // who else holds the address, as last seen
}

// probeEnv is what probing needs from the outside world; tests replace
// it.
type probeEnv struct {
	// await blocks until something listens on addr (nil), ctx is done
	// (ctx.Err()) or it cannot tell (another error: the probe dials from
	// then on). Nil: the probe dials on its own cadence.
	await func(ctx context.Context, addr string) error
	// dial connects to addr and closes the connection.
	dial func(ctx context.Context, addr string) error
	// check says whether the listener on addr belongs to o's process tree.
	check func(addr string, o owner) listenerCheck
}

// startProbe starts probing p, for the app of o, in a goroutine.
func startProbe(ctx context.Context, p Probe, o owner, env probeEnv) *prober {
	ctx, cancel := context.WithCancel(ctx)
	pr := &prober{result: make(chan string, 1), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(pr.done)
		reason, ok := probe(ctx, p, o, env, pr.setForeign)
		if ok || ctx.Err() == nil {
			pr.result <- reason
		}
	}()
	return pr
}

func (pr *prober) setForeign(holder string) {
	pr.mu.Lock()
	pr.foreign = holder
	pr.mu.Unlock()
}

// foreignHolder returns the other process last seen holding the app's
// address ("" if none was seen); a nil prober saw none.
func (pr *prober) foreignHolder() string {
	if pr == nil {
		return ""
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.foreign
}

// stop cancels the probe and waits for its goroutine.
func (pr *prober) stop() {
	if pr == nil {
		return
	}
	pr.cancel()
	<-pr.done
}

// heldBy explains that another process holds addr.
func heldBy(addr, holder string) string {
	return fmt.Sprintf("%s is held by another process, %s, not by this instance's app; stop that process or give the instance another address", addr, holder)
}

// probe tries p until it succeeds (ok) or p.Timeout passes or ctx is done;
// reason says why it did not succeed. A listener on p.Addr counts only if
// it belongs to o's process tree; foreign, if not nil, hears of one that
// does not.
//
// While nothing listens the probe blocks in env.await, where one watcher
// checks for every waiting probe (listenwatch.go), rather than waking on
// a timer of its own to dial; it sleeps delay itself only between tries
// that reached a listener that would not do (another process's, or one
// that failed the HTTP request), as await would return at once. Where
// await cannot tell, the probe dials from then on.
func probe(ctx context.Context, p Probe, o owner, env probeEnv, foreign func(string)) (reason string, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	var client *http.Client
	if p.HTTPPath != "" {
		tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
		defer tr.CloseIdleConnections()
		client = &http.Client{
			Transport:     tr,
			Timeout:       probeAttempt,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	url := "http://" + p.Addr + p.HTTPPath
	listened := false
	holder := ""
	last := ""
	delay := probeFirstDelay
	began := time.Now()
	await := env.await
	for {
		reached := false
		if await != nil {
			tried := time.Now()
			err := await(ctx, p.Addr)
			// The tries await stood in for would have grown delay.
			_, delay = probeCadence(began, tried, delay, time.Now())
			switch {
			case err == nil:
				reached = true
			case ctx.Err() == nil:
				await = nil // the kernel cannot be asked: dial instead
			}
		}
		if await == nil {
			reached = env.dial(ctx, p.Addr) == nil
		}
		if reached {
			switch c := env.check(p.Addr, o); {
			case c.own:
				if holder != "" && foreign != nil {
					foreign("")
				}
				listened, holder = true, ""
				if client == nil {
					return "", true
				}
				status, err := get(ctx, client, url)
				switch {
				case err == nil && status < 500:
					return "", true
				case err == nil:
					last = fmt.Sprintf("last answer %d %s", status, http.StatusText(status))
				default:
					last = "last error: " + err.Error()
				}
			case c.holder != "":
				if holder != c.holder && foreign != nil {
					foreign(c.holder)
				}
				holder = c.holder
			}
		}
		select {
		case <-ctx.Done():
			switch {
			case holder != "":
				return fmt.Sprintf("did not listen on %s within %s: %s", p.Addr, p.Timeout, heldBy(p.Addr, holder)), false
			case !listened:
				return fmt.Sprintf("did not listen on %s within %s — does the app bind $HOST:$PORT?", p.Addr, p.Timeout), false
			default:
				return fmt.Sprintf("did not answer GET %s with a status below 500 within %s (%s)", url, p.Timeout, last), false
			}
		case <-time.After(delay):
		}
		if time.Since(began) > probeFastFor {
			delay = min(delay*6/5, probeMaxDelay)
		}
	}
}

// probeCadence advances a probe's cadence to now. A probe that polls on
// its own, begun at began, tries at step and waits delay before its next
// try, the delay growing a fifth after each try past probeFastFor; this
// returns the last of its tries by now and the delay after it. A probe
// that has blocked in await for a while thus waits, between tries that
// find a listener that will not do, what it would have waited had it
// polled all along (every probeMaxDelay after a second, not every
// millisecond again). Once the delay is probeMaxDelay it skips ahead at
// once, so a long wait costs no more than a short one.
func probeCadence(began, step time.Time, delay time.Duration, now time.Time) (time.Time, time.Duration) {
	for {
		if delay >= probeMaxDelay {
			if n := now.Sub(step) / delay; n > 0 {
				step = step.Add(n * delay)
			}
			return step, delay
		}
		next := step.Add(delay)
		if next.After(now) {
			return step, delay
		}
		step = next
		if step.Sub(began) > probeFastFor {
			delay = min(delay*6/5, probeMaxDelay)
		}
	}
}

func dial(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, probeAttempt)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func get(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "madang-readiness")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
