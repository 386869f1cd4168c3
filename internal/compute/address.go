package compute

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Instance addresses are coordinated host-wide, because every madang home
// on a machine (each $MADANG_HOME, each user) hands out addresses from the
// same loopback range: without coordination two homes give two instances
// 127.16.0.2:3000, and the one started second crash-loops on EADDRINUSE.
//
// An address is leased: a small file per address in a host-wide lease
// directory (DefaultLeaseDir: /run/madang/addresses, or
// madang-addresses in the temporary directory where /run is not
// writable), named after the address (127.16.0.3, or 127.0.0.1_20001 in
// LoopbackPorts mode) and holding the home, the instance id and the
// instance's directory. Every change of a lease happens under an exclusive
// flock of the directory's .lock file, so homes allocating at the same
// time never hand out the same address.
//
// A lease lives as long as its instance: a stopped instance keeps its
// address, as an EC2 instance keeps its private IP; Terminate releases
// it. A lease whose holder is gone is stale and reclaimed by the next
// allocation: for the allocating home, an instance it has no
// (non-terminated) record of; for another home, an instance whose
// directory no longer exists (pruned, or the whole home deleted). Leases
// of other homes whose directory cannot be inspected are respected.
//
// The lease directory may vanish (/run and /tmp are emptied at boot):
// each daemon claims the addresses of its instances when it starts
// (claimAddresses), and an instance whose address another home has leased
// meanwhile gets a new one at its next start, with an event saying so.
// Allocation still checks that nothing else binds the port, for
// programs that are not madang instances.

// AddressMode says how instances get distinct private addresses.
type AddressMode int

// Address modes.
const (
	// LoopbackIPs gives every instance its own 127.16.x.y address, so every
	// instance listens on its image's port, as on EC2. Linux routes all of
	// 127.0.0.0/8 to lo without configuration.
	LoopbackIPs AddressMode = iota
	// LoopbackPorts gives every instance 127.0.0.1 and its own port, for
	// systems that only route 127.0.0.1.
	LoopbackPorts
)

// String names the mode.
func (m AddressMode) String() string {
	if m == LoopbackPorts {
		return "loopback-ports"
	}
	return "loopback-ips"
}

// firstInstanceIP is the first private address handed out (127.16.0.1 is
// left for the host side, as a VPC reserves its first addresses).
var firstInstanceIP = netip.MustParseAddr("127.16.0.2")

// DetectAddressMode checks whether this host can bind a 127.16.x.y
// address; if not, instances share 127.0.0.1 with distinct ports.
func DetectAddressMode() (AddressMode, error) {
	ln, err := net.Listen("tcp", "127.16.0.1:0")
	if err != nil {
		return LoopbackPorts, fmt.Errorf("binding 127.16.0.1 failed, instances will share 127.0.0.1 with distinct ports: %w", err)
	}
	_ = ln.Close()
	return LoopbackIPs, nil
}

// AddressBook leases instance addresses host-wide (see the comment at the
// top of this file). The zero value uses DefaultLeaseDir and binds ports
// to check they are free.
type AddressBook struct {
	// Dir is the lease directory ("" means DefaultLeaseDir()). Every home
	// on a host must use the same one.
	Dir string
	// PortFree reports whether ip:port can be bound right now (nil: try
	// to bind it).
	PortFree func(ip string, port int) bool
}

// DefaultLeaseDir returns the host-wide lease directory:
// /run/madang/addresses when it can be created and written, otherwise
// madang-addresses in os.TempDir().
func DefaultLeaseDir() string {
	const run = "/run/madang/addresses"
	if err := ensureLeaseDir(run); err == nil {
		return run
	}
	return filepath.Join(os.TempDir(), "madang-addresses")
}

// ensureLeaseDir creates dir so that every user can add leases (mode
// 1777, as /tmp) and checks that this process can write there.
func ensureLeaseDir(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		_ = os.Chmod(dir, 0o777|os.ModeSticky)
	}
	return unix.Access(dir, unix.W_OK)
}

// lease is the content of a lease file.
type lease struct {
	Home     string    `json:"home"`
	Instance string    `json:"instance"`
	Dir      string    `json:"dir"`
	At       time.Time `json:"at"`
}

