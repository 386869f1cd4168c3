package supervisor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Readiness probing tries every millisecond at first, for apps that
// listen within milliseconds (a refused connection on loopback costs
// microseconds), then backs off by half each time to a modest rate.
const (
	probeFirstDelay = time.Millisecond
	probeFastFor    = 50 * time.Millisecond // of tries every probeFirstDelay
	probeMaxDelay   = 100 * time.Millisecond
	probeAttempt    = time.Second // per connect or request
)

// prober waits for an app to become ready. It is owned by one run; its
// goroutine stops when the run's context is done.
type prober struct {
	result chan string // "" when ready, else the reason it is not
	cancel context.CancelFunc
	done   chan struct{}
}

// startProbe starts probing p in a goroutine.
func startProbe(ctx context.Context, p Probe) *prober {
	ctx, cancel := context.WithCancel(ctx)
	pr := &prober{result: make(chan string, 1), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(pr.done)
		reason, ok := probe(ctx, p)
		if ok || ctx.Err() == nil {
			pr.result <- reason
		}
	}()
	return pr
}

// stop cancels the probe and waits for its goroutine.
func (pr *prober) stop() {
	if pr == nil {
		return
	}
	pr.cancel()
	<-pr.done
}

// probe tries p until it succeeds (ok) or p.Timeout passes or ctx is done;
// reason says why it did not succeed.
func probe(ctx context.Context, p Probe) (reason string, ok bool) {
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
	last := ""
	delay := probeFirstDelay
	began := time.Now()
	for {
		if err := dial(ctx, p.Addr); err == nil {
			listened = true
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
		}
		select {
		case <-ctx.Done():
			switch {
			case !listened:
				return fmt.Sprintf("did not listen on %s within %s — does the app bind $HOST:$PORT?", p.Addr, p.Timeout), false
			default:
				return fmt.Sprintf("did not answer GET %s with a status below 500 within %s (%s)", url, p.Timeout, last), false
			}
		case <-time.After(delay):
		}
		if time.Since(began) > probeFastFor {
			delay = min(delay*3/2, probeMaxDelay)
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
