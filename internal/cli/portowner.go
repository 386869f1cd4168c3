package cli

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// tcpListenState is the state column of a listening socket in
// /proc/net/tcp.
const tcpListenState = "0A"

// errNoProcNet means the kernel's socket tables cannot be read (not
// Linux, or no /proc), so who listens where cannot be told.
var errNoProcNet = errors.New("no /proc/net/tcp to read listening sockets from")

// portOwner is who holds a listening TCP socket.
type portOwner struct {
	// Listening is false when no socket listens on the address.
	Listening bool
	// PID is the process holding the socket; 0 when it cannot be seen
	// (another user's process).
	PID int
	// Command is the process's command name, if known.
	Command string
}

// String describes the owner for people: "nothing", "a program of
// another user", "pid 1234" or "pid 1234 (nc)".
func (o portOwner) String() string {
	switch {
	case !o.Listening:
		return "nothing"
	case o.PID == 0:
		return "a program of another user"
	case o.Command == "":
		return "pid " + strconv.Itoa(o.PID)
	}
	return fmt.Sprintf("pid %d (%s)", o.PID, o.Command)
}

// listenerOwner finds who listens on addr (or on the wildcard address on
// addr's port), as seen under procRoot (normally /proc). The process
// prefer is looked at first, so the common answer ("the daemon") costs no
// scan of every process.
func listenerOwner(procRoot string, addr netip.AddrPort, prefer int) (portOwner, error) {
	var inode string
	read := 0
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		b, err := os.ReadFile(filepath.Join(procRoot, f))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return portOwner{}, fmt.Errorf("listener of %s: %w", addr, err)
		}
		read++
		if inode = findListener(b, addr); inode != "" {
			break
		}
	}
	if read == 0 {
		return portOwner{}, errNoProcNet
	}
	if inode == "" {
		return portOwner{}, nil
	}
	o := portOwner{Listening: true}
	want := "socket:[" + inode + "]"
	if prefer > 0 && holds(procRoot, prefer, want) {
		o.PID = prefer
	} else {
		pids, err := listPIDs(procRoot)
		if err != nil {
			return portOwner{}, err
		}
		for _, pid := range pids {
			if pid != prefer && holds(procRoot, pid, want) {
				o.PID = pid
				break
			}
		}
	}
	if o.PID > 0 {
		if b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(o.PID), "comm")); err == nil {
			o.Command = strings.TrimSpace(string(b))
		}
	}
	return o, nil
}

// holds reports whether process pid has a file descriptor open on the
// file link (e.g. "socket:[123]").
func holds(procRoot string, pid int, link string) bool {
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false // exited, or not ours to read
	}
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && l == link {
			return true
		}
	}
	return false
}

// findListener returns the inode of the listening socket for ap (or for
// the wildcard address on its port) in the contents of /proc/net/tcp or
// /proc/net/tcp6, or "".
func findListener(table []byte, ap netip.AddrPort) string {
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != tcpListenState {
			continue
		}
		local, err := parseProcAddr(f[1])
		if err != nil || local.Port() != ap.Port() {
			continue
		}
		if local.Addr() == ap.Addr() || local.Addr().IsUnspecified() || ap.Addr().IsUnspecified() {
			return f[9]
		}
	}
	return ""
}

// parseProcAddr decodes an address of /proc/net/tcp{,6}: hex IP words in
// host byte order, a colon, the hex port. IPv4-mapped IPv6 addresses come
// back as IPv4.
func parseProcAddr(s string) (netip.AddrPort, error) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("address %q has no port", s)
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: port: %w", s, err)
	}
	raw, err := hex.DecodeString(ipHex)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("address %q: IP is not 8 or 32 hex digits", s)
	}
	// Each 32-bit word was printed as a host-order number.
	ip := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(ip[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	a, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
}

// listPIDs returns the pids under procRoot, ascending.
func listPIDs(procRoot string) ([]int, error) {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}
