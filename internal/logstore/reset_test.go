package logstore

import (
	"os"
	"testing"
)

func TestReset(t *testing.T) {
	tests := []struct {
		name    string
		streams [][2]string // group, stream
		want    int
	}{
		{name: "empty", want: 0},
		{name: "one group", streams: [][2]string{{"/app/web", "a"}}, want: 1},
		{name: "several groups", streams: [][2]string{{"/app/web", "a"}, {"/app/web", "b"}, {"/app/worker", "s:1"}}, want: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			for _, gs := range tc.streams {
				if err := s.CreateStream(gs[0], gs[1]); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Put(gs[0], gs[1], []Event{ev(-1, "hello")}, 0); err != nil {
					t.Fatal(err)
				}
			}
			n, err := s.Reset()
			if err != nil {
				t.Fatalf("Reset: %v", err)
			}
			if n != tc.want {
				t.Errorf("Reset removed %d streams, want %d", n, tc.want)
			}
			if got := s.Streams(); len(got) != 0 {
				t.Errorf("Streams after Reset = %v, want none", got)
			}
			if ents, _ := os.ReadDir(s.opts.Dir); len(ents) != 0 {
				t.Errorf("%d entries left in the store's directory", len(ents))
			}
			// A stream of the same name starts empty.
			if err := s.CreateStream("/app/web", "a"); err != nil {
				t.Fatalf("CreateStream after Reset: %v", err)
			}
			if !s.Has("/app/web", "a") {
				t.Error("stream made after Reset is missing")
			}
		})
	}
}
