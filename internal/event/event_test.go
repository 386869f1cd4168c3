package event

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRingKeepsNewest(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := New(3, func() time.Time { return now })
	for i := 0; i < 5; i++ {
		l.Info("instance", "i-1", "event %d", i)
	}
	cases := []struct {
		name  string
		after uint64
		want  []uint64
	}{
		{name: "all kept", after: 0, want: []uint64{3, 4, 5}},
		{name: "after 3", after: 3, want: []uint64{4, 5}},
		{name: "nothing newer", after: 5, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs, _ := l.Since(tc.after)
			var got []uint64
			for _, e := range evs {
				got = append(got, e.Seq)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	evs, _ := l.Since(4)
	if evs[0].Message != "event 4" || evs[0].Kind != "instance" || evs[0].Level != "info" || !evs[0].Time.Equal(now) {
		t.Fatalf("event fields: %+v", evs[0])
	}
}

func TestFollowSeesNewEvents(t *testing.T) {
	l := New(16, nil)
	l.Warn("target-group", "web", "old")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stop := errors.New("stop")
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- l.Follow(ctx, 0, func(e Event) error {
			got = append(got, e.Message)
			if len(got) == 2 {
				return stop
			}
			return nil
		})
	}()
	l.Error("instance", "i-2", "new")
	if err := <-done; !errors.Is(err, stop) {
		t.Fatalf("Follow: %v", err)
	}
	if got[0] != "old" || got[1] != "new" {
		t.Fatalf("got %v", got)
	}
}
