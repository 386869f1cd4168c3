//go:build !linux

package supervisor

import (
	"errors"
	"net/netip"
)

// diagListenInodes needs Linux's sock_diag; listenInodes reads the socket
// tables instead.
func diagListenInodes(netip.AddrPort) (map[uint64]bool, error) {
	return nil, errSockDiag
}

// diagListeners needs Linux's sock_diag.
func diagListeners(uint16, []listenSock, []byte) ([]listenSock, error) {
	return nil, errSockDiag
}

// diagSocket stands in for Linux's kept sock_diag socket: every dump
// fails, so the listen table's readers connect instead.
type diagSocket struct{}

// newDiagSocket returns a diagSocket whose dumps fail.
func newDiagSocket([]byte) *diagSocket { return &diagSocket{} }

// listeners needs Linux's sock_diag.
func (*diagSocket) listeners(uint16, []listenSock) ([]listenSock, error) {
	return nil, errSockDiag
}

// close has nothing to close.
func (*diagSocket) close() {}

var errSockDiag = errors.New("supervisor: sock_diag is Linux-only")
