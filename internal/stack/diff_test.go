package stack

import (
	"slices"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
)

const diffBase = `
name: demo
images:
  - {name: hello, source: ./hello, command: ./hello, port: 8080}
launchTemplates:
  - name: hello
    image: hello
    env: {GREETING: hi}
instances:
  - {name: hello, launchTemplate: hello, count: 2}
targetGroups:
  - name: web
    healthCheck: {path: /}
    targets: [{instances: hello}]
loadBalancers:
  - name: web
    listeners:
      - port: 8080
        defaultActions: [{targetGroup: web}]
`

func mustParse(t *testing.T, src string) *Stack {
	t.Helper()
	s, err := Parse(testKinds, "madang.yaml", []byte(src), "testdata")
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return s
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name    string
		current string // "" means no current stack (nil)
		desired string
		want    []string // Change.String() of each change, in order
	}{
		{
			name:    "identical",
			current: diffBase,
			desired: diffBase,
			want:    nil,
		},
		{
			name:    "spelled-out defaults are not changes",
			current: diffBase,
			desired: strings.NewReplacer(
				"count: 2}", "count: 2, version: $Default}",
				"env: {GREETING: hi}", "env: {GREETING: hi}\n    instanceType: t3.micro\n    supervision: {restart: always, stopSignal: TERM, killTimeout: 5}",
				"healthCheck: {path: /}", "healthCheck: {path: /, intervalSeconds: 30, matcher: '200'}\n    attributes: {deregistration_delay.timeout_seconds: 300}",
				"targets: [{instances: hello}]", "targets: [{instances: hello, weight: 1}]",
				"- name: web\n    listeners", "- name: web\n    address: 127.0.0.1\n    attributes: {idle_timeout.timeout_seconds: 60}\n    listeners",
			).Replace(diffBase),
			want: nil,
		},
		{
			name:    "create everything from nothing",
			current: "",
			desired: diffBase,
			want: []string{
				"+ image hello",
				"+ launch-template hello",
				"+ instances hello",
				"+ target-group web",
				"+ load-balancer web",
			},
		},
		{
			name:    "field updates",
			current: diffBase,
			desired: strings.NewReplacer(
				"count: 2", "count: 3",
				"GREETING: hi", "GREETING: hello, NEW: x",
				"path: /}", "path: /health}",
				"port: 8080\n        defaultActions", "port: 9090\n        defaultActions",
			).Replace(diffBase),
			want: []string{
				`~ launch-template hello: env.GREETING: "hi" → "hello"; env.NEW: (unset) → "x"`,
				"~ instances hello: count: 2 → 3",
				"~ target-group web: healthCheck.path: / → /health",
				"~ load-balancer web: listeners[0].port: 8080 → 9090",
			},
		},
		{
			name:    "create and delete, ordered by kind then name",
			current: diffBase + "  - name: old\n    listeners: []\n",
			desired: strings.Replace(diffBase, "targetGroups:\n", "targetGroups:\n  - name: api\n", 1),
			want: []string{
				"+ target-group api",
				"- load-balancer old",
			},
		},
		{
			name:    "list items added and removed",
			current: diffBase,
			desired: diffBase + `      - port: 9090
        defaultActions: [{type: fixed-response, fixedResponse: {statusCode: "404"}}]
`,
			want: []string{"~ load-balancer web: listeners[1]: added (port 9090)"},
		},
		{
			name:    "attribute changes compare effective values",
			current: strings.Replace(diffBase, "healthCheck: {path: /}", "healthCheck: {path: /}\n    attributes: {stickiness.enabled: false}", 1),
			desired: strings.Replace(diffBase, "healthCheck: {path: /}", "healthCheck: {path: /}\n    attributes: {deregistration_delay.timeout_seconds: 30}", 1),
			want:    []string{"~ target-group web: attributes.deregistration_delay.timeout_seconds: 300 → 30"},
		},
		{
			name:    "long text is summarized",
			current: strings.Replace(diffBase, "image: hello\n", "image: hello\n    userData: echo one\n", 1),
			desired: strings.Replace(diffBase, "image: hello\n", "image: hello\n    userData: |\n      echo one\n      echo two\n", 1),
			want:    []string{"~ launch-template hello: userData: changed (8 bytes → 18 bytes)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cur *Stack
			if tc.current != "" {
				cur = mustParse(t, tc.current)
			}
			des := mustParse(t, tc.desired)
			var got []string
			for _, c := range Diff(testKinds, cur, des) {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Diff:\n got  %q\n want %q", got, tc.want)
			}
		})
	}
}

func TestDiffDoesNotModifyInputs(t *testing.T) {
	cur := New(testKinds, "")
	des := mustParse(t, diffBase)
	tgs(des)[0].Attributes = nil
	Diff(testKinds, cur, des)
	if tgs(des)[0].Attributes != nil {
		t.Errorf("Diff filled the desired stack's attributes: %v", tgs(des)[0].Attributes)
	}
}

func TestDiffDelete(t *testing.T) {
	cur := mustParse(t, diffBase)
	got := Diff(testKinds, cur, nil)
	want := []Change{
		{Action: ActionDelete, Kind: compute.KindImage, Name: "hello"},
		{Action: ActionDelete, Kind: compute.KindLaunchTemplate, Name: "hello"},
		{Action: ActionDelete, Kind: compute.KindInstanceGroup, Name: "hello"},
		{Action: ActionDelete, Kind: elbctl.KindTargetGroup, Name: "web"},
		{Action: ActionDelete, Kind: elbctl.KindLoadBalancer, Name: "web"},
	}
	if len(got) != len(want) {
		t.Fatalf("Diff(cur, nil) = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Action != want[i].Action || got[i].Kind != want[i].Kind || got[i].Name != want[i].Name || len(got[i].Details) != 0 {
			t.Errorf("change %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestChangeString(t *testing.T) {
	tests := []struct {
		name string
		c    Change
		want string
	}{
		{"create", Change{Action: ActionCreate, Kind: compute.KindImage, Name: "hello"}, "+ image hello"},
		{"delete", Change{Action: ActionDelete, Kind: elbctl.KindLoadBalancer, Name: "old"}, "- load-balancer old"},
		{"update", Change{Action: ActionUpdate, Kind: elbctl.KindTargetGroup, Name: "web", Details: []string{"healthCheck.path: / → /health"}},
			"~ target-group web: healthCheck.path: / → /health"},
		{"update with several details", Change{Action: ActionUpdate, Kind: compute.KindInstanceGroup, Name: "web", Details: []string{"count: 2 → 3", "version: $Default → 2"}},
			"~ instances web: count: 2 → 3; version: $Default → 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}
