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

var errSockDiag = errors.New("supervisor: sock_diag is Linux-only")
