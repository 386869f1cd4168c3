package logs

import (
	"fmt"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/loggroup"
)

func TestTailBufferSamples(t *testing.T) {
	tests := []struct {
		name        string
		added       int
		wantKept    int
		wantSampled bool
	}{
		{name: "none", added: 0, wantKept: 0},
		{name: "under the limit", added: 3, wantKept: 3},
		{name: "at the limit", added: maxUpdateEvents, wantKept: maxUpdateEvents},
		{name: "over the limit drops the rest", added: maxUpdateEvents + 250, wantKept: maxUpdateEvents, wantSampled: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &tailBuffer{max: maxUpdateEvents}
			for i := range tc.added {
				b.add(tailEvent{ev: loggroup.Event{Message: fmt.Sprint(i)}, ingested: time.Now()})
			}
			evs, sampled := b.take()
			if len(evs) != tc.wantKept || sampled != tc.wantSampled {
				t.Errorf("take = %d events, sampled %v; want %d, %v", len(evs), sampled, tc.wantKept, tc.wantSampled)
			}
			if len(evs) > 0 && evs[0].ev.Message != "0" {
				t.Errorf("first kept event = %q, want the oldest", evs[0].ev.Message)
			}
			if evs, sampled := b.take(); len(evs) != 0 || sampled {
				t.Errorf("second take = %d events, sampled %v; want an empty buffer", len(evs), sampled)
			}
		})
	}
}

func TestLiveTailUpdate(t *testing.T) {
	at := time.UnixMilli(1700000000123)
	b := &tailBuffer{max: 1}
	b.add(tailEvent{ev: loggroup.Event{Group: "/shop/checkout", Stream: "web-1", Message: "paid", Timestamp: at}, ingested: at.Add(time.Second)})
	b.add(tailEvent{ev: loggroup.Event{Group: "/shop/checkout", Stream: "web-1", Message: "dropped", Timestamp: at}})
	req := &liveTailRequest{byGroup: map[string]string{"/shop/checkout": "arn:aws:logs:local:1:log-group:/shop/checkout"}}
	u := update(b, req)
	if s := u["sessionMetadata"].(map[string]any)["sampled"]; s != true {
		t.Errorf("sampled = %v, want true", s)
	}
	res := u["sessionResults"].([]any)
	want := map[string]any{"logStreamName": "web-1", "logGroupIdentifier": "arn:aws:logs:local:1:log-group:/shop/checkout", "message": "paid",
		"timestamp": at.UnixMilli(), "ingestionTime": at.Add(time.Second).UnixMilli()}
	if len(res) != 1 || fmt.Sprint(res[0]) != fmt.Sprint(want) {
		t.Errorf("sessionResults = %v, want [%v]", res, want)
	}
}
