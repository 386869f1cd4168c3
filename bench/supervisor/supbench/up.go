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
	for {
		var still []string
		var last error
		for _, a := range pending {
			if err := get(ctx, client, a); err != nil {
				still = append(still, a)
				last = err
			}
		}
		pending = still
		if len(pending) == 0 {
			return time.Since(since), nil
		}
		if err := sleep(ctx, waitRound); err != nil {
			return 0, fmt.Errorf("waitup: %d of %d addresses not serving after %s (e.g. %s: %w): %w",
				len(pending), len(c.Addrs), c.Timeout, pending[0], last, err)
		}
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
