package loggroup

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// t0 is the tests' base time.
var t0 = time.Date(2026, 10, 13, 10, 0, 0, 0, time.UTC)

// at is t0 plus s seconds.
func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// instLine formats an instance log line at t0+s.
func instLine(s float64, stream, text string) string {
	return at(s).Format(time.RFC3339Nano) + " " + stream + " " + text + "\n"
}

// accessLine formats an access log line at t0+s.
func accessLine(s float64, status int, path string) string {
	return "http " + at(s).Format("2006-01-02T15:04:05.000000Z") + " app/web 10.0.0.1:5000 127.0.0.2:3000 0.001 0.002 0.001 " +
		strconv.Itoa(status) + " " + strconv.Itoa(status) + " 80 120 \"GET http://example.com:80" + path + " HTTP/1.1\" \"curl/8\" - -\n"
}

// appendFile appends lines to the file at path, creating it.
func appendFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if _, err := f.WriteString(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// rotate rotates the log at path as package logfile does.
func rotate(t *testing.T, path string) {
	t.Helper()
	paths := RotatedPaths(path)
	for i := len(paths) - 1; i >= 0; i-- {
		// paths[i] is path.(len-1-i); move it one up.
		n := len(paths) - 1 - i
		if err := os.Rename(paths[i], path+"."+strconv.Itoa(n+1)); err != nil {
			t.Fatal(err)
		}
	}
}

// testSource lists instance streams and access logs under dir.
type testSource struct {
	instances map[string][2]string // id -> group, log path
	lbs       map[string]string    // lb -> access log path
}

func (s *testSource) Streams() []StreamInfo {
	var out []StreamInfo
	for id, gp := range s.instances {
		out = append(out, InstanceStream(gp[0], id, gp[1]))
	}
	for lb, p := range s.lbs {
		out = append(out, AccessLogStream(lb, p))
	}
	return out
}

// messages returns the events' messages.
func messages(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Message
	}
	return out
}
