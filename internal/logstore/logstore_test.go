package logstore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/loggroup"
)

var t0 = time.Date(2026, 10, 13, 10, 0, 0, 0, time.UTC)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(Options{Dir: t.TempDir(), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ev(sec float64, msg string) Event {
	return Event{Timestamp: t0.Add(time.Duration(sec * float64(time.Second))), Message: msg}
}

func TestPutRules(t *testing.T) {
	tests := []struct {
		name      string
		events    []Event
		retention int
		wantErr   string
		want      Rejected
		stored    []string
	}{
		{name: "in order", events: []Event{ev(-2, "a"), ev(-1, "b\nc")}, want: Rejected{-1, -1}, stored: []string{"a", "b\nc"}},
		{name: "empty batch", events: nil, wantErr: "give 1 to 10000"},
		{name: "out of order", events: []Event{ev(-1, "b"), ev(-2, "a")}, wantErr: "chronological order"},
		{name: "empty message", events: []Event{ev(-1, "")}, wantErr: "is empty"},
		{name: "longer than a day", events: []Event{ev(-90000, "a"), ev(-1, "b")}, wantErr: "cannot span more than 24 hours"},
		{name: "too big", events: []Event{ev(-1, strings.Repeat("x", MaxEventBytes+1))}, wantErr: "split the message"},
		{name: "too old and too new", events: []Event{ev(-14*86400-3600, "old"), ev(-14*86400+3600, "kept"), ev(-14*86400+7200, "kept too")},
			want: Rejected{TooOldEnd: 1, TooNewStart: -1}, stored: []string{"kept", "kept too"}},
		{name: "too new", events: []Event{ev(0, "now"), ev(3*3600, "future")}, want: Rejected{TooOldEnd: -1, TooNewStart: 1}, stored: []string{"now"}},
		{name: "older than retention", events: []Event{ev(-86400-30, "old"), ev(-60, "new")}, retention: 1,
			want: Rejected{TooOldEnd: 1, TooNewStart: -1}, stored: []string{"new"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if err := s.CreateStream("/app/web", "s:1"); err != nil {
				t.Fatal(err)
			}
			rej, err := s.Put("/app/web", "s:1", tc.events, tc.retention)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Put = %v, want ErrInvalid with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || rej != tc.want {
				t.Fatalf("Put = %+v, %v; want %+v", rej, err, tc.want)
			}
			evs, _, err := loggroup.Filter(t.Context(), s, loggroup.FilterQuery{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range evs {
				got = append(got, e.Message)
				if e.Group != "/app/web" || e.Stream != "s:1" {
					t.Errorf("event in %s %s", e.Group, e.Stream)
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.stored, "|") {
				t.Errorf("stored %q, want %q", got, tc.stored)
			}
		})
	}
}

func TestStreams(t *testing.T) {
	s := open(t)
	if _, err := s.Put("/g", "missing", []Event{ev(0, "x")}, 0); !errors.Is(err, ErrStreamNotFound) {
		t.Errorf("Put to a missing stream = %v, want ErrStreamNotFound", err)
	}
	for _, n := range []string{"b", "a/with slash"} {
		if err := s.CreateStream("/g", n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateStream("/g", "b"); !errors.Is(err, ErrStreamExists) {
		t.Errorf("CreateStream twice = %v, want ErrStreamExists", err)
	}
	if err := s.CreateStream("/other", "c"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range s.Streams() {
		names = append(names, st.Group+" "+st.Stream+" "+st.Format)
	}
	if got, want := strings.Join(names, ","), "/g a/with slash event,/g b event,/other c event"; got != want {
		t.Errorf("Streams = %s, want %s", got, want)
	}
	if err := s.DeleteStream("/g", "b"); err != nil || s.Has("/g", "b") {
		t.Errorf("DeleteStream = %v, still there %v", err, s.Has("/g", "b"))
	}
	if err := s.DeleteStream("/g", "b"); !errors.Is(err, ErrStreamNotFound) {
		t.Errorf("DeleteStream twice = %v", err)
	}
	if err := s.DeleteGroup("/g"); err != nil || len(s.Streams()) != 1 {
		t.Errorf("DeleteGroup = %v, streams %+v", err, s.Streams())
	}
}
