package v1

import (
	"testing"
	"time"
)

func TestChangeString(t *testing.T) {
	cases := []struct {
		name string
		c    Change
		want string
	}{
		{name: "create", c: Change{Action: ActionCreate, Kind: "image", Name: "hello"}, want: "+ image hello"},
		{name: "delete", c: Change{Action: ActionDelete, Kind: "load-balancer", Name: "old"}, want: "- load-balancer old"},
		{name: "update with details", c: Change{Action: ActionUpdate, Kind: "target-group", Name: "web", Details: []string{"port: 1 → 2", "path: / → /h"}},
			want: "~ target-group web: port: 1 → 2; path: / → /h"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEventString(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	e := Event{Seq: 1, Time: at, Kind: "instance", Resource: "i-01", Level: LevelWarn, Message: "backoff"}
	want := at.Local().Format("15:04:05.000") + " warn  instance i-01: backoff"
	if got := e.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestInstanceAddr(t *testing.T) {
	cases := []struct {
		name string
		in   Instance
		want string
	}{
		{name: "no address yet", in: Instance{Port: 3000}, want: ""},
		{name: "ipv4", in: Instance{PrivateIP: "127.16.0.2", Port: 3000}, want: "127.16.0.2:3000"},
		{name: "ipv6", in: Instance{PrivateIP: "::1", Port: 3000}, want: "[::1]:3000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.Addr(); got != tc.want {
				t.Errorf("Addr() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	if v := (Image{}).Current(); v.Number != 0 {
		t.Errorf("Current of an image without versions = %+v, want zero", v)
	}
	im := Image{Versions: []ImageVersion{{Number: 1}, {Number: 2}}}
	if v := im.Current(); v.Number != 2 {
		t.Errorf("Current = %d, want 2", v.Number)
	}
	lt := LaunchTemplate{Versions: make([]LaunchTemplateVersion, 3)}
	if got := lt.Latest(); got != 3 {
		t.Errorf("Latest = %d, want 3", got)
	}
}
