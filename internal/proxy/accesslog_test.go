package proxy

import (
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/route"
)

// logFields splits an access-log line into fields, keeping quoted ones
// whole (without quotes).
func logFields(line string) []string {
	var out []string
	for len(line) > 0 {
		line = strings.TrimLeft(line, " ")
		if line == "" {
			break
		}
		if line[0] == '"' {
			end := 1
			for end < len(line) && (line[end] != '"' || line[end-1] == '\\') {
				end++
			}
			out = append(out, line[1:end])
			line = line[min(end+1, len(line)):]
			continue
		}
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			end = len(line)
		}
		out = append(out, line[:end])
		line = line[end:]
	}
	return out
}

func TestAccessLogFields(t *testing.T) {
	a := newBackend(t, "a", nil)
	logs := &syncBuffer{}
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	cfg.TargetGroups = append(cfg.TargetGroups, TargetGroup{Name: "empty"})
	cfg.LoadBalancers[0].AccessLog = logs
	cfg.LoadBalancers[0].Listeners[0].Rules = []route.RuleConfig{{
		Priority: 7, Conditions: []route.Condition{{Field: "path-pattern", Values: []string{"/empty"}}}, Actions: forwardTo("empty"),
	}}
	h := newHarness(t, cfg, Options{})
	c := newClient(t)
	get(t, c, h.url+"/hello?x=1", "User-Agent", "tester/1.0", "Host", "app.example.com")
	get(t, c, h.url+"/empty")
	waitFor(t, 3*time.Second, "two access-log lines", func() bool { return strings.Count(logs.String(), "\n") >= 2 })
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")

	names := []string{"type", "time", "elb", "client:port", "target:port", "request_processing_time", "target_processing_time",
		"response_processing_time", "elb_status_code", "target_status_code", "received_bytes", "sent_bytes", "request",
		"user_agent", "ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id", "domain_name", "chosen_cert_arn",
		"matched_rule_priority", "request_creation_time", "actions_executed", "redirect_url", "error_reason",
		"target:port_list", "target_status_code_list", "classification", "classification_reason"}
	f := logFields(lines[0])
	if len(f) != len(names) {
		t.Fatalf("line has %d fields, want %d: %q", len(f), len(names), lines[0])
	}
	field := func(fs []string, name string) string {
		for i, n := range names {
			if n == name {
				return fs[i]
			}
		}
		t.Fatalf("no field %s", name)
		return ""
	}
	checks := []struct {
		name string
		want *regexp.Regexp
	}{
		{"type", regexp.MustCompile(`^http$`)},
		{"time", regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)},
		{"elb", regexp.MustCompile(`^app/lb$`)},
		{"client:port", regexp.MustCompile(`^127\.0\.0\.1:\d+$`)},
		{"target:port", regexp.MustCompile(`^` + regexp.QuoteMeta(a.addr()) + `$`)},
		{"request_processing_time", regexp.MustCompile(`^\d+\.\d{3}$`)},
		{"target_processing_time", regexp.MustCompile(`^\d+\.\d{3}$`)},
		{"elb_status_code", regexp.MustCompile(`^200$`)},
		{"target_status_code", regexp.MustCompile(`^200$`)},
		{"request", regexp.MustCompile(`^GET http://app\.example\.com:\d+/hello\?x=1 HTTP/1\.1$`)},
		{"user_agent", regexp.MustCompile(`^tester/1\.0$`)},
		{"target_group_arn", regexp.MustCompile(`^arn:aws:elasticloadbalancing:local:000000000000:targetgroup/tg/\S+$`)},
		{"trace_id", regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`)},
		{"matched_rule_priority", regexp.MustCompile(`^0$`)},
		{"actions_executed", regexp.MustCompile(`^forward$`)},
		{"target:port_list", regexp.MustCompile(`^` + regexp.QuoteMeta(a.addr()) + `$`)},
		{"target_status_code_list", regexp.MustCompile(`^200$`)},
	}
	for _, ck := range checks {
		t.Run(ck.name, func(t *testing.T) {
			if got := field(f, ck.name); !ck.want.MatchString(got) {
				t.Errorf("%s = %q, want match %s", ck.name, got, ck.want)
			}
		})
	}
	t.Run("not dispatched", func(t *testing.T) {
		g := logFields(lines[1])
		if len(g) != len(names) {
			t.Fatalf("line has %d fields: %q", len(g), lines[1])
		}
		for _, n := range []string{"request_processing_time", "target_processing_time", "response_processing_time"} {
			if field(g, n) != "-1" {
				t.Errorf("%s = %q, want -1", n, field(g, n))
			}
		}
		if field(g, "elb_status_code") != "503" || field(g, "matched_rule_priority") != "7" || field(g, "target:port") != "-" {
			t.Errorf("line %q: want 503, rule 7, no target", lines[1])
		}
	})
}

func TestClientClosedIs460(t *testing.T) {
	release := make(chan struct{})
	slow := listenRaw(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf)
		<-release
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	logs := &syncBuffer{}
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: []Target{{ID: "s", Addr: slow, Weight: 1}}})
	cfg.LoadBalancers[0].AccessLog = logs
	h := newHarness(t, cfg, Options{})
	nc, err := net.Dial("tcp", h.addr())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	nc.(*net.TCPConn).SetLinger(0)
	nc.Close()
	time.Sleep(50 * time.Millisecond)
	close(release)
	waitFor(t, 3*time.Second, "the 460 line", func() bool { return strings.Contains(logs.String(), "\n") })
	g := logFields(strings.TrimSpace(logs.String()))
	if len(g) < 9 || g[8] != "460" {
		t.Errorf("access log %q, want elb_status_code 460", logs.String())
	}
}

func TestMetrics(t *testing.T) {
	a := newBackend(t, "a", nil)
	cfg := simpleConfig(TargetGroup{Name: "tg", Targets: targetsOf(a)})
	h := newHarness(t, cfg, Options{})
	c := newClient(t)
	for i := 0; i < 5; i++ {
		get(t, c, h.url+"/")
	}
	rawRoundTrip(t, h.addr(), "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n")
	lbd := map[string]string{"LoadBalancer": "lb"}
	tgd := map[string]string{"LoadBalancer": "lb", "TargetGroup": "tg"}
	// A response is counted just after it is sent, so the client may see
	// it first.
	waitFor(t, 3*time.Second, "the 405 counted", func() bool { return collect(h.p, "HTTPCode_ELB_4XX_Count", lbd) == 1 })
	tests := []struct {
		name string
		dims map[string]string
		want float64
		min  bool
	}{
		{name: "RequestCount", dims: map[string]string{"LoadBalancer": "lb", "TargetGroup": ""}, want: 5},
		{name: "RequestCount", dims: tgd, want: 5},
		{name: "HTTPCode_Target_2XX_Count", dims: tgd, want: 5},
		{name: "HTTPCode_ELB_4XX_Count", dims: lbd, want: 1},
		{name: "RequestCountPerTarget", dims: map[string]string{"TargetGroup": "tg", "Target": "a"}, want: 5},
		{name: "NewConnectionCount", dims: lbd, want: 2, min: true},
		{name: "ProcessedBytes", dims: lbd, want: 100, min: true},
		{name: "RuleEvaluations", dims: lbd, want: 5, min: true},
		{name: "ActiveConnectionCount", want: 1, min: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := collect(h.p, tc.name, tc.dims)
			if (tc.min && got < tc.want) || (!tc.min && got != tc.want) {
				t.Errorf("%s%v = %v, want %v", tc.name, tc.dims, got, tc.want)
			}
		})
	}
	var count, p99 float64
	h.p.Collect(func(m Metric) {
		if m.Name == "TargetResponseTime" && m.Dimensions["TargetGroup"] == "tg" {
			switch m.Dimensions["Statistic"] {
			case "SampleCount":
				count = m.Value
			case "p99":
				p99 = m.Value
			}
		}
	})
	if count != 5 || p99 <= 0 || p99 > 1 {
		t.Errorf("TargetResponseTime SampleCount = %v p99 = %v, want 5 and a small positive value", count, p99)
	}
}
