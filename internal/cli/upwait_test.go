package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
)

// upFake answers the API calls up makes while it waits, with
// instances and target health the test sets.
type upFake struct {
	mu        sync.Mutex
	instances []v1.Instance
	health    []v1.TargetHealth
	logs      []v1.LogLine
	logCalls  int
	lbs       []v1.LoadBalancer
}

func (d *upFake) set(ins []v1.Instance, th []v1.TargetHealth) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.instances, d.health = ins, th
}

func (d *upFake) handler() http.Handler {
	mux := http.NewServeMux()
	answer := func(w http.ResponseWriter, v any) {
		d.mu.Lock()
		defer d.mu.Unlock()
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /v1/instances", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		v := d.instances
		d.mu.Unlock()
		answer(w, v)
	})
	mux.HandleFunc("GET /v1/target-groups", func(w http.ResponseWriter, r *http.Request) {
		answer(w, []v1.TargetGroup{{Owner: "s", Spec: v1.TargetGroupSpec{Name: "web"}}})
	})
	mux.HandleFunc("GET /v1/target-groups/{name}/health", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		v := d.health
		d.mu.Unlock()
		answer(w, v)
	})
	mux.HandleFunc("GET /v1/load-balancers", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		v := d.lbs
		d.mu.Unlock()
		answer(w, v)
	})
	mux.HandleFunc("GET /v1/instances/{id}/logs", func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.logCalls++
		lines := d.logs
		d.mu.Unlock()
		for _, l := range lines {
			answer(w, l)
		}
	})
	return mux
}

func newWaiter(t *testing.T, d *upFake) (*upWaiter, *bytes.Buffer) {
	t.Helper()
	srv := httptest.NewServer(d.handler())
	t.Cleanup(srv.Close)
	out := &bytes.Buffer{}
	e := &env{stdout: out, stderr: out}
	c := api.NewTCPClient(strings.TrimPrefix(srv.URL, "http://"), "")
	return &upWaiter{e: e, c: c, stack: "s", crashes: map[string]crash{}, targets: map[string]string{}}, out
}

func view(id string, state string, detail, reason string, restarts int, exit *v1.Exit) v1.Instance {
	v := v1.Instance{Restarts: restarts, LastExit: exit}
	v.ID, v.Group, v.Owner = id, "web", "s"
	v.Desired, v.State, v.Detail, v.StateReason = v1.StateRunning, state, detail, reason
	return v
}

func TestWaiterShowsEachCrashOnceWithTheLastAppLine(t *testing.T) {
	d := &upFake{logs: []v1.LogLine{
		{Stream: "out", Text: "listening on 3000"},
		{Stream: "err", Text: "panic: no DATABASE_URL"},
		{Stream: "sys", Text: "exited with code 2 after 10ms"},
	}}
	w, out := newWaiter(t, d)
	ctx := context.Background()
	exit := &v1.Exit{Code: 2, At: time.Unix(100, 0)}
	d.set([]v1.Instance{
		view("i-1", v1.StatePending, "backoff", "exited with code 2 after 10ms; restart 2 in a row, in 200ms", 2, exit),
		view("i-2", v1.StateRunning, "running", "", 0, nil),
	}, nil)
	for range 3 {
		if done, err := w.poll(ctx, false); done || err != nil {
			t.Fatalf("poll of a crashing instance = %v, %v; want not done, no error", done, err)
		}
	}
	got := out.String()
	want := "  ! i-1 (web) backoff: exited with code 2 after 10ms; restart 2 in a row, in 200ms\n      last log line: panic: no DATABASE_URL\n"
	if strings.Count(got, "! i-1") != 1 || !strings.Contains(got, want) {
		t.Fatalf("output:\n%s\nwant the crash once:\n%s", got, want)
	}
	if !strings.Contains(got, "instances running 1/2") {
		t.Errorf("output lacks the count:\n%s", got)
	}
	if d.logCalls != 1 {
		t.Errorf("the log was read %d times for one exit, want once", d.logCalls)
	}

	// When the wait is over, a crash loop is a stack that cannot come up.
	_, err := w.poll(ctx, true)
	if !errors.Is(err, errCannotComeUp) || !strings.Contains(err.Error(), "last log line: panic: no DATABASE_URL") {
		t.Fatalf("last poll = %v, want errCannotComeUp with the reason", err)
	}
}

