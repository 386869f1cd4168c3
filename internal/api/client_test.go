package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/logfile"
)

func TestClientErrorsKeepTheirCode(t *testing.T) {
	c := apitest.Client(fakeWithInstance(t).Serve(t))
	ctx := context.Background()
	_, err := c.Describe(ctx, "i-404")
	ae, ok := errors.AsType[*api.Error](err)
	if !ok {
		t.Fatalf("Describe(unknown) = %v, want an *api.Error", err)
	}
	if ae.Status != 404 || ae.Code != v1.CodeNotFound || ae.Kind != "instance" || ae.ID != "i-404" || ae.Hint != "see madang ps" {
		t.Fatalf("error %+v, want 404 NotFound about instance i-404 with a hint", ae)
	}
	checks := []struct {
		name   string
		target error
		want   bool
	}{
		{name: "fault code", target: fault.ErrNotFound, want: true},
		{name: "fault kind", target: &fault.Error{Code: fault.NotFound, Kind: fault.KindInstance}, want: true},
		{name: "other kind", target: &fault.Error{Code: fault.NotFound, Kind: fault.KindTargetGroup}, want: false},
		{name: "compute sentinel", target: compute.ErrNotFound, want: true},
		{name: "other code", target: fault.ErrInvalid, want: false},
		{name: "no daemon", target: api.ErrNoDaemon, want: false},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(err, tc.target); got != tc.want {
				t.Errorf("errors.Is(err, %v) = %v, want %v", tc.target, got, tc.want)
			}
		})
	}
	if got, want := err.Error(), `no instance "i-404"; see madang ps`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestClientWithoutDaemon(t *testing.T) {
	c := api.NewUnixClient(filepath.Join(t.TempDir(), "madang.sock"))
	_, err := c.Info(context.Background())
	if !errors.Is(err, api.ErrNoDaemon) {
		t.Fatalf("Info without a daemon = %v, want ErrNoDaemon", err)
	}
	if fault.CodeOf(err) != fault.Unavailable || fault.HintOf(err) == "" {
		t.Fatalf("error %v: code %q hint %q, want Unavailable with a hint", err, fault.CodeOf(err), fault.HintOf(err))
	}
}

func TestClientInstances(t *testing.T) {
	c := apitest.Client(fakeWithInstance(t).Serve(t))
	ctx := context.Background()
	ins, err := c.Run(ctx, v1.RunRequest{LaunchTemplate: "web", Count: 2, Group: "api"})
	if err != nil || len(ins) != 2 || ins[0].State != v1.StatePending || ins[0].Addr() != "127.16.0.2:3000" {
		t.Fatalf("Run = %+v, %v; want two pending instances", ins, err)
	}
	ids, err := c.Resolve(ctx, "api")
	if err != nil || !slices.Equal(ids, []string{ins[0].ID, ins[1].ID}) {
		t.Fatalf("Resolve(api) = %v, %v", ids, err)
	}
	in, err := c.Action(ctx, ins[0].ID, "stop")
	if err != nil || in.State != v1.StateStopped {
		t.Fatalf("stop = %+v, %v; want stopped", in, err)
	}
	in, err = c.Tags(ctx, ins[0].ID, v1.TagRequest{Set: map[string]string{"team": "web", "x": "1"}, Remove: []string{"x"}})
	if err != nil || len(in.Tags) != 1 || in.Tags["team"] != "web" {
		t.Fatalf("Tags = %v, %v; want team=web", in.Tags, err)
	}
	all, err := c.Instances(ctx)
	if err != nil || len(all) != 4 {
		t.Fatalf("Instances = %d, %v; want 4", len(all), err)
	}
}

func TestClientStreams(t *testing.T) {
	f := fakeWithInstance(t)
	srv := f.Serve(t)
	c := apitest.Client(srv)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.WriteLog(t, "i-01",
		logfile.Line{Time: t0, Stream: "out", Text: "one"},
		logfile.Line{Time: t0.Add(time.Second), Stream: "err", Text: "two"},
		logfile.Line{Time: t0.Add(2 * time.Second), Stream: "sys", Text: "three"},
	)
	cases := []struct {
		name  string
		lines int
		since time.Time
		want  []string
	}{
		{name: "all", lines: 0, want: []string{"one", "two", "three"}},
		{name: "last two", lines: 2, want: []string{"two", "three"}},
		{name: "since", lines: 0, since: t0.Add(1500 * time.Millisecond), want: []string{"three"}},
	}
	for _, tc := range cases {
		t.Run("logs "+tc.name, func(t *testing.T) {
			var got []string
			err := c.Logs(ctx, "i-01", tc.lines, tc.since, false, func(l v1.LogLine) {
				if l.Instance != "i-01" {
					t.Errorf("line of %q, want i-01", l.Instance)
				}
				got = append(got, l.Text)
			})
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Logs = %q, %v; want %q", got, err, tc.want)
			}
		})
	}

	t.Run("events after", func(t *testing.T) {
		f.Events.Info("instance", "i-01", "a")
		f.Events.Info("instance", "i-01", "b")
		var got []uint64
		if err := c.Events(ctx, 1, false, func(e v1.Event) { got = append(got, e.Seq) }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, []uint64{2}) {
			t.Fatalf("events after 1: %v, want [2]", got)
		}
	})

	t.Run("events follow", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		seen := make(chan v1.Event)
		done := make(chan error, 1)
		go func() {
			done <- c.Events(ctx, 0, true, func(e v1.Event) { seen <- e })
		}()
		for _, want := range []string{"a", "b"} {
			if e := <-seen; e.Message != want {
				t.Fatalf("event %q, want %q", e.Message, want)
			}
		}
		f.Events.Warn("target-group", "web", "new")
		if e := <-seen; e.Message != "new" || e.Level != v1.LevelWarn {
			t.Fatalf("followed event %+v, want the new warning", e)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("follow ended with %v, want nil once the context ends", err)
		}
	})

	t.Run("events since", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		since := time.Now()
		seen := make(chan v1.Event, 8)
		done := make(chan error, 1)
		go func() {
			done <- c.FollowEventsSince(ctx, 0, since, func(e v1.Event) { seen <- e })
		}()
		f.Events.Info("instance", "i-01", "c")
		if e := <-seen; e.Message != "c" {
			t.Fatalf("first event since %v: %q, want c (a and b are older)", since, e.Message)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("follow ended with %v, want nil once the context ends", err)
		}
		resp, err := srv.Client().Get(srv.URL + "/v1/events?since=yesterday")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "yesterday") {
			t.Fatalf("since=yesterday: %d %s, want 400 naming the value", resp.StatusCode, b)
		}
	})
}
