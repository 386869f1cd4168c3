// Command loadgen drives steady HTTP load at a URL from a few keep-alive
// workers for a fixed time and prints how many requests were made and how
// many failed (a transport error or a status other than 200), with the
// slowest request. It stops by itself.
//
//	loadgen -url http://127.0.0.1:8080/ -c 8 -d 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "URL to GET")
	workers := flag.Int("c", 4, "concurrent workers, one keep-alive connection each")
	dur := flag.Duration("d", 10*time.Second, "how long to run")
	timeout := flag.Duration("timeout", 5*time.Second, "per-request timeout")
	rate := flag.Float64("rate", 0, "requests per second per worker (0: as fast as possible)")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -url is required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: *workers, MaxConnsPerHost: *workers}
	client := &http.Client{Transport: tr, Timeout: *timeout}
	var total, failed atomic.Int64
	var mu sync.Mutex
	errs := map[string]int{}
	var slowest time.Duration
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tick <-chan time.Time
			if *rate > 0 {
				t := time.NewTicker(time.Duration(float64(time.Second) / *rate))
				defer t.Stop()
				tick = t.C
			}
			for ctx.Err() == nil {
				if tick != nil {
					select {
					case <-ctx.Done():
						return
					case <-tick:
					}
				}
				start := time.Now()
				err := get(client, *url)
				took := time.Since(start)
				total.Add(1)
				mu.Lock()
				slowest = max(slowest, took)
				if err != nil {
					failed.Add(1)
					errs[err.Error()]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	tr.CloseIdleConnections()
	fmt.Printf("total=%d failed=%d slowest=%s\n", total.Load(), failed.Load(), slowest.Round(time.Millisecond))
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %6d  %s\n", errs[k], k)
	}
}

func get(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
