package compute

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/supervisor"
)

// listingService is a Service holding instance records and no processes.
func listingService(t *testing.T, ins ...Instance) *Service {
	t.Helper()
	s := &Service{opts: Options{Now: time.Now}, instances: map[string]*Instance{}}
	s.sup = supervisor.New(supervisor.Config{})
	t.Cleanup(func() { _ = s.sup.Close() })
	for i := range ins {
		s.instances[ins[i].ID] = &ins[i]
	}
	return s
}

func TestListingOrder(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s := listingService(t,
		Instance{ID: "i-3", Group: "web", LaunchTime: t0},
		Instance{ID: "i-2", Group: "web", LaunchTime: t0},
		Instance{ID: "i-1", Group: "web", LaunchTime: t0.Add(time.Second)},
		Instance{ID: "i-4", Group: "api", LaunchTime: t0.Add(time.Hour)},
		Instance{ID: "i-5", Group: "", LaunchTime: t0.Add(2 * time.Hour)},
	)
	ids := func(vs []View) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.ID)
		}
		return out
	}
	cases := []struct {
		name string
		got  []View
		want []string
	}{
		{"Listing: group, launch time, id", s.Listing(), []string{"i-5", "i-4", "i-2", "i-3", "i-1"}},
		{"AppendListing keeps what dst holds", s.AppendListing([]View{{Instance: Instance{ID: "x"}}}), []string{"x", "i-5", "i-4", "i-2", "i-3", "i-1"}},
		{"AppendListing into a used slice", s.AppendListing(make([]View, 0, 1)), []string{"i-5", "i-4", "i-2", "i-3", "i-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ids(c.got); !slices.Equal(got, c.want) {
				t.Fatalf("ids %v, want %v", got, c.want)
			}
		})
	}
}

// A listing is a copy: changing a record afterwards does not change the
// views already handed out, and the next listing sees the change.
func TestListingCopies(t *testing.T) {
	s := listingService(t, Instance{ID: "i-1", State: StateRunning})
	first := s.Listing()
	s.mu.Lock()
	s.instances["i-1"].State = StateStopped
	s.mu.Unlock()
	if first[0].State != StateRunning {
		t.Fatalf("an earlier listing changed to %s", first[0].State)
	}
	if got := s.AppendListing(first[:0])[0].State; got != StateStopped {
		t.Fatalf("state %s after the change, want stopped", got)
	}
}

func BenchmarkListing1000(b *testing.B) {
	s := &Service{opts: Options{Now: time.Now}, instances: map[string]*Instance{}, sup: supervisor.New(supervisor.Config{})}
	b.Cleanup(func() { _ = s.sup.Close() })
	for i := range 1000 {
		id := fmt.Sprintf("i-0%016x", i)
		s.instances[id] = &Instance{ID: id, LaunchTime: time.Unix(int64(i), 0), Tags: map[string]string{"Name": "web"}}
	}
	b.Run("Listing", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Listing()
		}
	})
	b.Run("AppendListing", func(b *testing.B) {
		b.ReportAllocs()
		var dst []View
		for b.Loop() {
			dst = s.AppendListing(dst[:0])
		}
	})
}
