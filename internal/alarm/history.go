package alarm

import (
	"encoding/json"
	"fmt"
	"time"
)

// The HistoryItemType values of DescribeAlarmHistory.
const (
	HistoryStateUpdate         = "StateUpdate"
	HistoryConfigurationUpdate = "ConfigurationUpdate"
	HistoryAction              = "Action"
)

// HistoryItem is one entry of an alarm's history, as DescribeAlarmHistory
// returns it.
type HistoryItem struct {
	// Timestamp is when it happened.
	Timestamp time.Time
	// AlarmName is the alarm's name.
	AlarmName string
	// Type is HistoryStateUpdate, HistoryConfigurationUpdate or
	// HistoryAction.
	Type string
	// Summary is the human-readable line, e.g. "Alarm updated from OK to
	// ALARM".
	Summary string
	// Data is JSON like AWS's HistoryData.
	Data string
}

// historyState is one side of a StateUpdate's HistoryData.
type historyState struct {
	StateValue      State       `json:"stateValue"`
	StateReason     string      `json:"stateReason,omitempty"`
	StateReasonData *ReasonData `json:"stateReasonData,omitempty"`
}

// StateUpdate returns the history item of the alarm name's state changing
// from prev to r.State at now. Its Data is AWS's HistoryData:
// {"version": "1.0", "oldState": {"stateValue"}, "newState": {"stateValue",
// "stateReason", "stateReasonData"}}. The old state's reason is not known
// here and is left out.
func StateUpdate(name string, prev State, r Result, now time.Time) HistoryItem {
	prev = prev.orInitial()
	data := struct {
		Version  string       `json:"version"`
		OldState historyState `json:"oldState"`
		NewState historyState `json:"newState"`
	}{
		Version:  reasonVersion,
		OldState: historyState{StateValue: prev},
		NewState: historyState{StateValue: r.State, StateReason: r.Reason, StateReasonData: &r.ReasonData},
	}
	b, err := json.Marshal(data)
	if err != nil {
		b = []byte("{}")
	}
	return HistoryItem{
		Timestamp: now,
		AlarmName: name,
		Type:      HistoryStateUpdate,
		Summary:   fmt.Sprintf("Alarm updated from %s to %s", prev, r.State),
		Data:      string(b),
	}
}

// ConfigurationUpdate returns the history item of the alarm name being
// created (created) or updated at now: AWS's summaries "Alarm "name"
// created" and "Alarm "name" updated", with {"version": "1.0", "type":
// "Create"|"Update"} as its data.
func ConfigurationUpdate(name string, created bool, now time.Time) HistoryItem {
	verb, typ := "updated", "Update"
	if created {
		verb, typ = "created", "Create"
	}
	b, _ := json.Marshal(struct {
		Version string `json:"version"`
		Type    string `json:"type"`
	}{reasonVersion, typ})
	return HistoryItem{
		Timestamp: now,
		AlarmName: name,
		Type:      HistoryConfigurationUpdate,
		Summary:   fmt.Sprintf("Alarm %q %s", name, verb),
		Data:      string(b),
	}
}
