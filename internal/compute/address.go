package compute

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

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

// allocateAddress picks the lowest free address (LoopbackIPs) or port
// (LoopbackPorts) not in use by any instance in used.
func allocateAddress(mode AddressMode, imagePort int, used []*Instance) (ip string, port int, err error) {
	if mode == LoopbackPorts {
		taken := map[int]bool{}
		for _, in := range used {
			taken[in.Port] = true
		}
		for p := 20000; p < 60000; p++ {
			if !taken[p] && bindable("127.0.0.1", p) {
				return "127.0.0.1", p, nil
			}
		}
		return "", 0, fmt.Errorf("no free instance port between 20000 and 60000")
	}
	taken := map[netip.Addr]bool{}
	for _, in := range used {
		if a, err := netip.ParseAddr(in.PrivateIP); err == nil {
			taken[a] = true
		}
	}
	a := firstInstanceIP
	var first netip.Addr
	failures := 0
	for i := 0; i < 65000; i++ {
		if b := a.As4(); b[3] != 0 && b[3] != 255 && !taken[a] {
			if bindable(a.String(), imagePort) {
				return a.String(), imagePort, nil
			}
			if !first.IsValid() {
				first = a
			}
			// Three free addresses in a row that cannot bind the port
			// mean a program holds it on every address (a wildcard
			// listener such as *:3000): give this instance another port.
			if failures++; failures >= 3 {
				for p := 20000; p < 60000; p++ {
					if bindable(first.String(), p) {
						return first.String(), p, nil
					}
				}
				break
			}
		}
		a = a.Next()
	}
	return "", 0, fmt.Errorf("no free instance address in 127.16.0.0/16")
}

// bindable reports whether ip:port is free right now, so instances never
// get an address another program (or another madang daemon with its own
// data directory) already listens on.
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
