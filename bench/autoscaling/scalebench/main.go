// Command scalebench drives load at an Auto Scaling group's load balancer
// and times what the group does. Every request's answer names the instance
// that served it ("Hello from i-…", the quickstart app), so the time from
// the load step to the first answer from an instance that was not serving
// before is the time to scale out and serve.
//
//	scalebench step -url http://127.0.0.1:8080/ -rate 200 -known i-a,i-b
//	    load at 200 requests/s until an instance not in -known answers;
//	    prints first_new_ms, requests, failed and the step's start (UTC,
//	    to line up with the daemon's log).
//	scalebench steady -url … -rate 50 -d 20s
//	    load for a fixed time; prints requests, failed and the instances
//	    that answered.
//
// It stops by itself (-timeout for step).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "step" && os.Args[1] != "steady") {
		fmt.Fprintln(os.Stderr, "usage: scalebench step|steady -url URL -rate N [-known IDS] [-d DUR] [-timeout DUR]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	url := fs.String("url", "", "URL to GET")
	rate := fs.Float64("rate", 100, "requests per second in all")
	workers := fs.Int("c", 8, "workers, one keep-alive connection each")
	known := fs.String("known", "", "comma-separated instance ids serving before the step")
	dur := fs.Duration("d", 10*time.Second, "how long steady runs")
	timeout := fs.Duration("timeout", 60*time.Second, "how long step waits for a new instance")
	_ = fs.Parse(os.Args[2:])
	if *url == "" {
		fmt.Fprintln(os.Stderr, "scalebench: -url is required")
		os.Exit(2)
	}
	old := map[string]bool{}
	for _, id := range strings.Split(*known, ",") {
		if id != "" {
			old[id] = true
		}
	}
	limit := *dur
	if mode == "step" {
		limit = *timeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers}, Timeout: 5 * time.Second}
	var total, failed atomic.Int64
	var mu sync.Mutex
	seen := map[string]int{}
	errs := map[string]int{}
	var firstNew time.Duration
	start := time.Now()
	interval := time.Duration(float64(time.Second) * float64(*workers) / *rate)
	var wg sync.WaitGroup
	for w := range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := start.Add(interval * time.Duration(w) / time.Duration(*workers))
			for ctx.Err() == nil {
				if d := time.Until(next); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				}
				next = next.Add(interval)
				total.Add(1)
				resp, err := client.Get(*url)
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
						mu.Lock()
						errs[err.Error()]++
						mu.Unlock()
					} else {
						total.Add(-1)
					}
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					mu.Lock()
					errs[fmt.Sprintf("status %d", resp.StatusCode)]++
					mu.Unlock()
					continue
				}
				id := instanceID(string(body))
				mu.Lock()
				seen[id]++
				if mode == "step" && id != "" && !old[id] && firstNew == 0 {
					firstNew = time.Since(start)
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if mode == "step" {
		if firstNew == 0 {
			fmt.Printf("first_new_ms=none requests=%d failed=%d instances=%s\n", total.Load(), failed.Load(), strings.Join(ids, ","))
			os.Exit(1)
		}
		fmt.Printf("first_new_ms=%d requests=%d failed=%d start=%s\n", firstNew.Milliseconds(), total.Load(), failed.Load(), start.UTC().Format("15:04:05.000"))
	} else {
		fmt.Printf("requests=%d failed=%d instances=%d\n", total.Load(), failed.Load(), len(ids))
	}
	for e, n := range errs {
		fmt.Fprintf(os.Stderr, "  %d× %s\n", n, e)
	}
}

// instanceID finds the i-… id in an answer.
func instanceID(body string) string {
	i := strings.Index(body, "i-")
	if i < 0 {
		return ""
	}
	j := i + 2
	for j < len(body) && (body[j] >= '0' && body[j] <= '9' || body[j] >= 'a' && body[j] <= 'f') {
		j++
	}
	return body[i:j]
}