// claimant is who asks for an address: an instance of a home. live says
// whether another instance of the same home still holds its address
// (it has a record that is not terminated).
type claimant struct {
	home string
	id   string
	dir  string
	live func(id string) bool
}

// leaseConflict is returned by claim when another live instance holds
// the address.
type leaseConflict struct {
	addr   string
	holder lease
}

func (e *leaseConflict) Error() string {
	return fmt.Sprintf("address %s is leased by instance %s of madang home %s", e.addr, e.holder.Instance, e.holder.Home)
}

// leaseKey names the lease of an address: the IP for instance IPs, the
// IP and port for instances sharing 127.0.0.1.
func leaseKey(ip string, port int) string {
	if ip == "127.0.0.1" {
		return ip + "_" + strconv.Itoa(port)
	}
	return ip
}

// leases is the lease directory while its lock is held. Since nobody
// else writes leases meanwhile, what it has read is kept (cache): a batch
// of allocations reads each other home's lease once.
type leases struct {
	dir   string
	lock  *os.File
	cache map[string]cachedLease
}

// cachedLease is a lease file as read (ok false: none, or unreadable).
type cachedLease struct {
	ls lease
	ok bool
}

func (b *AddressBook) open() (*leases, error) {
	dir := b.Dir
	if dir == "" {
		dir = DefaultLeaseDir()
	}
	if err := ensureLeaseDir(dir); err != nil {
		return nil, fmt.Errorf("address lease directory %s: %w; make it writable or set its path (AddressBook.Dir)", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("address leases: %w", err)
	}
	_ = f.Chmod(0o666) // other users' daemons lock it too
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("address leases: lock %s: %w", f.Name(), err)
	}
	return &leases{dir: dir, lock: f, cache: map[string]cachedLease{}}, nil
}

func (l *leases) close() { _ = l.lock.Close() } // closing releases the flock

func (l *leases) read(key string) (lease, bool) {
	if c, ok := l.cache[key]; ok {
		return c.ls, c.ok
	}
	ls, ok := l.readFile(key)
	l.cache[key] = cachedLease{ls: ls, ok: ok}
	return ls, ok
}

func (l *leases) readFile(key string) (lease, bool) {
	b, err := os.ReadFile(filepath.Join(l.dir, key))
	if err != nil {
		return lease{}, false
	}
	var ls lease
	if json.Unmarshal(b, &ls) != nil {
		return lease{}, false // a torn or foreign file: treat as free
	}
	return ls, true
}

func (l *leases) write(key string, ls lease) error {
	b, err := json.Marshal(ls)
	if err != nil {
		return err
	}
	tmp := filepath.Join(l.dir, "."+key+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write address lease %s: %w", key, err)
	}
	if err := os.Rename(tmp, filepath.Join(l.dir, key)); err != nil {
		_ = os.Remove(tmp)
		delete(l.cache, key)
		return fmt.Errorf("write address lease %s: %w", key, err)
	}
	l.cache[key] = cachedLease{ls: ls, ok: true}
	return nil
}

// availableTo reports whether key may be leased by c: it has no lease,
// c holds it, or its holder is gone. It returns the holder otherwise.
func (l *leases) availableTo(key string, c claimant) (bool, lease) {
	ls, ok := l.read(key)
	switch {
	case !ok:
		return true, lease{}
	case ls.Home == c.home && ls.Instance == c.id:
		return true, ls
	case ls.Home == c.home:
		return !c.live(ls.Instance), ls
	default:
		_, err := os.Stat(ls.Dir)
		return ls.Dir == "" || errors.Is(err, fs.ErrNotExist), ls
	}
}

func (l *leases) grant(key string, c claimant, now time.Time) error {
	return l.write(key, lease{Home: c.home, Instance: c.id, Dir: c.dir, At: now})
}

func (b *AddressBook) portFree(ip string, port int) bool {
	if b.PortFree != nil {
		return b.PortFree(ip, port)
	}
	return bindable(ip, port)
}

