package cli

import (
	"slices"
	"strings"
	"testing"
)

func TestTargetRegistration(t *testing.T) {
	f, srv := fakeDaemon(t)
	cases := []struct {
		name string
		args []string
		code int
		out  string // in stdout (code 0) or stderr
		want []string
	}{
		{name: "register with a port", args: []string{"tg", "register", "web", "i-01:3000"}, out: "registered 1 target(s) in web", want: []string{"i-01"}},
		{name: "register a bad port", args: []string{"tg", "register", "web", "i-01:x"}, code: ExitUsage, out: `port "x" is not 0..65535`, want: []string{"i-01"}},
		{name: "register without an id", args: []string{"tg", "register", "web"}, code: ExitUsage, out: "requires at least 2 arg(s)", want: []string{"i-01"}},
		{name: "register an unknown instance", args: []string{"tg", "register", "web", "i-404"}, code: 1, out: "no instance i-404", want: []string{"i-01"}},
		{name: "register in an unknown group", args: []string{"tg", "register", "nope", "i-01"}, code: 1, out: `no target group "nope"`, want: []string{"i-01"}},
		{name: "deregister", args: []string{"tg", "deregister", "web", "i-01"}, out: "deregistered 1 target(s) from web"},
		{name: "deregister from an unknown group", args: []string{"tg", "deregister", "nope", "i-01"}, code: 1, out: `no target group "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t.Context(), t, srv, tc.args...)
			out := stdout
			if tc.code != 0 {
				out = stderr
			}
			if code != tc.code || !strings.Contains(out, tc.out) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tc.code, tc.out, stdout, stderr)
			}
			var ids []string
			for _, h := range f.Health["web"] {
				ids = append(ids, h.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("targets of web = %v, want %v", ids, tc.want)
			}
		})
	}
}
