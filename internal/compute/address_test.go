package compute

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// hostPorts is a fake host: the addresses (ip:port, or *:port for a
// wildcard listener) some other program binds.
type hostPorts map[string]bool

func (h hostPorts) free(ip string, port int) bool {
	return !h[joinHostPort(ip, port)] && !h["*:"+strconv.Itoa(port)]
}

// testHome is one madang home using the address book b.
type testHome struct {
	t    *testing.T
	b    *AddressBook
	home string
	live map[string]*Instance
}

func newTestHome(t *testing.T, b *AddressBook) *testHome {
	return &testHome{t: t, b: b, home: t.TempDir(), live: map[string]*Instance{}}
}

func (h *testHome) claimant(id string) claimant {
	return claimant{
		home: h.home, id: id, dir: filepath.Join(h.home, "instances", id),
		live: func(id string) bool { _, ok := h.live[id]; return ok },
	}
}

// run allocates an address for a new instance id.
func (h *testHome) run(mode AddressMode, id string, port int) *Instance {
	h.t.Helper()
	c := h.claimant(id)
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	var used []*Instance
	for _, in := range h.live {
		used = append(used, in)
	}
	ip, p, err := h.b.allocate(mode, c, port, used, time.Unix(0, 0))
	if err != nil {
		h.t.Fatalf("allocate %s: %v", id, err)
	}
	in := &Instance{ID: id, PrivateIP: ip, Port: p, Dir: c.dir}
	h.live[id] = in
	return in
}

func TestAllocateAddress(t *testing.T) {
	tests := []struct {
		name     string
		mode     AddressMode
		used     []*Instance
		busy     hostPorts
		port     int
		wantIP   string
		wantPort int // 0: any port other than port
	}{
		{name: "lowest free address", used: []*Instance{{PrivateIP: "127.16.0.2", Port: 3000}, {PrivateIP: "127.16.0.4", Port: 3000}},
			port: 3000, wantIP: "127.16.0.3", wantPort: 3000},
		{name: "another program holds the port on the first free address", used: []*Instance{{PrivateIP: "127.16.0.2", Port: 3000}, {PrivateIP: "127.16.0.4", Port: 3000}},
			busy: hostPorts{"127.16.0.3:3000": true}, port: 3000, wantIP: "127.16.0.5", wantPort: 3000},
		{name: "a wildcard listener holds the port everywhere: another port", used: []*Instance{{PrivateIP: "127.16.0.2", Port: 3000}},
			busy: hostPorts{"*:3000": true}, port: 3000, wantIP: "127.16.0.3"},
		{name: "loopback ports", mode: LoopbackPorts, used: []*Instance{{PrivateIP: "127.0.0.1", Port: 20000}},
			busy: hostPorts{"127.0.0.1:20001": true}, port: 3000, wantIP: "127.0.0.1", wantPort: 20002},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &AddressBook{Dir: t.TempDir(), PortFree: tc.busy.free}
			h := newTestHome(t, b)
			ip, port, err := b.allocate(tc.mode, h.claimant("i-new"), tc.port, tc.used, time.Unix(0, 0))
			if err != nil || ip != tc.wantIP || (tc.wantPort != 0 && port != tc.wantPort) || (tc.wantPort == 0 && (port == tc.port || port < 20000)) {
				t.Fatalf("allocate = %s:%d, %v; want %s:%d (0: another port)", ip, port, err, tc.wantIP, tc.wantPort)
			}
		})
	}
}

// TestAddressesAcrossHomes: two homes sharing a host never get the same
// address, a stopped instance keeps its address, and leases of instances
// that are gone are reclaimed.
func TestAddressesAcrossHomes(t *testing.T) {
	for _, mode := range []AddressMode{LoopbackIPs, LoopbackPorts} {
		t.Run(mode.String(), func(t *testing.T) {
			b := &AddressBook{Dir: t.TempDir(), PortFree: hostPorts{}.free}
			a, c := newTestHome(t, b), newTestHome(t, b)
			seen := map[string]string{}
			for i := 0; i < 5; i++ {
				for _, h := range []*testHome{a, c} {
					id := "i-" + strconv.Itoa(i)
					in := h.run(mode, id, 3000)
					if other, dup := seen[in.Addr()]; dup {
						t.Fatalf("%s of %s got %s, already given to %s", id, h.home, in.Addr(), other)
					}
					seen[in.Addr()] = h.home + " " + id
				}
			}
			// The other home's instance is stopped (it keeps its record
			// and directory): its lease holds, and a claim of its address
			// by this home fails, naming the holder.
			stopped := c.live["i-0"]
			err := b.claim(a.claimant("i-9"), stopped.PrivateIP, stopped.Port, time.Unix(0, 0))
			var conflict *leaseConflict
			if !errors.As(err, &conflict) || conflict.holder.Home != c.home || conflict.holder.Instance != "i-0" {
				t.Fatalf("claim of a stopped instance's address = %v, want a conflict naming %s i-0", err, c.home)
			}
			// Its directory is removed (pruned, or the home deleted): the
			// lease is stale and the address is handed out again.
			if err := os.RemoveAll(stopped.Dir); err != nil {
				t.Fatal(err)
			}
			delete(c.live, "i-0")
			if in := a.run(mode, "i-10", 3000); in.Addr() != stopped.Addr() {
				t.Errorf("after the holder vanished: got %s, want its address %s back", in.Addr(), stopped.Addr())
			}
			// An instance this home no longer has a record of is stale
			// too, even though its directory is still there.
			gone := a.live["i-1"]
			delete(a.live, "i-1")
			if in := a.run(mode, "i-11", 3000); in.Addr() != gone.Addr() {
				t.Errorf("after this home forgot i-1: got %s, want its address %s", in.Addr(), gone.Addr())
			}
			// Release frees an address at once (terminate).
			last := a.live["i-11"]
			if err := b.release(a.claimant("i-11"), last.PrivateIP, last.Port); err != nil {
				t.Fatal(err)
			}
			if in := c.run(mode, "i-12", 3000); in.Addr() != last.Addr() {
				t.Errorf("after release: got %s, want %s", in.Addr(), last.Addr())
			}
		})
	}
}
