package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// waitConfig says what the waitup subcommand waits for.
type waitConfig struct {
	// Addrs must all answer GET / with 200.
	Addrs []string
	// Discover, when set, lists the addresses known so far (a madang
	// daemon's instances); the wait ends once Want of them serve.
	Discover func(ctx context.Context) ([]string, error)
	Want     int
	// Since is the start of the measured time (zero: now).
	Since time.Time
	// Timeout bounds the wait, counted from Since.
	Timeout time.Duration
}

// waitRound is the pause between rounds over the addresses not up yet.
const waitRound = 5 * time.Millisecond

// waitUp waits until every address of c answers GET / with 200 and
// returns the time since c.Since.
func waitUp(ctx context.Context, c waitConfig) (time.Duration, error) {
	since := c.Since
	if since.IsZero() {
		since = time.Now()
	}
	ctx, cancel := context.WithDeadline(ctx, since.Add(c.Timeout))
	defer cancel()
	tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: attemptTimeout}
	pending := append([]string(nil), c.Addrs...)
	want := len(c.Addrs)
	known := map[string]bool{}
	for _, a := range c.Addrs {
		known[a] = true
	}
	served := 0
	for {
		if c.Discover != nil && len(known) < c.Want {
			want = c.Want
			addrs, err := c.Discover(ctx)
			if err == nil {
				for _, a := range addrs {
					if !known[a] {
						known[a] = true
						pending = append(pending, a)
					}
				}
			}
		}
		var still []string
		var last error
		for _, a := range pending {
			if err := get(ctx, client, a); err != nil {
				still = append(still, a)
				last = err
			} else {
				served++
			}
		}
		pending = still
		if len(pending) == 0 && served >= want {
			return time.Since(since), nil
		}
		if err := sleep(ctx, waitRound); err != nil {
			e := fmt.Errorf("%d of %d addresses not serving after %s", want-served, want, c.Timeout)
			if len(pending) > 0 {
				e = fmt.Errorf("%w (e.g. %s: %w)", e, pending[0], last)
			}
			return 0, fmt.Errorf("waitup: %w: %w", e, err)
		}
	}
}

// madangInstances returns a Discover function that lists the addresses of
// the instances of the madang daemon serving the API on socket.
func madangInstances(socket string) func(ctx context.Context) ([]string, error) {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	client := &http.Client{Transport: tr, Timeout: attemptTimeout}
	return func(ctx context.Context) ([]string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://madang/v1/instances", nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET /v1/instances: %s", resp.Status)
		}
		var list []psInstance
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			return nil, err
		}
		var out []string
		for _, in := range list {
			if in.PrivateIP != "" && in.Port != 0 {
				out = append(out, net.JoinHostPort(in.PrivateIP, strconv.Itoa(in.Port)))
			}
		}
		return out, nil
	}
}

// splitAddrs parses a comma-separated HOST:PORT list.
func splitAddrs(s string) ([]string, error) {
	var out []string
	for a := range strings.SplitSeq(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("waitup: -addrs entry %q: %w; pass HOST:PORT entries, e.g. 127.0.0.1:3000", a, err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("waitup: -addrs is empty; pass a comma-separated HOST:PORT list")
	}
	return out, nil
}

// unixNano converts Unix nanoseconds to a time.
func unixNano(ns int64) time.Time { return time.Unix(0, ns) }

// psInstance holds the fields of `madang ps -o json` that the benchmark
// reads.
type psInstance struct {
	ID        string `json:"id"`
	PrivateIP string `json:"privateIp"`
	Port      int    `json:"port"`
}

// instanceAddrs reads `madang ps -o json` output and returns the
// instances' addresses, comma-separated. want > 0 requires exactly that
// many instances.
func instanceAddrs(r io.Reader, want int) (string, error) {
	var list []psInstance
	if err := json.NewDecoder(r).Decode(&list); err != nil {
		return "", fmt.Errorf("addrs: decode `madang ps -o json` output: %w", err)
	}
	if want > 0 && len(list) != want {
		return "", fmt.Errorf("addrs: %d instances listed, want %d; wait until apply has created them all", len(list), want)
	}
	addrs := make([]string, 0, len(list))
	for _, in := range list {
		if in.PrivateIP == "" || in.Port == 0 {
			return "", fmt.Errorf("addrs: instance %s has no address yet (privateIp %q, port %d)", in.ID, in.PrivateIP, in.Port)
		}
		addrs = append(addrs, net.JoinHostPort(in.PrivateIP, strconv.Itoa(in.Port)))
	}
	return strings.Join(addrs, ","), nil
}
