package compute

import (
	"reflect"
	"testing"
	"time"
)

func TestLaunchTemplateDefaults(t *testing.T) {
	var d LaunchTemplateData
	d.ApplyDefaults()
	want := LaunchTemplateData{
		InstanceType: "t3.micro",
		Supervision: SupervisionSpec{
			Restart:           RestartAlways,
			MaxRestarts:       15,
			MinUptime:         Duration(time.Second),
			BackoffInitial:    Duration(100 * time.Millisecond),
			BackoffMax:        Duration(15 * time.Second),
			BackoffResetAfter: Duration(30 * time.Second),
			StopSignal:        "SIGTERM",
			KillTimeout:       Duration(5 * time.Second),
			Readiness:         ReadinessSpec{Timeout: Duration(30 * time.Second)},
		},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("defaults = %+v, want %+v", d, want)
	}
	again := d
	again.ApplyDefaults()
	if !reflect.DeepEqual(again, d) {
		t.Errorf("ApplyDefaults is not idempotent: %+v then %+v", d, again)
	}
}

func TestLaunchTemplateDefaultsKeepValues(t *testing.T) {
	d := LaunchTemplateData{InstanceType: "t3.small", Supervision: SupervisionSpec{Restart: RestartNever, MaxRestarts: 3, KillTimeout: Duration(time.Second)}}
	d.ApplyDefaults()
	if d.InstanceType != "t3.small" || d.Supervision.Restart != RestartNever || d.Supervision.MaxRestarts != 3 || d.Supervision.KillTimeout.D() != time.Second {
		t.Errorf("ApplyDefaults overwrote set values: %+v", d)
	}
}

func TestStopSignalNormalized(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SIGTERM", "SIGTERM"},
		{"term", "SIGTERM"},
		{"INT", "SIGINT"},
		{"sigusr1", "SIGUSR1"},
		{" hup ", "SIGHUP"},
		{"KILL", "SIGKILL"},
		{"STOP", "STOP"}, // not a stop signal: left for Validate
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d := LaunchTemplateData{Supervision: SupervisionSpec{StopSignal: tc.in}}
			d.ApplyDefaults()
			if d.Supervision.StopSignal != tc.want {
				t.Errorf("StopSignal = %q, want %q", d.Supervision.StopSignal, tc.want)
			}
		})
	}
}

func TestInstanceGroupDefaults(t *testing.T) {
	var g InstanceGroupSpec
	g.ApplyDefaults()
	if g.Version != "$Default" || g.Count == nil || *g.Count != 1 {
		t.Errorf("defaults = version %q count %v, want $Default and 1", g.Version, g.Count)
	}
	zero := 0
	g = InstanceGroupSpec{Count: &zero}
	g.ApplyDefaults()
	if *g.Count != 0 {
		t.Errorf("explicit count 0 became %d", *g.Count)
	}
}
