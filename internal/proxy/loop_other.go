//go:build !linux || 386

package proxy

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"time"
)

// Event loops need epoll and direct socket system calls (linux/386 has
// only socketcall); elsewhere every connection is served by its own
// goroutine and no loop is ever made, so the methods below are never
// reached.
const loopsSupported = false

var errNoLoops = errors.New("proxy: event loops need Linux (not 386)")

type loop struct{ id int }

type task struct{}

func newLoops(*Proxy, int) []*loop                                { return nil }
func (l *loop) stop()                                             {}
func (c *conn) loopTunnel(*upConn)                                {}
func (l *loop) post(func())                                       {}
func (l *loop) wakeIdle(*conn)                                    {}
func (l *loop) forceClose(*conn)                                  {}
func (l *loop) closeFD(int)                                       {}
func (l *loop) dial(*sockIO, netip.AddrPort, time.Duration) error { return errNoLoops }
func (s *sockIO) loopRead([]byte) (int, error)                    { return 0, errNoLoops }
func (s *sockIO) loopWrite([]byte) (int, error)                   { return 0, errNoLoops }
func (l *listener) startLoops(*os.File)                           {}
func (l *listener) stopLoops()                                    {}
func rawListenerFile(net.Listener) (*os.File, error)              { return nil, errNoLoops }
