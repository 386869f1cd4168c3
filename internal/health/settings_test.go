package health

import (
	"strings"
	"testing"
	"time"
)

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Settings)
		wantErr []string // substrings; none means valid
	}{
		{name: "AWS defaults", edit: func(*Settings) {}},
		{name: "zero settings take defaults", edit: func(s *Settings) { *s = Settings{} }},
		{name: "sub-second interval", edit: func(s *Settings) { s.Interval, s.Timeout = 500*time.Millisecond, 200*time.Millisecond }},
		{name: "path with query", edit: func(s *Settings) { s.Path = "/health?deep=1" }},
		{name: "HTTPS", edit: func(s *Settings) { s.Protocol = "HTTPS" }, wantErr: []string{`protocol "HTTPS" is not supported; use HTTP`}},
		{name: "relative path", edit: func(s *Settings) { s.Path = "health" }, wantErr: []string{`path "health" must start with "/"`}},
		{name: "path with space", edit: func(s *Settings) { s.Path = "/my health" }, wantErr: []string{`path "/my health" is not a valid request path`}},
		{name: "port too high", edit: func(s *Settings) { s.Port = 70000 }, wantErr: []string{"port 70000 is out of range; use 1–65535, or 0 for the traffic port"}},
		{name: "timeout equals interval", edit: func(s *Settings) { s.Timeout = 30 * time.Second }, wantErr: []string{"timeout 30s must be less than the interval 30s"}},
		{name: "negative interval", edit: func(s *Settings) { s.Interval = -time.Second }, wantErr: []string{"interval -1s is negative"}},
		{name: "healthy threshold too high", edit: func(s *Settings) { s.HealthyThreshold = 11 }, wantErr: []string{"healthy threshold 11 is out of range; use 1–10"}},
		{name: "unhealthy threshold negative", edit: func(s *Settings) { s.UnhealthyThreshold = -1 }, wantErr: []string{"unhealthy threshold -1 is out of range"}},
		{
			name:    "every problem is named",
			edit:    func(s *Settings) { s.Protocol, s.Path, s.Port = "TCP", "x", -1 },
			wantErr: []string{`protocol "TCP"`, `path "x"`, "port -1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSettings()
			tc.edit(&s)
			err := s.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestDefaultSettingsAreAWS(t *testing.T) {
	got := DefaultSettings()
	want := Settings{Enabled: true, Protocol: "HTTP", Path: "/", Interval: 30 * time.Second, Timeout: 5 * time.Second, HealthyThreshold: 5, UnhealthyThreshold: 2}
	if got.Enabled != want.Enabled || got.Protocol != want.Protocol || got.Path != want.Path || got.Port != want.Port ||
		got.Interval != want.Interval || got.Timeout != want.Timeout ||
		got.HealthyThreshold != want.HealthyThreshold || got.UnhealthyThreshold != want.UnhealthyThreshold ||
		got.Matcher.String() != "200" {
		t.Errorf("DefaultSettings() = %+v, want %+v with matcher 200", got, want)
	}
	if zero := (Settings{}).withDefaults(); zero.Interval != want.Interval || zero.Path != want.Path || zero.Enabled {
		t.Errorf("zero Settings with defaults = %+v, want AWS defaults with checks disabled", zero)
	}
}
