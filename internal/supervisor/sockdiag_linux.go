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
//
// That walk visits every bucket of the listening hash, empty or not:
// about 11 µs here, per request. SOCK_DIAG_BY_FAMILY asks for one family,
// so both took two walks; the older TCPDIAG_GETSOCK request carries no
// family the kernel heeds (inet_diag_dump_compat asks for AF_UNSPEC, and
// inet_diag_dump_icsk filters by family only when it is set), so one
// walk returns the listeners of both. A dump on a socket kept open by the
// listen table's watcher saves the socket's creation and close too.
// BenchmarkProbeTry, on Linux 6.18: two walks on a new socket 26 µs, on
// a kept one 23 µs; one walk on a new socket 14.5 µs, on a kept one
// 11.7 µs. A kernel that refuses TCPDIAG_GETSOCK is asked per family.

// Netlink and inet_diag wire layout (linux/netlink.h,
// linux/inet_diag.h).
const (
	nlmsgHdrLen        = 16
	inetDiagReqV2Len   = 56 // struct inet_diag_req_v2
	inetDiagReqLen     = 60 // struct inet_diag_req, of TCPDIAG_GETSOCK
	inetDiagMsgLen     = 72 // struct inet_diag_msg
	nlmsgDone          = 3
	nlmsgError         = 2
	tcpDiagGetSock     = 18 // TCPDIAG_GETSOCK
	tcpListenState     = 10
	diagSportOffset    = 4  // idiag_sport in inet_diag_msg and inet_diag_req (big-endian)
	diagSportV2        = 8  // idiag_sport in inet_diag_req_v2
	diagSrcOffset      = 8  // idiag_src: 16 bytes, network order
	diagInodeOffset    = 68 // idiag_inode
	diagStatesV2       = 4  // idiag_states in inet_diag_req_v2
	diagStatesCompat   = 52 // idiag_states in inet_diag_req
	diagReceiveTimeout = 1  // seconds a reply may take before the dump fails
)

// errDiagRefused marks an error reply: the kernel read the request and
// declined it (an old or new kernel without the request form asked for).
var errDiagRefused = errors.New("sock_diag refused the request")

// diagSocket dumps the host's TCP listeners over a netlink socket that
// it keeps open between dumps until close. It remembers whether the
// kernel takes the one-walk request. It is not safe for concurrent use.
type diagSocket struct {
	fd  int // -1 while closed
	buf []byte
	req []byte
	seq uint32
	// walkType is the message type of the one-walk request
	// (TCPDIAG_GETSOCK; tests set one the kernel refuses).
	walkType uint16
	// perFamily is set once the kernel refused the one-walk request and
	// answered SOCK_DIAG_BY_FAMILY: dumps ask per family from then on.
	perFamily bool
}

// newDiagSocket returns a closed diagSocket that reads replies into buf
// (nil or short: a new one); its first dump opens it.
func newDiagSocket(buf []byte) *diagSocket {
	if len(buf) < diagBufLen {
		buf = make([]byte, diagBufLen)
	}
	return &diagSocket{fd: -1, buf: buf, req: make([]byte, nlmsgHdrLen+inetDiagReqLen), walkType: tcpDiagGetSock}
}

// open makes the netlink socket if it is closed. A reply that takes over
// diagReceiveTimeout fails the dump rather than blocking its caller (the
// listen table holds its lock during a dump) for good.
func (d *diagSocket) open() error {
	if d.fd >= 0 {
		return nil
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return fmt.Errorf("sock_diag socket: %w", err)
	}
	tv := unix.Timeval{Sec: diagReceiveTimeout}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return fmt.Errorf("sock_diag socket timeout: %w", err)
	}
	d.fd = fd
	return nil
}

// close closes the socket, if open; the next dump opens a new one. What
// it learnt about the kernel stays.
func (d *diagSocket) close() {
	if d.fd >= 0 {
		unix.Close(d.fd)
		d.fd = -1
	}
}

