package cloudwatch

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

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
