package daemon

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/logstore"
	"github.com/madang-dev/madang/internal/metric"
)

// Reset removes the resources of stacks and of no stack, metric series,
// API log streams and every runtime record, keeps the access keys and the
// account, and leaves the daemon ready for new resources.
func TestReset(t *testing.T) {
	d := runDaemon(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := resources{d}
	if _, _, err := r.Put(ctx, "target-group", "api-tg", []byte(`{"name":"api-tg","port":8080}`)); err != nil {
		t.Fatalf("put target group: %v", err)
	}
	if _, err := (stacks{d}).Apply(ctx, api.StackRequest{Path: filepath.Join(t.TempDir(), "madang.yaml"), YAML: "name: s1\ntargetGroups:\n  - name: stack-tg\n"}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	v := 1.0
	if err := d.cw.Metrics().Put([]metric.Datum{{ID: metric.ID{Namespace: "Shop", Name: "Orders"}, Timestamp: time.Now(), Value: &v}}); err != nil {
		t.Fatal(err)
	}
	if err := d.apiLogs.CreateStream("/shop", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.apiLogs.Put("/shop", "a", []logstore.Event{{Timestamp: time.Now(), Message: "hi"}}, 0); err != nil {
		t.Fatal(err)
	}
	keys := d.keys.List()
	acct := d.keys.Account()

	plan, err := d.ResetPlan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Resources != 2 || plan.ByKind["target-group"] != 2 || !slices.Equal(plan.Stacks, []string{"s1"}) || plan.LogStreams != 1 || plan.MetricSeries == 0 {
		t.Errorf("plan = %+v; want 2 target groups of s1 and none, 1 log stream, metric series", plan)
	}
	res, err := d.Reset(ctx)
	if err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if res.Resources != 2 || res.LogStreams != 1 || res.MetricSeries == 0 || res.DurationSeconds <= 0 {
		t.Errorf("Reset = %+v", res)
	}
	kvs, _, err := d.store.List(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		if !strings.HasPrefix(kv.Key, "/iam/") {
			t.Errorf("record %s left after Reset", kv.Key)
		}
	}
	if got := d.keys.List(); len(got) != len(keys) || got[0].ID != keys[0].ID || d.keys.Account() != acct {
		t.Errorf("access keys or account changed: %+v → %+v", keys, got)
	}
	if tgs := d.elb.TargetGroups(); len(tgs) != 0 {
		t.Errorf("the ELB controller still serves %d target groups", len(tgs))
	}
	if n := d.cw.Metrics().SeriesCount(); n != 0 {
		t.Errorf("%d metric series left", n)
	}
	after, err := d.ResetPlan(ctx)
	if err != nil || after.Resources != 0 || after.Records != 0 || after.LogStreams != 0 || after.Instances != 0 {
		t.Errorf("plan after Reset = %+v, %v; want nothing", after, err)
	}
	// As usable as a fresh daemon: the same names are free again.
	if _, _, err := r.Put(ctx, "target-group", "stack-tg", []byte(`{"name":"stack-tg","port":8080}`)); err != nil {
		t.Errorf("put a target group of a removed stack's name after Reset: %v", err)
	}
}