// listeners appends the host's TCP LISTEN sockets on port (0: on any
// port), of both families, to out: in one walk of the listening hash
// where the kernel takes it, else one per family. A failed dump closes
// the socket, so that no reply of it is left for the next.
func (d *diagSocket) listeners(port uint16, out []listenSock) ([]listenSock, error) {
	if err := d.open(); err != nil {
		return nil, err
	}
	n := len(out)
	if !d.perFamily {
		res, err := d.dump(d.walkType, unix.AF_UNSPEC, port, out)
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, errDiagRefused) {
			d.close()
			return nil, err
		}
		out = out[:n]
	}
	for _, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		var err error
		if out, err = d.dump(unix.SOCK_DIAG_BY_FAMILY, family, port, out); err != nil {
			d.close()
			return nil, err
		}
	}
	d.perFamily = true
	return out, nil
}

// dump sends one request of type typ (TCPDIAG_GETSOCK or
// SOCK_DIAG_BY_FAMILY) for family's TCP listeners on port (0: any) and
// appends the replies to out. Replies to other requests (by sequence
// number) are skipped.
func (d *diagSocket) dump(typ uint16, family uint8, port uint16, out []listenSock) ([]listenSock, error) {
	d.seq++
	req := d.req[:nlmsgHdrLen+inetDiagReqV2Len]
	if typ != unix.SOCK_DIAG_BY_FAMILY {
		req = d.req[:nlmsgHdrLen+inetDiagReqLen]
	}
	clear(req)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], typ)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], d.seq)
	r := req[nlmsgHdrLen:]
	// The kernel skips listeners on other ports (id.idiag_sport, network
	// order; 0 matches every port).
	r[0] = family
	if typ == unix.SOCK_DIAG_BY_FAMILY {
		r[1] = unix.IPPROTO_TCP
		ne.PutUint32(r[diagStatesV2:], 1<<tcpListenState)
		binary.BigEndian.PutUint16(r[diagSportV2:], port)
	} else {
		// The protocol is in the message type; src_len, dst_len and ext
		// stay 0.
		ne.PutUint32(r[diagStatesCompat:], 1<<tcpListenState)
		binary.BigEndian.PutUint16(r[diagSportOffset:], port)
	}
	if err := unix.Sendto(d.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sock_diag request: %w", err)
	}
	for {
		n, err := unix.Read(d.fd, d.buf)
		if err != nil {
			return nil, fmt.Errorf("sock_diag reply: %w", err)
		}
		b := d.buf[:n]
		for len(b) >= nlmsgHdrLen {
			l := int(ne.Uint32(b[0:]))
			mtyp := ne.Uint16(b[4:])
			seq := ne.Uint32(b[8:])
			if l < nlmsgHdrLen || l > len(b) {
				return nil, errors.New("sock_diag reply: truncated message")
			}
			msg := b[nlmsgHdrLen:l]
			b = b[min(nlmsgAlign(l), len(b)):]
			if seq != d.seq {
				continue
			}
			switch mtyp {
			case nlmsgDone:
				return out, nil
			case nlmsgError:
				if len(msg) >= 4 {
					if e := int32(ne.Uint32(msg)); e != 0 {
						return nil, fmt.Errorf("%w: %w", errDiagRefused, unix.Errno(-e))
					}
				}
				return out, nil
			case typ:
				if len(msg) < inetDiagMsgLen || msg[1] != tcpListenState {
					continue
				}
				sport := binary.BigEndian.Uint16(msg[diagSportOffset:])
				if port != 0 && sport != port {
					continue
				}
				var local netip.Addr
				switch msg[0] {
				case unix.AF_INET:
					local = netip.AddrFrom4([4]byte(msg[diagSrcOffset : diagSrcOffset+4]))
				case unix.AF_INET6:
					local = netip.AddrFrom16([16]byte(msg[diagSrcOffset : diagSrcOffset+16]))
				default:
					continue
				}
				if ino := uint64(ne.Uint32(msg[diagInodeOffset:])); ino != 0 {
					out = append(out, listenSock{addr: netip.AddrPortFrom(local, sport), inode: ino})
				}
			}
		}
	}
}

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
// one), on a socket of its own that it closes.
func diagListeners(port uint16, out []listenSock, buf []byte) ([]listenSock, error) {
	d := newDiagSocket(buf)
	defer d.close()
	return d.listeners(port, out)
}

// diagBufLen is the size of a buffer for sock_diag replies.
const diagBufLen = 32 << 10

func nlmsgAlign(n int) int { return (n + 3) &^ 3 }
