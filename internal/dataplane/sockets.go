package dataplane

import (
	"fmt"
	"net"
	"os"
	"sync"
)

// sockets are the listening sockets of an Engine's proxy, kept so that
// they can be handed to another process; it is the proxy's Listen hook.
type sockets struct {
	// mu guards the fields that follow.
	mu        sync.Mutex
	inherited map[string]*net.TCPListener // taken over, not yet used by the proxy
	bound     map[string]*net.TCPListener // handed to the proxy, by bind address
}

func newSockets(inherited map[string]*net.TCPListener) *sockets {
	s := &sockets{inherited: map[string]*net.TCPListener{}, bound: map[string]*net.TCPListener{}}
	for a, ln := range inherited {
		s.inherited[a] = ln
	}
	return s
}

// listen returns the inherited socket for addr, or binds a new one.
func (s *sockets) listen(addr string) (net.Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ln := s.inherited[addr]; ln != nil {
		delete(s.inherited, addr)
		s.bound[addr] = ln
		return ln, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tl, ok := ln.(*net.TCPListener); ok {
		s.bound[addr] = tl
	}
	return ln, nil
}

// files returns duplicates of the sockets of addrs (the proxy's current
// listeners), in the order of addrs. The caller closes them.
func (s *sockets) files(addrs []string) ([]*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	live := map[string]bool{}
	var out []*os.File
	for _, a := range addrs {
		live[a] = true
		ln := s.bound[a]
		if ln == nil {
			closeFiles(out)
			return nil, fmt.Errorf("listener %s: socket unknown", a)
		}
		f, err := ln.File()
		if err != nil {
			closeFiles(out)
			return nil, fmt.Errorf("listener %s: %w", a, err)
		}
		out = append(out, f)
	}
	for a := range s.bound {
		if !live[a] {
			delete(s.bound, a) // the proxy closed it
		}
	}
	return out, nil
}

// closeUnused closes inherited sockets the proxy did not take: their
// listeners are no longer configured.
func (s *sockets) closeUnused() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a, ln := range s.inherited {
		_ = ln.Close()
		delete(s.inherited, a)
	}
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		_ = f.Close()
	}
}
