package cli

import (
	"strings"
	"testing"
)

func TestMinHealthyPercent(t *testing.T) {
	for _, tc := range []struct {
		name, config, custom string
		desired, want        int
		err                  string
	}{
		{name: "all at once", config: deployAllAtOnce, desired: 4, want: 0},
		{name: "half at a time", config: deployHalfAtTime, desired: 4, want: 50},
		{name: "one at a time of 4", config: deployOneAtATime, desired: 4, want: 75},
		{name: "one at a time of 3", config: deployOneAtATime, desired: 3, want: 66},
		{name: "one at a time of 1", config: deployOneAtATime, desired: 1, want: 0},
		{name: "custom percent", custom: "80%", desired: 5, want: 80},
		{name: "custom count", custom: "3", desired: 4, want: 75},
		{name: "custom count rounds up", custom: "2", desired: 3, want: 67},
		{name: "count as large as the group", custom: "4", desired: 4, err: "no instance could be replaced"},
		{name: "bad percent", custom: "120%", desired: 4, err: "0% to 100%"},
		{name: "bad count", custom: "x", desired: 4, err: "75%"},
		{name: "unknown config", config: "CodeDeployDefault.Fast", desired: 4, err: "is not a deployment configuration"},
	} {
		got, err := minHealthyPercent(tc.config, tc.custom, tc.desired)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s: %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}
