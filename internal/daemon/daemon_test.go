package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/api"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startDaemon runs a daemon in-process for the test, with a TCP API on
// listen when it is set.
func startDaemon(t *testing.T, listen string) (home string) {
	t.Helper()
	return runDaemon(t, Config{Listen: listen, Token: "sekret"}).cfg.Home
}

func TestAPIErrorsAreMachineReadable(t *testing.T) {
	addr := freeAddr(t)
	home := startDaemon(t, addr)
	c := api.NewUnixClient(SocketPath(home))
	ctx := context.Background()

	if fi, err := os.Stat(SocketPath(home)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v, want 0600", fi.Mode().Perm(), err)
	}

	cases := []struct {
		name   string
		call   func() error
		status int
		code   string
		want   string
	}{
		{
			name:   "unknown instance",
			call:   func() error { _, err := c.Describe(ctx, "i-0123456789abcdef0"); return err },
			status: 404, code: "NotFound", want: "no instance",
		},
		{
			name: "bad stack file",
			call: func() error {
				_, err := c.Apply(ctx, api.StackRequest{Path: filepath.Join(home, "x.yaml"), DisplayPath: "x.yaml", YAML: "images:\n  - name: a\n    prot: 3\n"})
				return err
			},
			status: 400, code: "ValidationError", want: "x.yaml:3",
		},
		{
			name:   "bad instance action",
			call:   func() error { _, err := c.Action(ctx, "i-0123456789abcdef0", "explode"); return err },
			status: 400, code: "ValidationError", want: "unknown instance action",
		},
		{
			name:   "unknown target group",
			call:   func() error { _, err := c.TargetHealth(ctx, "nope"); return err },
			status: 404, code: "NotFound", want: "no target group",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae *api.Error
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *api.Error", err)
			}
			if ae.Status != tc.status || ae.Code != tc.code || !strings.Contains(ae.Message, tc.want) {
				t.Fatalf("got %d %s %q, want %d %s containing %q", ae.Status, ae.Code, ae.Message, tc.status, tc.code, tc.want)
			}
		})
	}

	// A bad stack changed nothing.
	if ims, err := c.Images(ctx); err != nil || len(ims) != 0 {
		t.Fatalf("images after a rejected apply: %v %v", ims, err)
	}

	// TCP requires the token.
	resp, err := http.Get("http://" + addr + "/v1/info")
	if err != nil {
		t.Fatal(err)
	}
	var body api.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 401 || body.Error.Code != "Unauthorized" {
		t.Fatalf("tcp without token: %d %+v, want 401 Unauthorized", resp.StatusCode, body)
	}
	if _, err := api.NewTCPClient(addr, "sekret").Info(ctx); err != nil {
		t.Fatalf("tcp with token: %v", err)
	}
	if _, err := api.NewTCPClient(addr, "wrong").Info(ctx); err == nil {
		t.Fatal("tcp with a wrong token succeeded")
	}
}

func TestSecondDaemonIsRefused(t *testing.T) {
	home := startDaemon(t, "")
	err := Run(context.Background(), Config{Home: home, Executable: os.Args[0]})
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second daemon on the same home: %v, want a lock error", err)
	}
}
