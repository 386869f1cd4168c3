package dataplane

import (
	"net"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSendHandoverKeepsSocketNonBlocking: handing a listening socket over
// must leave it non-blocking. The mode belongs to the socket both data
// planes share, and the proxy's event loops accept with raw syscalls: on a
// blocking socket an accept that finds the backlog empty would park the
// loop's thread for good and stall its process's stop-the-world.
func TestSendHandoverKeepsSocketNonBlocking(t *testing.T) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		ff := os.NewFile(uintptr(fd), "pair")
		defer ff.Close()
		c, err := net.FileConn(ff)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.(*net.UnixConn)
	}
	send, recv := conn(pair[0]), conn(pair[1])
	// The receiver's net.FileListener makes the socket non-blocking again,
	// so the mode is read between the two, while the old data plane's
	// loops still accept on it.
	if err := sendHandover(send, handoverState{Listeners: []string{ln.Addr().String()}}, []*os.File{f}); err != nil {
		t.Fatal(err)
	}
	rc, err := ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	var ferr error
	rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) })
	if ferr != nil {
		t.Fatal(ferr)
	}
	if flags&unix.O_NONBLOCK == 0 {
		t.Fatal("the listening socket is blocking after the handover was sent, want it left non-blocking")
	}
	_, got, err := receiveHandover(recv)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range got {
		l.Close()
	}
}