// allocate leases the lowest free address (LoopbackIPs) or port
// (LoopbackPorts) to c: one no instance in used has, no other live
// instance of any home has leased, and no other program binds.
func (b *AddressBook) allocate(mode AddressMode, c claimant, imagePort int, used []*Instance, now time.Time) (ip string, port int, err error) {
	err = b.batch(func(l *leases) error {
		ip, port, err = b.allocateIn(l, mode, c, imagePort, used, now)
		return err
	})
	return ip, port, err
}

// batch calls fn with the lease directory locked, for allocations made
// together.
func (b *AddressBook) batch(fn func(*leases) error) error {
	l, err := b.open()
	if err != nil {
		return err
	}
	defer l.close()
	return fn(l)
}

// allocateIn is allocate in the locked directory l.
func (b *AddressBook) allocateIn(l *leases, mode AddressMode, c claimant, imagePort int, used []*Instance, now time.Time) (ip string, port int, err error) {
	if mode == LoopbackPorts {
		taken := map[int]bool{}
		for _, in := range used {
			taken[in.Port] = true
		}
		var lastErr error
		for p := 20000; p < 60000; p++ {
			key := leaseKey("127.0.0.1", p)
			if ok, _ := l.availableTo(key, c); ok && !taken[p] && b.portFree("127.0.0.1", p) {
				// A stale lease of another user cannot be replaced in the
				// shared (sticky) directory: try the next port.
				if lastErr = l.grant(key, c, now); lastErr == nil {
					return "127.0.0.1", p, nil
				}
			}
		}
		return "", 0, errors.Join(fmt.Errorf("no free instance port between 20000 and 60000 on 127.0.0.1; terminate instances you no longer need"), lastErr)
	}
	taken := map[netip.Addr]bool{}
	for _, in := range used {
		if a, err := netip.ParseAddr(in.PrivateIP); err == nil {
			taken[a] = true
		}
	}
	a := firstInstanceIP
	var first netip.Addr
	var lastErr error
	failures := 0
	for i := 0; i < 65000; i++ {
		if bs := a.As4(); bs[3] != 0 && bs[3] != 255 && !taken[a] {
			if ok, _ := l.availableTo(a.String(), c); ok {
				if b.portFree(a.String(), imagePort) {
					// A stale lease of another user cannot be replaced in
					// the shared (sticky) directory: try the next address.
					if lastErr = l.grant(a.String(), c, now); lastErr == nil {
						return a.String(), imagePort, nil
					}
					a = a.Next()
					continue
				}
				if !first.IsValid() {
					first = a
				}
				// Three free addresses in a row that cannot bind the port
				// mean a program holds it on every address (a wildcard
				// listener such as *:3000): give this instance another port.
				if failures++; failures >= 3 {
					for p := 20000; p < 60000; p++ {
						if b.portFree(first.String(), p) {
							return first.String(), p, l.grant(first.String(), c, now)
						}
					}
					break
				}
			}
		}
		a = a.Next()
	}
	return "", 0, errors.Join(fmt.Errorf("no free instance address in 127.16.0.0/16; terminate instances you no longer need"), lastErr)
}

// claim leases ip:port to c, which already has it in its record. It fails
// with a *leaseConflict when another live instance holds the lease.
func (b *AddressBook) claim(c claimant, ip string, port int, now time.Time) error {
	l, err := b.open()
	if err != nil {
		return err
	}
	defer l.close()
	key := leaseKey(ip, port)
	ok, holder := l.availableTo(key, c)
	if !ok {
		return &leaseConflict{addr: joinHostPort(ip, port), holder: holder}
	}
	if holder.Home == c.home && holder.Instance == c.id && holder.Dir == c.dir {
		return nil
	}
	return l.grant(key, c, now)
}

// release gives up c's lease of ip:port, if c holds it.
func (b *AddressBook) release(c claimant, ip string, port int) error {
	l, err := b.open()
	if err != nil {
		return err
	}
	defer l.close()
	key := leaseKey(ip, port)
	if ls, ok := l.read(key); ok && ls.Home == c.home && ls.Instance == c.id {
		if err := os.Remove(filepath.Join(l.dir, key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("release address lease %s: %w", key, err)
		}
	}
	return nil
}

// bindable reports whether ip:port is free right now, so instances never
// get an address another program already listens on.
func bindable(ip string, port int) bool {
	ln, err := net.Listen("tcp", joinHostPort(ip, port))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
