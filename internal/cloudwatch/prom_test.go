package cloudwatch

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/state"
)

// BenchmarkPrometheus measures one scrape of /metrics with 800 series (100
// instances' AWS/EC2 metrics), the bench's load.
func BenchmarkPrometheus(b *testing.B) {
	now := time.Now()
	svc, err := New(context.Background(), Options{Home: b.TempDir(), Store: state.NewMemory(), Interval: -1, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	var data []metric.Datum
	for i := range 100 {
		for _, m := range instanceMetrics[:8] {
			data = append(data, datum(NamespaceEC2, m.name, dims("InstanceId", fmt.Sprintf("i-%017d", i)), m.unit, now.Add(-time.Second).Truncate(time.Second), float64(i)))
		}
	}
	if err := svc.metrics.Put(data); err != nil {
		b.Fatal(err)
	}
	h := svc.PrometheusHandler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		_, _ = io.Copy(io.Discard, rec.Body)
	}
}

// TestPrometheusText checks the text format itself: families sorted by
// name with HELP and TYPE lines, series sorted by label values, absent
// dimensions as empty labels, escaped label values, Sum for Count units
// and Average otherwise, and only fresh series.
func TestPrometheusText(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	svc, err := New(context.Background(), Options{Home: t.TempDir(), Store: state.NewMemory(), Interval: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	at := now.Add(-time.Second).Truncate(time.Second)
	data := []metric.Datum{
		datum(NamespaceEC2, "CPUUtilization", dims("InstanceId", "i-2"), "Percent", at, 30),
		datum(NamespaceEC2, "CPUUtilization", dims("InstanceId", "i-1"), "Percent", at, 10),
		datum(NamespaceEC2, "CPUUtilization", dims("InstanceId", "i-1"), "Percent", at, 20),
		datum(NamespaceEC2, "CPUUtilization", dims("AutoScalingGroupName", "web"), "Percent", at, 5),
		datum(NamespaceELB, "RequestCount", dims("LoadBalancer", `app/"q"\x`+"\n"), "Count", at, 3),
		datum(NamespaceELB, "RequestCount", dims("LoadBalancer", `app/"q"\x`+"\n"), "Count", at, 4),
		datum("Custom", "Plain", nil, "", at, 1.5),
		datum("Custom", "Old", nil, "", now.Add(-time.Minute).Truncate(time.Second), 1),
	}
	if err := svc.metrics.Put(data); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	svc.PrometheusHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := `# HELP aws_application_elb_request_count AWS/ApplicationELB RequestCount
# TYPE aws_application_elb_request_count gauge
aws_application_elb_request_count{load_balancer="app/\"q\"\\x\n"} 7
# HELP aws_ec2_cpu_utilization AWS/EC2 CPUUtilization
# TYPE aws_ec2_cpu_utilization gauge
aws_ec2_cpu_utilization{auto_scaling_group_name="",instance_id="i-1"} 15
aws_ec2_cpu_utilization{auto_scaling_group_name="",instance_id="i-2"} 30
aws_ec2_cpu_utilization{auto_scaling_group_name="web",instance_id=""} 5
# HELP custom_plain Custom Plain
# TYPE custom_plain gauge
custom_plain 1.5
`
	if got := rec.Body.String(); got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the text format's", ct)
	}
	// Prometheus's own parser reads it back: the families, their types and
	// the escaped label value.
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("Prometheus's parser refuses the exposition: %v", err)
	}
	rc := fams["aws_application_elb_request_count"]
	if len(fams) != 3 || rc == nil || rc.GetType() != dto.MetricType_GAUGE || len(rc.Metric) != 1 ||
		rc.Metric[0].Label[0].GetValue() != `app/"q"\x`+"\n" || rc.Metric[0].GetGauge().GetValue() != 7 {
		t.Fatalf("parsed families %v", fams)
	}
}
