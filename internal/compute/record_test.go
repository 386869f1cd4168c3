package compute

import (
	"testing"
)

func TestLaunchTemplateVersion(t *testing.T) {
	lt := &LaunchTemplate{DefaultVersion: 2, Versions: []LaunchTemplateVersion{{Number: 1}, {Number: 2}, {Number: 3}}}
	cases := []struct {
		name string
		spec string
		want int
		ok   bool
	}{
		{name: "empty is default", spec: "", want: 2, ok: true},
		{name: "default", spec: "$Default", want: 2, ok: true},
		{name: "latest", spec: "$Latest", want: 3, ok: true},
		{name: "number", spec: "1", want: 1, ok: true},
		{name: "zero", spec: "0", ok: false},
		{name: "too high", spec: "4", ok: false},
		{name: "junk", spec: "v1", ok: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := lt.Version(tc.spec)
			if ok != tc.ok || (ok && v.Number != tc.want) {
				t.Fatalf("Version(%q) = %d, %v; want %d, %v", tc.spec, v.Number, ok, tc.want, tc.ok)
			}
		})
	}
}
