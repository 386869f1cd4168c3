package cloudwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/lbmetrics"
	"github.com/madang-dev/madang/internal/metric"
	"github.com/madang-dev/madang/internal/metricstore"
	"github.com/madang-dev/madang/internal/state"
)

// dimsKey writes a datum's dimensions as "Name=Value,…".
func dimsKey(ds []metric.Dimension) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.Name + "=" + d.Value)
	}
	return b.String()
}

func TestAppendZones(t *testing.T) {
	counts := func(requests, ok int64) lbmetrics.GroupCounters {
		var c lbmetrics.GroupCounters
		c[lbmetrics.GroupRequestCount], c[lbmetrics.GroupTarget2XXCount] = requests, ok
		return c
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	zones := []lbmetrics.GroupInterval{
		{LoadBalancer: "web", TargetGroup: "a", AvailabilityZone: "local-1a", Counters: counts(3, 3), HealthyHostCount: 2,
			ResponseTimeCount: 3, ResponseTimeBuckets: lbmetrics.Buckets{{Index: -300, Count: 3}}},
		{LoadBalancer: "web", TargetGroup: "b", AvailabilityZone: "local-1a", Counters: counts(2, 1), HealthyHostCount: 1, UnHealthyHostCount: 1},
		{LoadBalancer: "web", TargetGroup: "a", AvailabilityZone: "local-1c"},
	}
	got := map[string]metric.Datum{}
	for _, d := range appendZones(nil, zones, at) {
		k := d.ID.Name + " " + dimsKey(d.ID.Dimensions)
		if _, dup := got[k]; dup {
			t.Errorf("%s published twice", k)
		}
		got[k] = d
	}
	tests := []struct {
		key    string
		want   float64 // a value; -1: a distribution
		absent bool
	}{
		{key: "RequestCount AvailabilityZone=local-1a,LoadBalancer=web,TargetGroup=a", want: 3},
		{key: "HTTPCode_Target_2XX_Count AvailabilityZone=local-1a,LoadBalancer=web,TargetGroup=b", want: 1},
		{key: "HealthyHostCount AvailabilityZone=local-1a,LoadBalancer=web,TargetGroup=a", want: 2},
		{key: "UnHealthyHostCount AvailabilityZone=local-1a,LoadBalancer=web,TargetGroup=b", want: 1},
		{key: "TargetResponseTime AvailabilityZone=local-1a,LoadBalancer=web,TargetGroup=a", want: -1},
		{key: "RequestCount AvailabilityZone=local-1a,LoadBalancer=web", want: 5},
		{key: "HTTPCode_Target_2XX_Count AvailabilityZone=local-1a,LoadBalancer=web", want: 4},
		{key: "TargetResponseTime AvailabilityZone=local-1a,LoadBalancer=web", want: -1},
		{key: "HealthyHostCount AvailabilityZone=local-1c,LoadBalancer=web,TargetGroup=a", want: 0},
		{key: "UnHealthyHostCount AvailabilityZone=local-1c,LoadBalancer=web,TargetGroup=a", want: 0},
		{key: "RequestCount AvailabilityZone=local-1c,LoadBalancer=web,TargetGroup=a", absent: true},
		{key: "RequestCount AvailabilityZone=local-1c,LoadBalancer=web", absent: true},
		{key: "HealthyHostCount AvailabilityZone=local-1a,LoadBalancer=web", absent: true},
		{key: "RequestCountPerTarget AvailabilityZone=local-1a,LoadBalancer=web,TargetGroup=a", absent: true},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			d, ok := got[tc.key]
			switch {
			case tc.absent:
				if ok {
					t.Errorf("published, want it left out")
				}
			case !ok:
				t.Errorf("not published")
			case tc.want < 0:
				if len(d.Values) == 0 || d.Unit != "Seconds" {
					t.Errorf("values %v unit %s, want a distribution in Seconds", d.Values, d.Unit)
				}
			case d.Value == nil || *d.Value != tc.want:
				t.Errorf("value %v, want %v", d.Value, tc.want)
			}
		})
	}
}

