package cli

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func TestParseProcAddr(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{name: "ipv4 loopback", in: "0100007F:1F90", want: "127.0.0.1:8080"},
		{name: "ipv4 wildcard", in: "00000000:0BB8", want: "0.0.0.0:3000"},
		{name: "ipv6 loopback", in: "00000000000000000000000001000000:1F90", want: "[::1]:8080"},
		{name: "ipv4-mapped", in: "0000000000000000FFFF00000100007F:0050", want: "127.0.0.1:80"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProcAddr(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Fatalf("parseProcAddr(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
	for _, bad := range []string{"0100007F", "0100007F:zz", "01:0050"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("parseProcAddr(%q): no error", bad)
		}
	}
}

const procNetTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0000000000000000 100 0 0 10 0
   1: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F91 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 333 1 0000000000000000 20 4 30 10 -1
`

func TestFindListener(t *testing.T) {
	cases := []struct {
		name, addr, want string
	}{
		{name: "exact address", addr: "127.0.0.1:8080", want: "111"},
		{name: "wildcard holds every address", addr: "127.16.0.2:3000", want: "222"},
		{name: "connected socket is no listener", addr: "127.0.0.1:8081", want: ""},
		{name: "other address", addr: "127.0.0.2:8080", want: ""},
		{name: "wildcard asked", addr: "0.0.0.0:8080", want: "111"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := findListener([]byte(procNetTCP), netip.MustParseAddrPort(tc.addr)); got != tc.want {
				t.Fatalf("findListener(%s) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

func TestListenerOwner(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	for _, prefer := range []int{os.Getpid(), 0} {
		o, err := listenerOwner("/proc", ap, prefer)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Listening || o.PID != os.Getpid() || o.Command == "" {
			t.Fatalf("owner of our own listener (prefer %d): %+v, want pid %d", prefer, o, os.Getpid())
		}
	}
	ln.Close()
	o, err := listenerOwner("/proc", ap, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if o.Listening {
		t.Fatalf("owner of a closed listener: %+v, want nothing listening", o)
	}
	if _, err := listenerOwner(t.TempDir(), ap, 0); !errors.Is(err, errNoProcNet) {
		t.Fatalf("without socket tables: %v, want errNoProcNet", err)
	}
	if _, err := listenerOwner(filepath.Join(t.TempDir(), "missing"), ap, 0); !errors.Is(err, errNoProcNet) {
		t.Fatalf("without /proc: %v, want errNoProcNet", err)
	}
}

func TestOverlaps(t *testing.T) {
	cases := []struct {
		name string
		a, b string
		want bool
	}{
		{name: "same address and port", a: "127.0.0.1:8080", b: "127.0.0.1:8080", want: true},
		{name: "other port", a: "127.0.0.1:8080", b: "127.0.0.1:8081", want: false},
		{name: "other address", a: "127.0.0.1:8080", b: "127.0.0.2:8080", want: false},
		{name: "wildcard", a: "0.0.0.0:8080", b: "127.0.0.2:8080", want: true},
		{name: "ipv6 wildcard", a: "127.0.0.2:8080", b: "[::]:8080", want: true},
		{name: "host names", a: "localhost:8080", b: "localhost:8080", want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := overlaps(tc.a, tc.b); got != tc.want {
				t.Fatalf("overlaps(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestPortOwnerString(t *testing.T) {
	cases := []struct {
		o    portOwner
		want string
	}{
		{o: portOwner{}, want: "nothing"},
		{o: portOwner{Listening: true}, want: "a program of another user"},
		{o: portOwner{Listening: true, PID: 42}, want: "pid 42"},
		{o: portOwner{Listening: true, PID: 42, Command: "nc"}, want: "pid 42 (nc)"},
	}
	for _, tc := range cases {
		if got := tc.o.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.o, got, tc.want)
		}
	}
}
