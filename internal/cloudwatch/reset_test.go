package cloudwatch

import (
	"context"
	"testing"

	"github.com/madang-dev/madang/internal/alarm"
	"github.com/madang-dev/madang/internal/metricstore"
	"github.com/madang-dev/madang/internal/state"
)

func TestReset(t *testing.T) {
	tests := []struct {
		name string
		// deleteAlarm deletes the alarm's record before the reset, as a
		// clean slate does.
		deleteAlarm bool
	}{
		{name: "alarm deleted first", deleteAlarm: true},
		{name: "alarm kept", deleteAlarm: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := state.NewMemory()
			h := newHarness(t, store, t.TempDir())
			h.inst.set("i-1", 90)
			h.putRecord(AlarmPrefix+"cpu", cpuAlarm())
			h.step()
			h.step()
			if st := h.state("cpu"); st.State != alarm.Alarm {
				t.Fatalf("state %s, want ALARM", st.State)
			}
			ctx := context.Background()
			if tc.deleteAlarm {
				rev, err := store.Delete(ctx, AlarmPrefix+"cpu")
				if err != nil {
					t.Fatal(err)
				}
				if err := h.svc.Observed(ctx, rev); err != nil {
					t.Fatal(err)
				}
			}
			// The instance is gone: nothing to collect from now on.
			h.inst.mu.Lock()
			delete(h.inst.cpu, "i-1")
			h.inst.mu.Unlock()
			n, err := h.svc.Reset(ctx)
			if err != nil {
				t.Fatalf("Reset: %v", err)
			}
			if n == 0 {
				t.Error("Reset removed 0 metric series, want the collector's")
			}
			if ids := h.svc.Metrics().List(metricstore.Filter{}); len(ids) != 0 {
				t.Errorf("metrics after Reset: %v", ids)
			}
			kvs, _, _ := store.List(ctx, StatePrefix)
			if tc.deleteAlarm && len(kvs) != 0 {
				t.Errorf("%d alarm state or history records left", len(kvs))
			}
			hist, err := h.svc.History(ctx, "cpu", "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if tc.deleteAlarm && len(hist) != 0 {
				t.Errorf("history after Reset: %v", hist)
			}
			if !tc.deleteAlarm {
				// The alarm starts again as a new one: no data now.
				h.step()
				if st := h.state("cpu"); st.State != alarm.InsufficientData {
					t.Errorf("kept alarm after Reset: state %s, want %s", st.State, alarm.InsufficientData)
				}
				for _, it := range hist {
					if it.Type == "StateUpdate" {
						t.Errorf("history before the reset survived: %+v", it)
					}
				}
			}
		})
	}
}
