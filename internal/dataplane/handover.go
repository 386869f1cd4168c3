package dataplane

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/madang-dev/madang/internal/health"
)

// The handover protocol runs on a control connection after the request
// "POST /v1/handover": the old data plane answers with no HTTP response
// but with one message — a 4-byte big-endian length and, as SCM_RIGHTS
// ancillary data, the listening sockets — followed by that many bytes of
// JSON (handoverState). The new data plane starts accepting on the
// sockets, then writes handoverGo; the old one then stops accepting,
// drains and exits. If the connection ends without handoverGo, the old
// data plane keeps serving.

const (
	handoverGo = "go\n"
	// maxHandoverFDs bounds the listening sockets one handover carries.
	maxHandoverFDs = 4096
	// handoverTimeout bounds how long an old data plane waits for the
	// new one to start accepting.
	handoverTimeout = 60 * time.Second
)

// handoverState is what an old data plane hands a new one.
type handoverState struct {
	Config Config          `json:"config"`
	Health []health.Record `json:"health"`
	// Listeners are the bind addresses of the sockets, in order.
	Listeners []string `json:"listeners"`
}

// sendHandover writes st and the sockets files to uc.
func sendHandover(uc *net.UnixConn, st handoverState, files []*os.File) error {
	if len(files) != len(st.Listeners) || len(files) > maxHandoverFDs {
		return fmt.Errorf("handover: %d sockets for %d listeners", len(files), len(st.Listeners))
	}
	body, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("handover: encode state: %w", err)
	}
	hdr := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			// Not f.Fd(): it puts the socket in blocking mode, and the
			// mode belongs to the socket every data plane shares, so an
			// event loop's accept would then block its thread (and, as it
			// does not give up its P, stop the world of its process).
			rc, err := f.SyscallConn()
			if err != nil {
				return fmt.Errorf("handover: socket %s: %w", st.Listeners[i], err)
			}
			if err := rc.Control(func(fd uintptr) { fds[i] = int(fd) }); err != nil {
				return fmt.Errorf("handover: socket %s: %w", st.Listeners[i], err)
			}
		}
		oob = syscall.UnixRights(fds...)
	}
	if _, _, err := uc.WriteMsgUnix(hdr, oob, nil); err != nil {
		return fmt.Errorf("handover: send sockets: %w", err)
	}
	if _, err := uc.Write(body); err != nil {
		return fmt.Errorf("handover: send state: %w", err)
	}
	return nil
}

// receiveHandover reads what sendHandover wrote: the state and the
// sockets as listeners by bind address.
func receiveHandover(uc *net.UnixConn) (handoverState, map[string]*net.TCPListener, error) {
	var st handoverState
	hdr := make([]byte, 4)
	oob := make([]byte, syscall.CmsgSpace(4*maxHandoverFDs))
	n, oobn, flags, _, err := uc.ReadMsgUnix(hdr, oob)
	if err != nil {
		return st, nil, fmt.Errorf("handover: receive sockets: %w", err)
	}
	var fds []int
	if oobn > 0 {
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return st, nil, fmt.Errorf("handover: parse control message: %w", err)
		}
		for i := range msgs {
			got, err := syscall.ParseUnixRights(&msgs[i])
			if err != nil {
				return st, nil, fmt.Errorf("handover: parse rights: %w", err)
			}
			fds = append(fds, got...)
		}
	}
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "listener")
	}
	defer closeFiles(files) // FileListener duplicates them
	if flags&syscall.MSG_CTRUNC != 0 {
		return st, nil, errors.New("handover: sockets truncated")
	}
	if _, err := io.ReadFull(uc, hdr[n:]); err != nil {
		return st, nil, fmt.Errorf("handover: receive header: %w", err)
	}
	if string(hdr) == "HTTP" {
		// An HTTP answer: the old data plane refused.
		msg, _ := bufio.NewReader(io.LimitReader(uc, 4096)).ReadString('\n')
		return st, nil, fmt.Errorf("handover refused: HTTP%s", msg)
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr))
	if _, err := io.ReadFull(uc, body); err != nil {
		return st, nil, fmt.Errorf("handover: receive state: %w", err)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, nil, fmt.Errorf("handover: decode state: %w", err)
	}
	if len(st.Listeners) != len(files) {
		return st, nil, fmt.Errorf("handover: %d sockets for %d listeners", len(files), len(st.Listeners))
	}
	out := map[string]*net.TCPListener{}
	for i, f := range files {
		ln, err := net.FileListener(f)
		if err == nil {
			tl, ok := ln.(*net.TCPListener)
			if ok {
				out[st.Listeners[i]] = tl
				continue
			}
			ln.Close()
			err = errors.New("not a TCP socket")
		}
		for _, l := range out {
			l.Close()
		}
		return st, nil, fmt.Errorf("handover: listener %s: %w", st.Listeners[i], err)
	}
	return st, out, nil
}

// requestHandover asks the data plane on socket for its sockets and
// state. The returned connection stays open: write handoverGo on it once
// the sockets are accepted on, or close it to let the old data plane
// keep serving.
func requestHandover(socket string) (*net.UnixConn, handoverState, map[string]*net.TCPListener, error) {
	c, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return nil, handoverState{}, nil, fmt.Errorf("handover: connect to %s: %w", socket, err)
	}
	uc := c.(*net.UnixConn)
	_ = uc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(uc, "POST /v1/handover HTTP/1.1\r\nHost: dataplane\r\nContent-Length: 0\r\n\r\n"); err != nil {
		uc.Close()
		return nil, handoverState{}, nil, fmt.Errorf("handover: request: %w", err)
	}
	st, lns, err := receiveHandover(uc)
	if err != nil {
		uc.Close()
		return nil, handoverState{}, nil, err
	}
	_ = uc.SetDeadline(time.Time{})
	return uc, st, lns, nil
}

// awaitGo waits for the new data plane's handoverGo on r.
func awaitGo(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(handoverTimeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("handover: the new data plane did not take over: %w", err)
	}
	if line != handoverGo {
		return fmt.Errorf("handover: unexpected %q from the new data plane", line)
	}
	return nil
}
