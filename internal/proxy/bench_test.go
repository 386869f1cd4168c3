package proxy

import (
	"bytes"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// rawServer is a minimal keep-alive HTTP responder that allocates
// nothing per request, so benchmarks measure the proxy.
type rawServer struct {
	ln   net.Listener
	resp []byte
	wg   sync.WaitGroup
	mu   sync.Mutex
	cs   map[net.Conn]bool
}

func newRawServer(t testing.TB, body string) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, cs: map[net.Conn]bool{}}
	s.resp = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.cs[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go s.serve(c)
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *rawServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	buf := make([]byte, 8192)
	n := 0
	for {
		k, err := c.Read(buf[n:])
		if err != nil {
			return
		}
		n += k
		for {
			i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
			if i < 0 {
				break
			}
			if _, err := c.Write(s.resp); err != nil {
				return
			}
			n = copy(buf, buf[i+4:n])
		}
		if n == len(buf) {
			return
		}
	}
}

func (s *rawServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.cs {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *rawServer) addr() string { return s.ln.Addr().String() }

// rawClient sends GETs on one keep-alive connection.
type rawClient struct {
	c   net.Conn
	buf []byte
	req []byte
}

func newRawClient(tb testing.TB, addr string) *rawClient {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	return &rawClient{c: c, buf: make([]byte, 16384), req: []byte("GET /bench HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")}
}

// do sends one request and reads one Content-Length response.
func (rc *rawClient) do() error {
	if _, err := rc.c.Write(rc.req); err != nil {
		return err
	}
	n := 0
	for {
		k, err := rc.c.Read(rc.buf[n:])
		if err != nil {
			return err
		}
		n += k
		i := bytes.Index(rc.buf[:n], []byte("\r\n\r\n"))
		if i < 0 {
			continue
		}
		j := bytes.Index(rc.buf[:i], []byte("Content-Length: "))
		if j < 0 {
			return net.ErrClosed
		}
		e := bytes.IndexByte(rc.buf[j:], '\r')
		cl, _ := strconv.Atoi(string(rc.buf[j+16 : j+e]))
		for n < i+4+cl {
			k, err := rc.c.Read(rc.buf[n:])
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	}
}

// BenchmarkProxy measures the full proxy path on loopback: a keep-alive
// client, the proxy, two keep-alive targets in two zones, round robin. Clients and
// targets run in this process, on the runtime's poller; busy event loops
// hold their Ps while they wait for sockets, so the benchmark gives the
// process two more Ps than loops, as if clients and targets had cores of
// their own.
func BenchmarkProxy(b *testing.B) {
	loops := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(loops + 2))
	s1 := newRawServer(b, "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789")
	s2 := newRawServer(b, "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789")
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: []Target{
		{ID: "a", Addr: s1.addr(), Weight: 1, Zone: "local-1a"}, {ID: "b", Addr: s2.addr(), Weight: 1, Zone: "local-1b"},
	}})
	cfg.LoadBalancers[0].Zones = []string{"local-1a", "local-1b"}
	h := newHarness(b, cfg, Options{EventLoops: loops})
	h.p.SetHealthy("tg", "a", true, h.p.now())
	h.p.SetHealthy("tg", "b", true, h.p.now())
	addr := "127.0.0.1:" + strconv.Itoa(h.port)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rc := newRawClient(b, addr)
		defer rc.c.Close()
		for pb.Next() {
			if err := rc.do(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDirect is the same load straight to a target, for comparison.
func BenchmarkDirect(b *testing.B) {
	s1 := newRawServer(b, "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789")
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rc := newRawClient(b, s1.addr())
		defer rc.c.Close()
		for pb.Next() {
			if err := rc.do(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
