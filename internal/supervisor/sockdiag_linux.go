package supervisor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Reading /proc/net/tcp costs the kernel a walk of its whole table of
// connections (every bucket of the established hash, and every
// TIME_WAIT socket, of which readiness probes and clients leave many) and
// the reader a parse of one text line per socket: milliseconds per read
// on a busy host, paid by every instance that starts. A sock_diag dump
// over netlink asked for LISTEN sockets on one port walks only the
// kernel's listening hash and returns only the matching sockets.

// Netlink and inet_diag wire layout (linux/netlink.h,
// linux/inet_diag.h).
const (
	nlmsgHdrLen     = 16
	inetDiagReqLen  = 56 // struct inet_diag_req_v2
	inetDiagMsgLen  = 72 // struct inet_diag_msg
	nlmsgDone       = 3
	nlmsgError      = 2
	tcpListenState  = 10
	diagSportOffset = 4  // idiag_sport in inet_diag_msg (big-endian)
	diagSrcOffset   = 8  // idiag_src: 16 bytes, network order
	diagInodeOffset = 68 // idiag_inode
)

// diagListenInodes returns the inodes of the TCP LISTEN sockets on
// ap's port that accept connections to ap, asking the kernel over
// netlink (sock_diag); see listenInodes.
func diagListenInodes(ap netip.AddrPort) (map[uint64]bool, error) {
	socks, err := diagListeners(ap.Port(), nil, nil)
	if err != nil {
		return nil, err
	}
	return acceptingInodes(socks, ap), nil
}

// diagListeners appends the host's TCP LISTEN sockets on port (0: on any
// port), of both families, to out, reading replies into buf (nil: a new
// one).
func diagListeners(port uint16, out []listenSock, buf []byte) ([]listenSock, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sock_diag socket: %w", err)
	}
	defer unix.Close(fd)
	if len(buf) < diagBufLen {
		buf = make([]byte, diagBufLen)
	}
	for i, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		if out, err = diagDump(fd, buf, family, uint32(i+1), port, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// diagDump asks for family's TCP listeners on port (0: any) and appends
// them to out.
func diagDump(fd int, buf []byte, family uint8, seq uint32, port uint16, out []listenSock) ([]listenSock, error) {
	req := make([]byte, nlmsgHdrLen+inetDiagReqLen)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], seq)
	r := req[nlmsgHdrLen:]
	r[0], r[1] = family, unix.IPPROTO_TCP
	ne.PutUint32(r[4:], 1<<tcpListenState)
	// The kernel skips listeners on other ports (inet_diag_req_v2's
	// id.idiag_sport, network order; 0 matches every port).
	binary.BigEndian.PutUint16(r[8:], port)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sock_diag request: %w", err)
	}
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("sock_diag reply: %w", err)
		}
		b := buf[:n]
		for len(b) >= nlmsgHdrLen {
			l := int(ne.Uint32(b[0:]))
			typ := ne.Uint16(b[4:])
			if l < nlmsgHdrLen || l > len(b) {
				return nil, errors.New("sock_diag reply: truncated message")
			}
			msg := b[nlmsgHdrLen:l]
			b = b[min(nlmsgAlign(l), len(b)):]
			switch typ {
			case nlmsgDone:
				return out, nil
			case nlmsgError:
				if len(msg) >= 4 {
					if e := int32(ne.Uint32(msg)); e != 0 {
						return nil, fmt.Errorf("sock_diag: %w", unix.Errno(-e))
					}
				}
				return out, nil
			case unix.SOCK_DIAG_BY_FAMILY:
				if len(msg) < inetDiagMsgLen || msg[1] != tcpListenState {
					continue
				}
				sport := binary.BigEndian.Uint16(msg[diagSportOffset:])
				var local netip.Addr
				if msg[0] == unix.AF_INET {
					local = netip.AddrFrom4([4]byte(msg[diagSrcOffset : diagSrcOffset+4]))
				} else {
					local = netip.AddrFrom16([16]byte(msg[diagSrcOffset : diagSrcOffset+16]))
				}
				if port != 0 && sport != port {
					continue
				}
				if ino := uint64(ne.Uint32(msg[diagInodeOffset:])); ino != 0 {
					out = append(out, listenSock{addr: netip.AddrPortFrom(local, sport), inode: ino})
				}
			}
		}
	}
}

// diagBufLen is the size of a buffer for sock_diag replies.
const diagBufLen = 32 << 10

func nlmsgAlign(n int) int { return (n + 3) &^ 3 }
