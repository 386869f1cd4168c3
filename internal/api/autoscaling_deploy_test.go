package api_test

import (
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/api/v1"
)

// TestDeploymentRoutes walks a deployment through start, a refused second
// start, list, get, stop and the errors of each route.
func TestDeploymentRoutes(t *testing.T) {
	h, _ := autoScalingHandler(t)
	const base = "/v1/autoscaling/groups/web/deployments"
	steps := []struct {
		name, method, path, body string
		status                   int
		want                     string // in the body
	}{
		{"list before any", "GET", base, "", 200, "[]"},
		{"start with an unknown configuration", "POST", base, `{"deploymentConfigName": "CodeDeployDefault.Fast"}`, 400, "is not a deployment configuration"},
		{"start with an unknown field", "POST", base, `{"config": "x"}`, 400, "config"},
		{"start unknown group", "POST", "/v1/autoscaling/groups/nope/deployments", `{}`, 404, "nope"},
		{"start", "POST", base, `{"deploymentConfigName": "CodeDeployDefault.HalfAtATime", "alarms": ["web-5xx"]}`, 200, `"deploymentId":"d-TEST00001"`},
		{"second start", "POST", base, `{}`, 409, "DeploymentLimitExceeded"},
		{"get", "GET", base + "/d-TEST00001", "", 200, `"atOnce":2`},
		{"get unknown", "GET", base + "/d-NOPE", "", 404, "DeploymentDoesNotExistException"},
		{"stop", "POST", base + "/d-TEST00001/stop", `{"autoRollbackEnabled": true}`, 200, `"status":"Stopped"`},
		{"stop again", "POST", base + "/d-TEST00001/stop", "", 404, "DeploymentAlreadyCompletedException"},
	}
	for _, st := range steps {
		resp, b := do(t, h, st.method, st.path, st.body)
		if resp.StatusCode != st.status || !strings.Contains(string(b), st.want) {
			t.Fatalf("%s: %s %s → %d %s; want %d with %q", st.name, st.method, st.path, resp.StatusCode, b, st.status, st.want)
		}
	}
	_, b := do(t, h, "GET", base, "")
	var ds []v1.Deployment
	mustDecode(t, b, &ds)
	if len(ds) != 1 || ds[0].Status != "Stopped" || ds[0].Config.Name != "CodeDeployDefault.HalfAtATime" || ds[0].Config.MinimumHealthyHosts == nil ||
		ds[0].Config.MinimumHealthyHosts.Value != 50 || len(ds[0].Alarms) != 1 || ds[0].ErrorInfo == nil {
		t.Fatalf("deployments %s", b)
	}
}
