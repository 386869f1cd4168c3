package schedule

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the host's zoneinfo
)

func ip(v int) *int { return &v }

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		action Action
		want   []string // substrings of the error; none means valid
	}{
		{"recurring desired only", Action{Name: "a", Recurrence: "0 9 * * MON-FRI", DesiredCapacity: ip(3)}, nil},
		{"one-time with start", Action{Name: "a", StartTime: utc("2026-06-01T00:00:00Z"), MinSize: ip(1)}, nil},
		{"all sizes in order", Action{Name: "a", Recurrence: "0 0 * * *", MinSize: ip(1), DesiredCapacity: ip(2), MaxSize: ip(3), TimeZone: "Asia/Seoul"}, nil},
		{"no name", Action{Recurrence: "0 0 * * *", MinSize: ip(1)}, []string{"Name"}},
		{"name too long", Action{Name: strings.Repeat("n", 256), Recurrence: "0 0 * * *", MinSize: ip(1)}, []string{"Name", "1 to 255"}},
		{"no size", Action{Name: "a", Recurrence: "0 0 * * *"}, []string{"MinSize", "MaxSize and DesiredCapacity", "set at least one"}},
		{"negative size", Action{Name: "a", Recurrence: "0 0 * * *", MaxSize: ip(-1)}, []string{"MaxSize", "-1", "negative"}},
		{"min above max", Action{Name: "a", Recurrence: "0 0 * * *", MinSize: ip(5), MaxSize: ip(2)}, []string{"MinSize", "5", "greater than MaxSize 2"}},
		{"desired below min", Action{Name: "a", Recurrence: "0 0 * * *", MinSize: ip(2), DesiredCapacity: ip(1)}, []string{"DesiredCapacity", "less than MinSize 2"}},
		{"desired above max", Action{Name: "a", Recurrence: "0 0 * * *", MaxSize: ip(2), DesiredCapacity: ip(3)}, []string{"DesiredCapacity", "greater than MaxSize 2"}},
		{"bad recurrence", Action{Name: "a", Recurrence: "0 25 * * *", MinSize: ip(1)}, []string{"Recurrence.Hour", "25"}},
		{"unknown zone", Action{Name: "a", Recurrence: "0 0 * * *", TimeZone: "Mars/Olympus", MinSize: ip(1)}, []string{"TimeZone", "Mars/Olympus", "IANA"}},
		{"Local zone refused", Action{Name: "a", Recurrence: "0 0 * * *", TimeZone: "Local", MinSize: ip(1)}, []string{"TimeZone", "Local"}},
		{"one-time without start", Action{Name: "a", MinSize: ip(1)}, []string{"StartTime", "one-time"}},
		{"end before start", Action{Name: "a", Recurrence: "0 0 * * *", MinSize: ip(1),
			StartTime: utc("2026-06-02T00:00:00Z"), EndTime: utc("2026-06-01T00:00:00Z")}, []string{"EndTime", "2026-06-01T00:00:00Z", "not after StartTime"}},
		{"end equal to start", Action{Name: "a", Recurrence: "0 0 * * *", MinSize: ip(1),
			StartTime: utc("2026-06-01T00:00:00Z"), EndTime: utc("2026-06-01T00:00:00Z")}, []string{"EndTime"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.action.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		name   string
		action Action
		after  string
		want   string // "" means never again
	}{
		{"next minute", Action{Recurrence: "* * * * *"}, "2026-03-01T10:00:00Z", "2026-03-01T10:01:00Z"},
		{"strictly after", Action{Recurrence: "0 9 * * *"}, "2026-03-01T09:00:00Z", "2026-03-02T09:00:00Z"},
		{"mid-minute", Action{Recurrence: "* * * * *"}, "2026-03-01T10:00:30Z", "2026-03-01T10:01:00Z"},
		{"step", Action{Recurrence: "*/15 * * * *"}, "2026-03-01T10:16:00Z", "2026-03-01T10:30:00Z"},
		{"across month end", Action{Recurrence: "0 0 1 * *"}, "2026-01-31T12:00:00Z", "2026-02-01T00:00:00Z"},
		{"across year end", Action{Recurrence: "30 23 * * *"}, "2026-12-31T23:30:00Z", "2027-01-01T23:30:00Z"},
		{"31st skips short months", Action{Recurrence: "0 0 31 * *"}, "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z"},
		{"leap day", Action{Recurrence: "0 0 29 2 *"}, "2025-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"leap day skips 2100", Action{Recurrence: "0 0 29 FEB *"}, "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"},
		{"30 February never", Action{Recurrence: "0 0 30 2 *"}, "2026-01-01T00:00:00Z", ""},
		{"weekdays", Action{Recurrence: "0 9 * * MON-FRI"}, "2026-03-06T09:00:00Z", "2026-03-09T09:00:00Z"}, // Fri → Mon
		{"either day: the 13th", Action{Recurrence: "0 0 13 * FRI"}, "2026-03-10T00:00:00Z", "2026-03-13T00:00:00Z"},
		{"either day: a Friday", Action{Recurrence: "0 0 13 * FRI"}, "2026-03-13T00:00:00Z", "2026-03-20T00:00:00Z"},
		{"dow with dom star", Action{Recurrence: "0 0 * * SUN"}, "2026-03-02T00:00:00Z", "2026-03-08T00:00:00Z"},
		{"month list", Action{Recurrence: "30 0 1 1,6,12 *"}, "2026-01-01T00:30:00Z", "2026-06-01T00:30:00Z"},

		{"Seoul 09:00 is 00:00 UTC", Action{Recurrence: "0 9 * * *", TimeZone: "Asia/Seoul"}, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"},
		{"Seoul has no DST in March", Action{Recurrence: "30 2 * * *", TimeZone: "Asia/Seoul"}, "2026-03-07T18:00:00Z", "2026-03-07T17:30:00Z+1d"},
		{"Seoul day boundary", Action{Recurrence: "0 0 1 * *", TimeZone: "Asia/Seoul"}, "2026-03-31T14:00:00Z", "2026-03-31T15:00:00Z"},

		{"Seoul 1988 DST gap", Action{Recurrence: "30 2 8 5 *", TimeZone: "Asia/Seoul"}, "1988-05-01T00:00:00Z", "1988-05-07T17:00:00Z"},
		{"Seoul 1988 DST overlap runs first", Action{Recurrence: "30 2 9 10 *", TimeZone: "Asia/Seoul"}, "1988-10-01T00:00:00Z", "1988-10-08T16:30:00Z"},
		{"Seoul 1988 DST overlap runs once", Action{Recurrence: "30 2 9 10 *", TimeZone: "Asia/Seoul"}, "1988-10-08T16:30:00Z", "1989-10-08T17:30:00Z"},

		{"New York winter", Action{Recurrence: "0 9 * * *", TimeZone: "America/New_York"}, "2026-03-01T00:00:00Z", "2026-03-01T14:00:00Z"},
		{"New York summer", Action{Recurrence: "0 9 * * *", TimeZone: "America/New_York"}, "2026-03-08T14:00:00Z", "2026-03-09T13:00:00Z"},
		{"New York gap runs at 03:00 EDT", Action{Recurrence: "30 2 * * *", TimeZone: "America/New_York"}, "2026-03-07T08:00:00Z", "2026-03-08T07:00:00Z"},
		{"New York after the gap", Action{Recurrence: "30 2 * * *", TimeZone: "America/New_York"}, "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"},
		{"New York skipped times collapse", Action{Recurrence: "*/15 2 * * *", TimeZone: "America/New_York"}, "2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"},
		{"New York ambiguous runs first", Action{Recurrence: "30 1 * * *", TimeZone: "America/New_York"}, "2026-11-01T00:00:00Z", "2026-11-01T05:30:00Z"},
		{"New York ambiguous runs once", Action{Recurrence: "30 1 * * *", TimeZone: "America/New_York"}, "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},

		{"Samoa skipped 30 Dec 2011: runs at the start of 31 Dec", Action{Recurrence: "0 12 * * *", TimeZone: "Pacific/Apia"}, "2011-12-29T22:00:00Z", "2011-12-30T10:00:00Z"},
		{"Samoa after the skipped day", Action{Recurrence: "0 12 * * *", TimeZone: "Pacific/Apia"}, "2011-12-30T10:00:00Z", "2011-12-30T22:00:00Z"},

		{"start time runs first", Action{Recurrence: "0 9 * * *", StartTime: utc("2026-03-05T12:34:00Z")}, "2026-03-01T00:00:00Z", "2026-03-05T12:34:00Z"},
		{"recurrence after start", Action{Recurrence: "0 9 * * *", StartTime: utc("2026-03-05T12:34:00Z")}, "2026-03-05T12:34:00Z", "2026-03-06T09:00:00Z"},
		{"end inclusive", Action{Recurrence: "0 9 * * *", EndTime: utc("2026-03-06T09:00:00Z")}, "2026-03-05T10:00:00Z", "2026-03-06T09:00:00Z"},
		{"after end", Action{Recurrence: "0 9 * * *", EndTime: utc("2026-03-06T08:59:00Z")}, "2026-03-05T10:00:00Z", ""},
		{"one-time ahead", Action{StartTime: utc("2026-03-05T12:00:00Z")}, "2026-03-01T00:00:00Z", "2026-03-05T12:00:00Z"},
		{"one-time done", Action{StartTime: utc("2026-03-05T12:00:00Z")}, "2026-03-05T12:00:00Z", ""},
		{"one-time without start", Action{}, "2026-03-01T00:00:00Z", ""},
		{"invalid recurrence never", Action{Recurrence: "bad"}, "2026-03-01T00:00:00Z", ""},
		{"invalid zone never", Action{Recurrence: "* * * * *", TimeZone: "Nowhere/City"}, "2026-03-01T00:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after := utc(tt.after)
			got, ok := tt.action.Next(after)
			if tt.want == "" {
				if ok {
					t.Fatalf("Next(%s) = %s, want never", tt.after, got.UTC().Format(time.RFC3339))
				}
				return
			}
			want := parseWant(tt.want)
			if !ok || !got.Equal(want) {
				t.Fatalf("Next(%s) = %s, %v; want %s", tt.after, got.UTC().Format(time.RFC3339), ok, want.Format(time.RFC3339))
			}
		})
	}
}

// parseWant reads an RFC 3339 time with an optional "+1d" suffix.
func parseWant(s string) time.Time {
	if base, ok := strings.CutSuffix(s, "+1d"); ok {
		return utc(base).AddDate(0, 0, 1)
	}
	return utc(s)
}

func TestDue(t *testing.T) {
	every15 := Action{Name: "every15", Recurrence: "*/15 * * * *", DesiredCapacity: ip(2)}
	hourly := Action{Name: "hourly", Recurrence: "0 * * * *", DesiredCapacity: ip(4)}
	once := Action{Name: "once", StartTime: utc("2026-03-01T10:20:00Z"), MaxSize: ip(9)}
	tests := []struct {
		name      string
		actions   []Action
		last, now string
		wantNames []string
		wantTimes []string
	}{
		{"empty window", []Action{every15}, "2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z", nil, nil},
		{"last excluded, now included", []Action{every15}, "2026-03-01T10:00:00Z", "2026-03-01T10:15:00Z",
			[]string{"every15"}, []string{"2026-03-01T10:15:00Z"}},
		{"one tick of a second", []Action{every15}, "2026-03-01T10:14:59Z", "2026-03-01T10:15:00Z",
			[]string{"every15"}, []string{"2026-03-01T10:15:00Z"}},
		{"nothing in a tick", []Action{every15}, "2026-03-01T10:15:00Z", "2026-03-01T10:15:01Z", nil, nil},
		{"time order, ties in input order", []Action{hourly, every15, once}, "2026-03-01T09:59:00Z", "2026-03-01T10:30:00Z",
			[]string{"hourly", "every15", "every15", "once", "every15"},
			[]string{"2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z", "2026-03-01T10:15:00Z", "2026-03-01T10:20:00Z", "2026-03-01T10:30:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Due(tt.actions, utc(tt.last), utc(tt.now))
			if len(got) != len(tt.wantNames) {
				t.Fatalf("Due() returned %d runs, want %d: %v", len(got), len(tt.wantNames), got)
			}
			for i, f := range got {
				if f.Action.Name != tt.wantNames[i] || !f.At.Equal(utc(tt.wantTimes[i])) {
					t.Errorf("run %d = %s at %s, want %s at %s", i, f.Action.Name, f.At.UTC().Format(time.RFC3339), tt.wantNames[i], tt.wantTimes[i])
				}
			}
		})
	}
}

func TestValidateAt(t *testing.T) {
	now := utc("2026-03-01T12:00:00Z")
	tests := []struct {
		name   string
		action Action
		want   []string // substrings of the error; none means valid
	}{
		{"start ahead", Action{Name: "a", StartTime: utc("2026-03-01T12:00:01Z"), MinSize: ip(1)}, nil},
		{"start now", Action{Name: "a", StartTime: now, MinSize: ip(1)}, nil},
		{"no start", Action{Name: "a", Recurrence: "0 0 * * *", MinSize: ip(1)}, nil},
		{"start in the past", Action{Name: "a", StartTime: utc("2026-03-01T11:59:59Z"), MinSize: ip(1)},
			[]string{"StartTime", "2026-03-01T11:59:59Z", "in the past", "2026-03-01T12:00:00Z"}},
		{"past and invalid", Action{Name: "a", StartTime: utc("2026-01-01T00:00:00Z")},
			[]string{"MinSize", "StartTime", "in the past"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.action.ValidateAt(now)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("ValidateAt() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateAt() = nil, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ValidateAt() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
