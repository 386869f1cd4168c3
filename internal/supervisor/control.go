package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/madang-dev/madang/internal/shim"
)

// Control connection timeouts.
const (
	// controlSendTimeout bounds a write of a command to a shim.
	controlSendTimeout = time.Second
	// adoptDialTimeout bounds connecting to a running shim and reading its
	// first event during Adopt.
	adoptDialTimeout = 2 * time.Second
)

// shimConn is the daemon's end of a shim's control connection (see
// package shim). Its reader goroutine hands the shim's events to the
// proc's loop through events, which is closed when the connection ends;
// close stops it and waits for it.
type shimConn struct {
	conn   net.Conn
	events chan shim.Event
	stop   chan struct{}
	done   chan struct{}
	// ended is closed when the shim ended the connection (or it broke),
	// after every event before the end was queued; not by close.
	ended chan struct{}
}

func newShimConn(conn net.Conn) *shimConn {
	c := &shimConn{conn: conn, events: make(chan shim.Event, 16), stop: make(chan struct{}), done: make(chan struct{}), ended: make(chan struct{})}
	go c.read()
	return c
}

// read decodes events until the connection ends or close is called.
func (c *shimConn) read() {
	defer close(c.done)
	defer close(c.events)
	dec := json.NewDecoder(c.conn)
	for {
		var ev shim.Event
		if err := dec.Decode(&ev); err != nil {
			select {
			case <-c.stop:
			default:
				close(c.ended)
			}
			return
		}
		select {
		case c.events <- ev:
		case <-c.stop:
			return
		}
	}
}

// send writes cmd to the shim.
func (c *shimConn) send(cmd shim.Command) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(controlSendTimeout))
	if err := json.NewEncoder(c.conn).Encode(cmd); err != nil {
		return fmt.Errorf("send %s to shim: %w", cmd.Op, err)
	}
	return nil
}

// close closes the connection and waits for the reader.
func (c *shimConn) close() {
	close(c.stop)
	_ = c.conn.Close()
	<-c.done
}

// controlPair returns a connected pair of sockets: the daemon's end as a
// connection, and the shim's end as a file to pass to the shim (the
// caller closes it once the shim has started).
func controlPair() (*shimConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("control socket pair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "shim-control")
	theirs := os.NewFile(uintptr(fds[1]), "shim-control")
	conn, err := net.FileConn(mine)
	_ = mine.Close()
	if err != nil {
		_ = theirs.Close()
		return nil, nil, fmt.Errorf("control socket pair: %w", err)
	}
	return newShimConn(conn), theirs, nil
}

// dialShim connects to the running shim of stateDir and returns the
// connection with the first event, which says where the shim is.
func dialShim(stateDir string) (*shimConn, shim.Event, error) {
	conn, err := shim.Dial(stateDir, adoptDialTimeout)
	if err != nil {
		return nil, shim.Event{}, err
	}
	c := newShimConn(conn)
	t := time.NewTimer(adoptDialTimeout)
	defer t.Stop()
	select {
	case ev, ok := <-c.events:
		if ok {
			return c, ev, nil
		}
		c.close()
		return nil, shim.Event{}, errors.New("shim closed its control connection")
	case <-t.C:
		c.close()
		return nil, shim.Event{}, fmt.Errorf("shim did not answer on its control socket within %s", adoptDialTimeout)
	}
}
