// Command backend is the benchmark's target: a tiny keep-alive HTTP/1.1
// server on 127.0.0.1 that answers every request with the same ~100-byte
// response, cheaply enough that the proxies under test dominate the cost.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18081", "address to listen on (loopback only)")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Fatal(err)
	}
}

func run(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	body := "Hello from the madang benchmark backend. This body is about one hundred bytes long, padded......\n"
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		go serve(c, resp)
	}
}

// serve answers each request head on c; request bodies announced by
// Content-Length are skipped.
func serve(c net.Conn, resp []byte) {
	defer c.Close()
	buf := make([]byte, 16384)
	n := 0
	skip := 0
	for {
		k, err := c.Read(buf[n:])
		if err != nil {
			return
		}
		n += k
		for {
			if skip > 0 {
				d := min(skip, n)
				n = copy(buf, buf[d:n])
				skip -= d
				if skip > 0 {
					break
				}
			}
			i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
			if i < 0 {
				break
			}
			skip = contentLength(buf[:i])
			if _, err := c.Write(resp); err != nil {
				return
			}
			n = copy(buf, buf[i+4:n])
		}
		if n == len(buf) {
			return
		}
	}
}

// contentLength finds a Content-Length value in a request head without
// allocating, so that longer heads cost the backend little.
func contentLength(head []byte) int {
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		const name = "content-length:"
		if len(line) <= len(name) || (line[0]|0x20) != 'c' {
			continue
		}
		match := true
		for j := 0; j < len(name); j++ {
			if line[j]|0x20 != name[j] && !(name[j] == '-' && line[j] == '-') && !(name[j] == ':' && line[j] == ':') {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		n := 0
		for _, c := range line[len(name):] {
			if c >= '0' && c <= '9' {
				n = n*10 + int(c-'0')
			}
		}
		return n
	}
	return 0
}