// zoneInstances are running instances in zones whose apps are test
// servers.
type zoneInstances map[string]compute.Instance

func (z zoneInstances) Members(string) []compute.Instance { return nil }

func (z zoneInstances) Instance(id string) (compute.Instance, error) {
	in, ok := z[id]
	if !ok {
		return compute.Instance{}, fmt.Errorf("no instance %s", id)
	}
	return in, nil
}

// TestZoneMetricsPublished runs a load balancer (an in-process data
// plane) in front of instances in two of the region's three zones, sends
// requests through it and checks what the collector published per zone,
// through ListMetrics, GetMetricStatistics and GetMetricData.
func TestZoneMetricsPublished(t *testing.T) {
	served := map[string]int{}
	insts := zoneInstances{}
	for id, zone := range map[string]string{"i-a": "local-1a", "i-b": "local-1b"} {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, id) }))
		t.Cleanup(s.Close)
		host, port, _ := net.SplitHostPort(s.Listener.Addr().String())
		p, _ := strconv.Atoi(port)
		insts[id] = compute.Instance{ID: id, PrivateIP: host, Port: p, Zone: zone, State: compute.StateRunning, Desired: compute.StateRunning}
	}
	store := state.NewMemory()
	ctl, err := elbctl.New(context.Background(), elbctl.Options{Home: t.TempDir(), Store: store, Events: event.New(64, nil),
		Instances: insts, Zones: []string{"local-1a", "local-1b", "local-1c"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ctl.Close(ctx)
	})
	tg := elb.TargetGroupSpec{Name: "web", TargetType: "instance", Targets: []elb.TargetSpec{{ID: "i-a"}, {ID: "i-b"}},
		HealthCheck: elb.HealthCheckSpec{Path: "/", IntervalSeconds: 5, TimeoutSeconds: 2, HealthyThresholdCount: 2, UnhealthyThresholdCount: 2}}
	tg.ApplyDefaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	lb := elb.LoadBalancerSpec{Name: "web", Listeners: []elb.ListenerSpec{{Port: port, DefaultActions: []elb.ActionSpec{{Type: "forward", TargetGroup: "web"}}}}}
	lb.ApplyDefaults()
	put := func(key string, v any) {
		b, _ := json.Marshal(v)
		if _, err := store.Put(context.Background(), key, b); err != nil {
			t.Fatal(err)
		}
	}
	put(elbctl.TargetGroupPrefix+"web", elbctl.TargetGroup{Spec: tg, ARN: "arn:test:web"})
	put(elbctl.LoadBalancerPrefix+"web", elbctl.LoadBalancer{Spec: lb, ARN: "arn:test:lb/web"})
	waitUntil(t, "both targets healthy", func() bool {
		th, err := ctl.Health("web")
		return err == nil && len(th) == 2 && th[0].State == "healthy" && th[1].State == "healthy"
	})

	h := &harness{t: t, store: state.NewMemory(), home: t.TempDir(), now: time.Date(2026, 12, 1, 10, 0, 0, 200e6, time.UTC),
		tick: make(chan time.Time), round: make(chan struct{}, 1)}
	svc, err := New(context.Background(), Options{Home: h.home, Store: h.store, LoadBalancers: ctl,
		Now: h.clock, Tick: h.tick, OnRound: func() { h.round <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	svc.Start()
	t.Cleanup(func() { _ = svc.Close() })
	h.svc = svc

	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	const n = 20
	for range n {
		resp, err := hc.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		served[insts[string(b)].Zone]++
	}
	if served["local-1a"] == 0 || served["local-1b"] == 0 {
		t.Fatalf("requests served by zone %v, want both zones to serve", served)
	}
	h.step()

	aws := metricstore.Filter{Namespace: NamespaceELB, Dimensions: []metricstore.DimensionFilter{{Name: "AvailabilityZone"}}}
	var listed []string
	for _, id := range svc.ListMetrics(aws) {
		listed = append(listed, id.Name+" "+dimsKey(id.Dimensions))
	}
	for _, want := range []string{
		"HealthyHostCount AvailabilityZone=local-1a,LoadBalancer=web,TargetGroup=web",
		"UnHealthyHostCount AvailabilityZone=local-1b,LoadBalancer=web,TargetGroup=web",
		"HealthyHostCount AvailabilityZone=local-1c,LoadBalancer=web,TargetGroup=web",
		"RequestCount AvailabilityZone=local-1a,LoadBalancer=web,TargetGroup=web",
		"HTTPCode_Target_2XX_Count AvailabilityZone=local-1b,LoadBalancer=web,TargetGroup=web",
		"TargetResponseTime AvailabilityZone=local-1b,LoadBalancer=web,TargetGroup=web",
		"RequestCount AvailabilityZone=local-1a,LoadBalancer=web",
		"TargetResponseTime AvailabilityZone=local-1a,LoadBalancer=web",
	} {
		if !slices.Contains(listed, want) {
			t.Errorf("ListMetrics does not list %s; it lists %q", want, listed)
		}
	}

	id := func(name string, kv ...string) metric.ID {
		return metric.ID{Namespace: NamespaceELB, Name: name, Dimensions: dims(kv...)}
	}
	stat := func(id metric.ID, s string) (float64, bool) {
		st, err := metric.ParseStatistic(s)
		if err != nil {
			t.Fatal(err)
		}
		now := h.clock()
		dps, err := svc.Statistics(metricstore.Query{ID: id, Start: now.Add(-time.Minute), End: now, Period: time.Minute, Statistics: []metric.Statistic{st}})
		if err != nil {
			t.Fatal(err)
		}
		if len(dps) != 1 {
			return 0, false
		}
		v, ok := dps[0].Values[s]
		return v, ok
	}
	tests := []struct {
		name string
		id   metric.ID
		stat string
		want float64 // -1: any positive value
	}{
		{"zone 1a requests", id("RequestCount", "AvailabilityZone", "local-1a", "LoadBalancer", "web", "TargetGroup", "web"), "Sum", float64(served["local-1a"])},
		{"zone 1b 2XX", id("HTTPCode_Target_2XX_Count", "AvailabilityZone", "local-1b", "LoadBalancer", "web", "TargetGroup", "web"), "Sum", float64(served["local-1b"])},
		{"zone 1b requests of the load balancer", id("RequestCount", "AvailabilityZone", "local-1b", "LoadBalancer", "web"), "Sum", float64(served["local-1b"])},
		{"zone 1a healthy hosts", id("HealthyHostCount", "AvailabilityZone", "local-1a", "LoadBalancer", "web", "TargetGroup", "web"), "Maximum", 1},
		{"zone 1c without targets", id("HealthyHostCount", "AvailabilityZone", "local-1c", "LoadBalancer", "web", "TargetGroup", "web"), "Maximum", 0},
		{"zone 1a response time", id("TargetResponseTime", "AvailabilityZone", "local-1a", "LoadBalancer", "web", "TargetGroup", "web"), "p50", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := stat(tc.id, tc.stat)
			if !ok || (tc.want < 0 && v <= 0) || (tc.want >= 0 && v != tc.want) {
				t.Errorf("%s %s = %v (present %v), want %v", tc.id.Name, tc.stat, v, ok, tc.want)
			}
		})
	}

	// GetMetricData: the zones' sum is every forwarded request.
	now := h.clock()
	zoneQuery := func(qid, zone string) MetricQuery {
		f := false
		return MetricQuery{ID: qid, ReturnData: &f, MetricStat: &MetricStat{Period: 60, Stat: "Sum", Metric: MetricRef{Namespace: NamespaceELB,
			MetricName: "RequestCount", Dimensions: map[string]string{"AvailabilityZone": zone, "LoadBalancer": "web"}}}}
	}
	res, err := svc.GetMetricData([]MetricQuery{zoneQuery("a", "local-1a"), zoneQuery("b", "local-1b"), {ID: "total", Expression: "a+b"}},
		now.Add(-time.Minute), now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(res[0].Values) != 1 || res[0].Values[0] != n {
		t.Errorf("GetMetricData a+b = %+v, want one value %d", res, n)
	}
}

// waitUntil polls cond for up to 10 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
