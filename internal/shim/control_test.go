package shim

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestControlAddress(t *testing.T) {
	root := t.TempDir()
	a := filepath.Join(root, "instances", "i-0123456789abcdef0", "state")
	b := filepath.Join(root, "instances", "i-0fedcba9876543210", "state")
	for _, d := range []string{a, b} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(root, "home-link")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(root, strings.Repeat("d", 200), "i-"+strings.Repeat("x", 60), "state")
	tests := []struct {
		name     string
		x, y     string
		wantSame bool
	}{
		{"the same directory", a, a, true},
		{"through a symlink", a, filepath.Join(link, "instances", "i-0123456789abcdef0", "state"), true},
		{"relative and absolute", a, mustRel(t, a), true},
		{"two instances", a, b, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, y := ControlAddress(tt.x), ControlAddress(tt.y)
			if (x == y) != tt.wantSame {
				t.Errorf("ControlAddress(%s) = %s, ControlAddress(%s) = %s; want same = %v", tt.x, x, tt.y, y, tt.wantSame)
			}
		})
	}
	if got := ControlAddress(a); !strings.HasPrefix(got, "@madang-shim/i-0123456789abcdef0/") {
		t.Errorf("ControlAddress = %q, want it to name the instance", got)
	}
	if got := ControlAddress(long); len(got) > 107 {
		t.Errorf("ControlAddress of a long path is %d bytes (%q); sun_path holds 107", len(got), got)
	}
}

func mustRel(t *testing.T, path string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// TestDialReachesAnEarlierShimsSocketFile: shims of earlier versions
// listen on StateDir/SocketFile; a daemon adopting them dials it when the
// abstract name does not answer.
func TestDialReachesAnEarlierShimsSocketFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := Dial(dir, time.Second); err == nil {
		t.Fatal("Dial succeeded with no shim listening")
	}
	ln, err := net.Listen("unix", filepath.Join(dir, SocketFile))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{})
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			close(accepted)
		}
	}()
	c, err := Dial(dir, time.Second)
	if err != nil {
		t.Fatalf("Dial with a socket file: %v", err)
	}
	c.Close()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("the socket file's listener saw no connection")
	}
}