func TestWaiterErroredInstanceCannotComeUp(t *testing.T) {
	d := &upFake{}
	w, out := newWaiter(t, d)
	exit := &v1.Exit{Code: 3, At: time.Unix(100, 0)}
	v := view("i-1", v1.StateStopped, "errored", "exited with code 3 3 times in a row within 1s of starting (maxRestarts 2)", 2, exit)
	v.LastLines = []string{"out boom-before-exit", "sys exited with code 3 after 1ms"}
	d.set([]v1.Instance{v}, nil)
	_, err := w.poll(context.Background(), false)
	if !errors.Is(err, errCannotComeUp) {
		t.Fatalf("poll = %v, want errCannotComeUp", err)
	}
	for _, want := range []string{"stack s cannot come up", "i-1 (web) errored: exited with code 3", "last log line: boom-before-exit", "madang describe ID"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if d.logCalls != 0 {
		t.Errorf("read the log %d times though the status had its last lines", d.logCalls)
	}
	if !strings.Contains(out.String(), "! i-1 (web) errored") {
		t.Errorf("output:\n%s", out)
	}
}

func TestWaiterIgnoresAnExitBeforeThisStart(t *testing.T) {
	d := &upFake{}
	w, out := newWaiter(t, d)
	// Stopped by the last up, starting again: no crash.
	d.set([]v1.Instance{view("i-1", v1.StatePending, "starting", "", 0, &v1.Exit{Signal: "SIGTERM", At: time.Unix(1, 0)})}, nil)
	if done, err := w.poll(context.Background(), true); done || err != nil {
		t.Fatalf("poll = %v, %v; want not done, no error", done, err)
	}
	if strings.Contains(out.String(), "!") {
		t.Fatalf("a stop before this start shown as a crash:\n%s", out)
	}
}

func TestWaiterShowsUnhealthyTargetsUntilHealthy(t *testing.T) {
	d := &upFake{}
	w, out := newWaiter(t, d)
	ctx := context.Background()
	ins := []v1.Instance{view("i-1", v1.StateRunning, "running", "", 0, nil)}
	bad := []v1.TargetHealth{{ID: "i-1", State: "unhealthy", Reason: "Target.ResponseCodeMismatch", Description: "GET /health returned 404, expected 200"}}
	d.set(ins, bad)
	for range 2 {
		if done, err := w.poll(ctx, false); done || err != nil {
			t.Fatalf("poll = %v, %v", done, err)
		}
	}
	if n := strings.Count(out.String(), "! target i-1 in web unhealthy (Target.ResponseCodeMismatch): GET /health returned 404, expected 200"); n != 1 {
		t.Fatalf("unhealthy target shown %d times, want once:\n%s", n, out)
	}
	if _, err := w.poll(ctx, true); err != nil {
		t.Fatalf("an unhealthy target when the wait ends = %v; want no error (it may still recover)", err)
	}
	d.set(ins, []v1.TargetHealth{{ID: "i-1", State: "healthy"}})
	if done, err := w.poll(ctx, false); !done || err != nil {
		t.Fatalf("poll with everything up = %v, %v; want done", done, err)
	}
	if !strings.Contains(out.String(), "instances running 1/1, targets healthy 1/1") {
		t.Errorf("output:\n%s", out)
	}
}

// listenerLB is a load balancer of stack owner with one listener.
func listenerLB(name, owner string, port int) v1.LoadBalancer {
	return v1.LoadBalancer{Owner: owner, Spec: v1.LoadBalancerSpec{Name: name, Listeners: []v1.Listener{{Port: port}}}}
}

func TestCheckListeners(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := ln.Addr().(*net.TCPAddr).Port
	free := freeTCPPort(t)
	me := os.Getpid()
	cases := []struct {
		name         string
		port         int
		daemonPID    int
		dataPlanePID int
		want         string
	}{
		{name: "served by the daemon", port: held, daemonPID: me},
		{name: "served by the data plane", port: held, daemonPID: 1, dataPlanePID: me},
		{name: "held by another program", port: held, daemonPID: 1,
			want: fmt.Sprintf("load balancer web listener port %d: 127.0.0.1:%d is taken by pid %d (", held, held, me)},
		{name: "nothing listens", port: free, daemonPID: me,
			want: fmt.Sprintf("load balancer web listener port %d: nothing listens on 127.0.0.1:%d; the load balancer could not start it (see ", free, free)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &upFake{lbs: []v1.LoadBalancer{listenerLB("web", "s", tc.port), listenerLB("other", "z", free)}}
			w, _ := newWaiter(t, d)
			err := checkListeners(context.Background(), w.e, w.c, "s", "madang.yaml", tc.daemonPID, tc.dataPlanePID)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("checkListeners = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, errCannotComeUp) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkListeners = %v, want errCannotComeUp containing %q", err, tc.want)
			}
		})
	}
}

// freeTCPPort returns a port nothing listened on a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
