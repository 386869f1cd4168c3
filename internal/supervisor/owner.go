package supervisor

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Readiness looks for a listener that accepts the instance's address (in
// the listen table, or by connecting where sock_diag is unavailable), and
// a listener proves only that some process listens there. Another
// program (or an instance of another madang home) may hold HOST:PORT
// while the instance's own app crash-loops on EADDRINUSE. So a listener
// counts only when the LISTEN socket that accepts on HOST:PORT belongs to
// the instance's process tree: a process in the app's process group, or a
// descendant of the app. The sockets come from sock_diag (or
// /proc/net/tcp and /proc/net/tcp6), their holders from /proc/PID/fd.

// procRoot is where the proc file system is mounted.
const procRoot = "/proc"

// errNoProcNet means the kernel's socket tables cannot be read (not
// Linux, or /proc is not mounted): ownership cannot be checked.
var errNoProcNet = errors.New("supervisor: /proc/net/tcp is not readable")

// owner identifies an instance's process tree.
type owner struct {
	pid  int // the app
	pgid int // its process group
}

// listenerCheck is the verdict on who listens on an address.
type listenerCheck struct {
	own bool
	// holder describes the foreign listener when own is false, e.g.
	// "pid 4242 (python3)"; empty when nobody listens (any more).
	holder string
}

// checkListener reports whether the LISTEN socket accepting connections on
// addr (host:port) belongs to o's process tree. When the socket tables
// cannot be read it reports own, as ownership cannot be checked there.
func checkListener(root, addr string, o owner) listenerCheck {
	return checkListenerWith(root, addr, o, func(ap netip.AddrPort) (map[uint64]bool, error) { return listenInodes(root, ap) })
}

// checkListenerWith is checkListener with the listening sockets that
// accept an address from inodesOf.
func checkListenerWith(root, addr string, o owner, inodesOf func(netip.AddrPort) (map[uint64]bool, error)) listenerCheck {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return listenerCheck{own: true}
	}
	inodes, err := inodesOf(ap)
	if err != nil {
		return listenerCheck{own: true}
	}
	if len(inodes) == 0 {
		return listenerCheck{}
	}
	// Fast path: the app itself holds the socket.
	if o.pid > 0 && holdsAny(root, o.pid, inodes) {
		return listenerCheck{own: true}
	}
	procs := readProcs(root)
	var others []int
	for pid := range procs {
		if pid == o.pid {
			continue
		}
		if inTree(procs, pid, o) {
			if holdsAny(root, pid, inodes) {
				return listenerCheck{own: true}
			}
			continue
		}
		others = append(others, pid)
	}
	for _, pid := range others {
		if holdsAny(root, pid, inodes) {
			return listenerCheck{holder: describePID(root, pid)}
		}
	}
	return listenerCheck{holder: "a process madang cannot inspect (another user's, or in another PID namespace)"}
}

// listenInodes returns the inodes of the LISTEN sockets that accept
// connections to ap: bound to its address, or to the wildcard address of
// its family (0.0.0.0, ::) on its port. On the host's /proc it asks the
// kernel through sock_diag (diagListenInodes), which costs a fraction of
// a read of /proc/net/tcp; where that fails it reads the tables.
func listenInodes(root string, ap netip.AddrPort) (map[uint64]bool, error) {
	if root == procRoot {
		if out, err := diagListenInodes(ap); err == nil {
			return out, nil
		}
	}
	return procListenInodes(root, ap)
}

// procListenInodes is listenInodes from root/net/tcp and root/net/tcp6.
func procListenInodes(root string, ap netip.AddrPort) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	read := 0
	for _, name := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(root + "/net/" + name)
		if err != nil {
			continue
		}
		read++
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Scan() // header
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			// sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			local, err := parseProcAddr(f[1])
			if err != nil || local.Port() != ap.Port() || !accepts(local.Addr(), ap.Addr()) {
				continue
			}
			if ino, err := strconv.ParseUint(f[9], 10, 64); err == nil && ino != 0 {
				out[ino] = true
			}
		}
	}
	if read == 0 {
		return nil, errNoProcNet
	}
	return out, nil
}

// accepts reports whether a socket bound to bound accepts connections to
// want.
func accepts(bound, want netip.Addr) bool {
	bound, want = bound.Unmap(), want.Unmap()
	if bound == want {
		return true
	}
	if !bound.IsUnspecified() {
		return false
	}
	// 0.0.0.0 takes IPv4 only; :: takes both (unless IPV6_V6ONLY, which
	// /proc does not show; a stricter answer matters little here).
	return bound.Is6() || want.Is4()
}

// parseProcAddr parses a /proc/net/tcp{,6} address: hex bytes of the
// address in 32-bit host-order words, a colon, the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	hexIP, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port in %q: %w", s, err)
	}
	raw, err := hex.DecodeString(hexIP)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	// Each 32-bit word is printed in host order, little-endian on the
	// architectures madang runs on.
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// procInfo is what /proc/PID/stat says about a process's place in the tree.
type procInfo struct{ ppid, pgid int }

// readProcs returns the parent and process group of every process.
func readProcs(root string) map[int]procInfo {
	ents, _ := os.ReadDir(root)
	out := make(map[int]procInfo, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(root + "/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		// After "pid (comm)": state ppid pgrp ...
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgid, _ := strconv.Atoi(f[2])
		out[pid] = procInfo{ppid: ppid, pgid: pgid}
	}
	return out
}

// inTree reports whether pid is in o's process group or descends from
// o's app.
func inTree(procs map[int]procInfo, pid int, o owner) bool {
	if o.pgid > 0 && procs[pid].pgid == o.pgid {
		return true
	}
	for i := 0; i < 64 && pid > 1; i++ {
		if pid == o.pid {
			return true
		}
		pid = procs[pid].ppid
	}
	return false
}

// holdsAny reports whether pid has a descriptor on one of the socket
// inodes.
func holdsAny(root string, pid int, inodes map[uint64]bool) bool {
	dir := root + "/" + strconv.Itoa(pid) + "/fd"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		link, err := os.Readlink(dir + "/" + e.Name())
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64)
		if err == nil && inodes[ino] {
			return true
		}
	}
	return false
}

// describePID names a process for a reason: "pid 4242 (python3 -m
// http.server 3000)".
func describePID(root string, pid int) string {
	b, _ := os.ReadFile(root + "/" + strconv.Itoa(pid) + "/cmdline")
	cmd := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	if cmd == "" {
		c, _ := os.ReadFile(root + "/" + strconv.Itoa(pid) + "/comm")
		cmd = strings.TrimSpace(string(c))
	}
	if len(cmd) > 80 {
		cmd = cmd[:77] + "..."
	}
	if cmd == "" {
		return "pid " + strconv.Itoa(pid)
	}
	return "pid " + strconv.Itoa(pid) + " (" + cmd + ")"
}
