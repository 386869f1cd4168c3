package compute

import (
	"encoding/json"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestDurationYAML(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    time.Duration
		wantErr bool
	}{
		{"milliseconds", "250ms", 250 * time.Millisecond, false},
		{"seconds", "5s", 5 * time.Second, false},
		{"composite", "1m30s", 90 * time.Second, false},
		{"bare integer is seconds", "5", 5 * time.Second, false},
		{"bare float is seconds", "1.5", 1500 * time.Millisecond, false},
		{"quoted number", `"2"`, 2 * time.Second, false},
		{"negative", "-1s", -time.Second, false},
		{"not a duration", "soon", 0, true},
		{"unitless garbage", "5x", 0, true},
		{"list", "[1]", 0, true},
		{"infinite", ".inf", 0, true},
		{"huge", "1e30", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Duration
			err := yaml.Unmarshal([]byte(tc.yaml), &d)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Unmarshal(%q) error = %v, wantErr %v", tc.yaml, err, tc.wantErr)
			}
			if !tc.wantErr && d.D() != tc.want {
				t.Errorf("Unmarshal(%q) = %v, want %v", tc.yaml, d.D(), tc.want)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    time.Duration
		wantErr bool
	}{
		{"string", `"1m30s"`, 90 * time.Second, false},
		{"number is seconds", `2`, 2 * time.Second, false},
		{"fraction", `0.25`, 250 * time.Millisecond, false},
		{"numeric string", `"3"`, 3 * time.Second, false},
		{"null leaves zero", `null`, 0, false},
		{"bad string", `"later"`, 0, true},
		{"bool", `true`, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Duration
			err := json.Unmarshal([]byte(tc.json), &d)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v, wantErr %v", tc.json, err, tc.wantErr)
			}
			if !tc.wantErr && d.D() != tc.want {
				t.Errorf("Unmarshal(%s) = %v, want %v", tc.json, d.D(), tc.want)
			}
		})
	}
}

func TestDurationMarshal(t *testing.T) {
	s := SupervisionSpec{MinUptime: Duration(1500 * time.Millisecond), KillTimeout: Duration(90 * time.Second)}
	j, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"minUptime":"1.5s","killTimeout":"1m30s","readiness":{}}`; string(j) != want {
		t.Errorf("JSON = %s, want %s", j, want)
	}
	y, err := yaml.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back SupervisionSpec
	if err := yaml.Unmarshal(y, &back); err != nil {
		t.Fatalf("YAML round trip of %s: %v", y, err)
	}
	if back.MinUptime != s.MinUptime || back.KillTimeout != s.KillTimeout {
		t.Errorf("YAML round trip = %+v, want %+v", back, s)
	}
	if got := Duration(250 * time.Millisecond).String(); got != "250ms" {
		t.Errorf("String() = %q, want 250ms", got)
	}
}
