package accesslog

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendLine(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := &Entry{
		Start: start, Dispatched: start.Add(time.Millisecond), Responded: start.Add(3 * time.Millisecond), End: start.Add(4 * time.Millisecond),
		LoadBalancer: "web", Client: "10.0.0.1:5000", Target: "127.16.0.2:3000",
		ELBStatus: 200, TargetStatus: 200, Received: 80, Sent: 120,
		Method: []byte("GET"), Host: []byte("example.com:8080"), RequestTarget: []byte("/a?b=\"c\""), Port: "8080", Minor: 1,
		UserAgent: []byte("curl/8"), TraceID: []byte("Root=1-x"), TargetGroupARN: "arn:tg",
		Rule: 10, Actions: "forward", TargetsTried: []string{"127.16.0.2:3000"}, TargetStatuses: []string{"200"},
	}
	want := `http 2026-01-02T03:04:05.004000Z app/web 10.0.0.1:5000 127.16.0.2:3000 0.001 0.002 0.001 200 200 80 120 "GET http://example.com:8080/a?b=\"c\" HTTP/1.1" "curl/8" - - arn:tg "Root=1-x" "-" "-" 10 2026-01-02T03:04:05.000000Z "forward" "-" "-" "127.16.0.2:3000" "200" "-" "-"` + "\n"
	if got := string(AppendLine(nil, e)); got != want {
		t.Errorf("AppendLine =\n%s\nwant\n%s", got, want)
	}
	empty := string(AppendLine(nil, &Entry{LoadBalancer: "web", Client: "1.2.3.4:5", ELBStatus: 408, Rule: -1, ErrorReason: "RequestHeaderTimeout"}))
	if !strings.Contains(empty, ` - -1 -1 -1 408 - 0 0 "- - - " "-" - - - "-"`) || !strings.Contains(empty, `"RequestHeaderTimeout"`) {
		t.Errorf("line without a request = %q", empty)
	}
	b := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { b = AppendLine(b[:0], e) }); n != 0 {
		t.Errorf("AppendLine allocates %.0f times, want 0", n)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestWriterFlushesOnClose(t *testing.T) {
	var out lockedBuffer
	w := New(&out, nil)
	if !w.Write([]byte("a\n")) || !w.Write([]byte("b\n")) {
		t.Fatal("Write dropped a line")
	}
	w.Close()
	w.Close()
	if got := out.b.String(); got != "a\nb\n" {
		t.Errorf("written %q, want both lines", got)
	}
	if w.Write([]byte("c\n")) {
		t.Error("Write after Close reported the line queued")
	}
}
