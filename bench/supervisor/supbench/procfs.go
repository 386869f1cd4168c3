package main

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

// tcpListen is the state column of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// listenerPID returns the pid of the process that holds the listening TCP
// socket bound to addr (or to the wildcard address on addr's port), as
// seen under procRoot (normally /proc).
func listenerPID(procRoot, addr string) (int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return 0, fmt.Errorf("listener of %q: %w; pass IP:PORT", addr, err)
	}
	var inode string
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		b, err := os.ReadFile(filepath.Join(procRoot, f))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return 0, fmt.Errorf("listener of %s: %w", addr, err)
		}
		if inode = findListener(b, ap); inode != "" {
			break
		}
	}
	if inode == "" {
		return 0, fmt.Errorf("nothing listens on %s", addr)
	}
	pid, err := socketOwner(procRoot, inode)
	if err != nil {
		return 0, fmt.Errorf("listener of %s: %w", addr, err)
	}
	return pid, nil
}

// findListener returns the inode of the listening socket for ap in the
// contents of /proc/net/tcp or /proc/net/tcp6, or "".
func findListener(table []byte, ap netip.AddrPort) string {
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != tcpListen {
			continue
		}
		local, err := parseProcAddr(f[1])
		if err != nil || local.Port() != ap.Port() {
			continue
		}
		if local.Addr() == ap.Addr() || local.Addr().IsUnspecified() {
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

// socketOwner returns the lowest pid with an open file descriptor on the
// socket with the given inode.
func socketOwner(procRoot, inode string) (int, error) {
	want := "socket:[" + inode + "]"
	pids, err := listPIDs(procRoot)
	if err != nil {
		return 0, err
	}
	for _, pid := range pids {
		dir := filepath.Join(procRoot, strconv.Itoa(pid), "fd")
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue // exited, or not ours to read
		}
		for _, e := range ents {
			if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && l == want {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no process holds socket inode %s", inode)
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

// memLevel sums the memory of the processes at one depth of a tree.
type memLevel struct {
	Depth  int
	Count  int
	Comms  []string // distinct command names, sorted
	RSSKiB int64
	PSSKiB int64
}

// String formats l as key=value fields; spaces in names become '_'.
func (l memLevel) String() string {
	comm := strings.ReplaceAll(strings.Join(l.Comms, "+"), " ", "_")
	return fmt.Sprintf("depth=%d count=%d comm=%s rss_kib=%d pss_kib=%d", l.Depth, l.Count, comm, l.RSSKiB, l.PSSKiB)
}

// treeMemory returns the memory of the process tree under root, one entry
// per depth (0 is root itself).
func treeMemory(procRoot string, root int) ([]memLevel, error) {
	pids, err := listPIDs(procRoot)
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	comm := map[int]string{}
	for _, pid := range pids {
		c, ppid, err := readStat(procRoot, pid)
		if err != nil {
			continue // exited meanwhile
		}
		comm[pid] = c
		children[ppid] = append(children[ppid], pid)
	}
	if _, ok := comm[root]; !ok {
		return nil, fmt.Errorf("mem: no process %d; pass the pid of a running supervisor daemon", root)
	}
	var levels []memLevel
	for depth, gen := 0, []int{root}; len(gen) > 0; depth++ {
		l := memLevel{Depth: depth}
		var next []int
		for _, pid := range gen {
			rss, pss, err := readMemory(procRoot, pid)
			if err != nil {
				continue
			}
			l.Count++
			l.RSSKiB += rss
			l.PSSKiB += pss
			if !slices.Contains(l.Comms, comm[pid]) {
				l.Comms = append(l.Comms, comm[pid])
			}
			next = append(next, children[pid]...)
		}
		slices.Sort(l.Comms)
		levels = append(levels, l)
		gen = next
	}
	return levels, nil
}

// readStat returns the command name and parent pid from /proc/PID/stat.
func readStat(procRoot string, pid int) (string, int, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, err
	}
	// pid (comm) state ppid …; comm may itself hold spaces and parens.
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, fmt.Errorf("stat of %d: malformed %q", pid, s)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 {
		return "", 0, fmt.Errorf("stat of %d: malformed %q", pid, s)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return "", 0, fmt.Errorf("stat of %d: ppid %q: %w", pid, f[1], err)
	}
	return s[open+1 : end], ppid, nil
}

// readMemory returns a process's resident and proportional set sizes in
// KiB, from /proc/PID/smaps_rollup (or VmRSS in /proc/PID/status, with
// PSS equal to RSS, where smaps_rollup is missing).
func readMemory(procRoot string, pid int) (rss, pss int64, err error) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	if b, err := os.ReadFile(filepath.Join(dir, "smaps_rollup")); err == nil {
		rss, okR := kibField(b, "Rss:")
		pss, okP := kibField(b, "Pss:")
		if okR && okP {
			return rss, pss, nil
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return 0, 0, err
	}
	rss, ok := kibField(b, "VmRSS:")
	if !ok {
		return 0, 0, fmt.Errorf("memory of %d: no VmRSS (a kernel thread or a zombie)", pid)
	}
	return rss, rss, nil
}

// kibField returns the number after key in a "Key:   123 kB" line.
func kibField(b []byte, key string) (int64, bool) {
	for line := range strings.Lines(string(b)) {
		rest, ok := strings.CutPrefix(line, key)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		return n, err == nil
	}
	return 0, false
}
