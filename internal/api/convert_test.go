package api

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/proxy"
	"github.com/madang-dev/madang/internal/stack"
)

// fill sets every exported field reachable from v to a non-zero value:
// strings "s", numbers 7, booleans true, one element per slice and map.
func fill(v reflect.Value) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		if e.Kind() != reflect.Interface {
			fill(e)
		}
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	}
}

func filled[T any]() T {
	var x T
	fill(reflect.ValueOf(&x).Elem())
	return x
}

func jsonMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Every field of the internal records reaches the wire under the same
// JSON name, except the few the wire types rename on purpose.
func TestConversionsKeepEveryField(t *testing.T) {
	cases := []struct {
		name     string
		internal any
		wire     any
		// adjust turns the internal JSON into the expected wire JSON.
		adjust func(m map[string]any)
	}{
		{name: "instance view", internal: filled[compute.View](), wire: viewOf(filled[compute.View]())},
		{name: "instance", internal: filled[compute.Instance](), wire: instanceOf(filled[compute.Instance]()),
			adjust: func(m map[string]any) { m["cpuPercent"], m["memoryBytes"] = 0.0, 0.0 }},
		{name: "image", internal: filled[compute.Image](), wire: imageOf(filled[compute.Image]())},
		{name: "launch template", internal: filled[compute.LaunchTemplate](), wire: launchTemplateOf(filled[compute.LaunchTemplate]())},
		{name: "instance group", internal: filled[compute.Group](), wire: instanceGroupOf(filled[compute.Group]())},
		{name: "target group", internal: filled[elbctl.TargetGroup](), wire: targetGroupOf(filled[elbctl.TargetGroup]())},
		{name: "load balancer", internal: filled[elbctl.LoadBalancer](), wire: loadBalancerOf(filled[elbctl.LoadBalancer]())},
		{name: "target health", internal: filled[health.TargetHealth](), wire: targetHealthOf(filled[health.TargetHealth]()),
			adjust: func(m map[string]any) {
				delete(m, "lastLatency")
				m["lastLatencySeconds"] = (7 * time.Nanosecond).Seconds()
			}},
		{name: "metric", internal: filled[proxy.Metric](), wire: metricOf(filled[proxy.Metric]()),
			adjust: func(m map[string]any) {
				for _, k := range []string{"Name", "Dimensions", "Value", "Unit", "Kind"} {
					m[string(k[0]+'a'-'A')+k[1:]] = m[k]
					delete(m, k)
				}
			}},
		{name: "event", internal: filled[event.Event](), wire: eventOf(filled[event.Event]())},
		{name: "change", internal: filled[stack.Change](), wire: changeOf(filled[stack.Change]())},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, got := jsonMap(t, tc.internal), jsonMap(t, tc.wire)
			if tc.adjust != nil {
				tc.adjust(want)
			}
			if !reflect.DeepEqual(got, want) {
				gb, _ := json.MarshalIndent(got, "", " ")
				wb, _ := json.MarshalIndent(want, "", " ")
				t.Fatalf("wire JSON differs from the record's\n got: %s\nwant: %s", gb, wb)
			}
		})
	}
}

// Launch data sent with a run request reaches compute with every field,
// durations included.
func TestLaunchDataFromIsLaunchDataOfInverse(t *testing.T) {
	want := filled[compute.LaunchTemplateData]()
	got, err := launchDataFrom(launchDataOf(want))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("launchDataFrom(launchDataOf(x)) = %+v, want %+v", got, want)
	}
}
