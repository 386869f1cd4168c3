package api_test

import (
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/api/v1"
)

// TestInstanceRefreshRoutes walks a refresh through start, a refused
// second start, status, cancel and the errors of each route.
func TestInstanceRefreshRoutes(t *testing.T) {
	h, _ := autoScalingHandler(t)
	steps := []struct {
		name, method, path, body string
		status                   int
		want                     string // in the body
	}{
		{"status before any", "GET", "/v1/autoscaling/groups/web/instance-refreshes", "", 200, "[]"},
		{"cancel with none active", "POST", "/v1/autoscaling/groups/web/instance-refreshes/cancel", "", 404, "ActiveInstanceRefreshNotFound"},
		{"start with bad preferences", "POST", "/v1/autoscaling/groups/web/instance-refreshes", `{"minHealthyPercentage": 120}`, 400, "minHealthyPercentage"},
		{"start with an unknown field", "POST", "/v1/autoscaling/groups/web/instance-refreshes", `{"minHealthy": 50}`, 400, "minHealthy"},
		{"start unknown group", "POST", "/v1/autoscaling/groups/nope/instance-refreshes", `{}`, 404, "nope"},
		{"start", "POST", "/v1/autoscaling/groups/web/instance-refreshes", `{"minHealthyPercentage": 50, "autoRollback": true}`, 200, `"status":"InProgress"`},
		{"second start", "POST", "/v1/autoscaling/groups/web/instance-refreshes", `{}`, 409, "InstanceRefreshInProgress"},
		{"status", "GET", "/v1/autoscaling/groups/web/instance-refreshes", "", 200, `"instanceRefreshId":"refresh-1"`},
		{"rollback", "POST", "/v1/autoscaling/groups/web/instance-refreshes/rollback", "", 200, "RollbackInProgress"},
	}
	for _, st := range steps {
		resp, b := do(t, h, st.method, st.path, st.body)
		if resp.StatusCode != st.status || !strings.Contains(string(b), st.want) {
			t.Fatalf("%s: %s %s → %d %s; want %d with %q", st.name, st.method, st.path, resp.StatusCode, b, st.status, st.want)
		}
	}
	_, b := do(t, h, "GET", "/v1/autoscaling/groups/web/instance-refreshes", "")
	var rs []v1.InstanceRefresh
	mustDecode(t, b, &rs)
	if len(rs) != 1 || rs[0].Status != "RollbackInProgress" || rs[0].Preferences.MinHealthyPercentage == nil || *rs[0].Preferences.MinHealthyPercentage != 50 {
		t.Fatalf("refreshes %s", b)
	}
}
