package alarm

import (
	"encoding/json"
	"testing"
)

func TestStateUpdate(t *testing.T) {
	r := rule(1, 1, MissingMissing)
	tests := []struct {
		name    string
		prev    State
		points  string
		summary string
		old     State
		new     State
	}{
		{"OK to ALARM", OK, "- - X", "Alarm updated from OK to ALARM", OK, Alarm},
		{"ALARM to OK", Alarm, "- - 0", "Alarm updated from ALARM to OK", Alarm, OK},
		{"new alarm", "", "- - 0", "Alarm updated from INSUFFICIENT_DATA to OK", InsufficientData, OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Evaluate(r, pattern(t, r, now, tt.points), tt.prev, now)
			h := StateUpdate("cpu-high", tt.prev, res, now)
			if h.Type != HistoryStateUpdate || h.AlarmName != "cpu-high" || !h.Timestamp.Equal(now) || h.Summary != tt.summary {
				t.Fatalf("item %+v", h)
			}
			var data struct {
				Version  string `json:"version"`
				OldState struct {
					StateValue State `json:"stateValue"`
				} `json:"oldState"`
				NewState struct {
					StateValue      State           `json:"stateValue"`
					StateReason     string          `json:"stateReason"`
					StateReasonData json.RawMessage `json:"stateReasonData"`
				} `json:"newState"`
			}
			if err := json.Unmarshal([]byte(h.Data), &data); err != nil {
				t.Fatalf("Data %s: %v", h.Data, err)
			}
			if data.Version != "1.0" || data.OldState.StateValue != tt.old || data.NewState.StateValue != tt.new ||
				data.NewState.StateReason != res.Reason || string(data.NewState.StateReasonData) != res.ReasonData.String() {
				t.Fatalf("Data %s", h.Data)
			}
		})
	}
}

func TestConfigurationUpdate(t *testing.T) {
	tests := []struct {
		name    string
		created bool
		summary string
		data    string
	}{
		{"created", true, `Alarm "cpu-high" created`, `{"version":"1.0","type":"Create"}`},
		{"updated", false, `Alarm "cpu-high" updated`, `{"version":"1.0","type":"Update"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ConfigurationUpdate("cpu-high", tt.created, now)
			if h.Type != HistoryConfigurationUpdate || h.Summary != tt.summary || h.Data != tt.data {
				t.Fatalf("item %+v", h)
			}
		})
	}
}
