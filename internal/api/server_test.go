package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/fault"
)

func fakeWithInstance(t *testing.T) *apitest.Fake {
	f := apitest.New(t)
	f.Catalog.LaunchTemplates = []compute.LaunchTemplate{{Name: "web", ID: "lt-01", DefaultVersion: 1}}
	f.TargetGroups = []elbctl.TargetGroup{{Spec: elb.TargetGroupSpec{Name: "web"}}}
	f.AddInstance(compute.View{Instance: compute.Instance{ID: "i-01", Group: "web", State: compute.StateRunning}})
	f.AddInstance(compute.View{Instance: compute.Instance{ID: "i-02", Group: "web", State: compute.StateTerminated}})
	return f
}

func do(t *testing.T, h http.Handler, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, r))
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestErrorAnswers(t *testing.T) {
	cases := []struct {
		name         string
		stackErr     error
		method, path string
		body         string
		status       int
		want         v1.ErrorDetail // Message is a substring
	}{
		{
			name: "unknown instance", method: "GET", path: "/v1/instances/i-404", status: 404,
			want: v1.ErrorDetail{Code: "NotFound", Kind: "instance", ID: "i-404", Message: `no instance "i-404"`, Hint: "see madang ps"},
		},
		{
			name: "create image without a name", method: "POST", path: "/v1/images", body: `{"instanceId":"i-01"}`, status: 400,
			want: v1.ErrorDetail{Code: "ValidationError", Kind: "image", Message: "instanceId and name are required"},
		},
		{
			name: "create image from an unknown instance", method: "POST", path: "/v1/images", body: `{"instanceId":"i-404","name":"x"}`, status: 404,
			want: v1.ErrorDetail{Code: "NotFound", Kind: "instance", ID: "i-404"},
		},
		{
			name: "unknown group or instance", method: "GET", path: "/v1/resolve/nope", status: 404,
			want: v1.ErrorDetail{Code: "NotFound", Kind: "instance", ID: "nope", Message: "no instance or instance group", Hint: "see madang ps"},
		},
		{
			name: "unknown action", method: "POST", path: "/v1/instances/i-01/explode", status: 400,
			want: v1.ErrorDetail{Code: "ValidationError", Kind: "instance", ID: "i-01", Message: `unknown instance action "explode"`, Hint: "use start, stop, reboot or terminate"},
		},
		{
			name: "action on a terminated instance", method: "POST", path: "/v1/instances/i-02/start", status: 400,
			want: v1.ErrorDetail{Code: "ValidationError", Kind: "instance", ID: "i-02", Message: "is terminated"},
		},
		{
			name: "count out of range", method: "POST", path: "/v1/instances", body: `{"launchTemplate":"web","count":0}`, status: 400,
			want: v1.ErrorDetail{Code: "ValidationError", Kind: "instance", Message: "count 0 is out of range", Hint: "use 1 to 100"},
		},
		{
			name: "unknown launch template", method: "POST", path: "/v1/instances", body: `{"launchTemplate":"nope","count":1}`, status: 404,
			want: v1.ErrorDetail{Code: "NotFound", Kind: "launch-template", ID: "nope", Message: `launch template "nope" does not exist`},
		},
		{
			name: "unknown field in the body", method: "POST", path: "/v1/instances", body: `{"launchTemplat":"web"}`, status: 400,
			want: v1.ErrorDetail{Code: "ValidationError", Message: "request body"},
		},
		{
			name: "reserved tag key", method: "PATCH", path: "/v1/instances/i-01/tags", body: `{"set":{"aws:x":"1"}}`, status: 400,
			want: v1.ErrorDetail{Code: "ValidationError", Kind: "instance", ID: "i-01", Message: `tag key "aws:x"`, Hint: "keys are 1–128 characters"},
		},
		{
			name: "unknown target group", method: "GET", path: "/v1/target-groups/nope/health", status: 404,
			want: v1.ErrorDetail{Code: "NotFound", Kind: "target-group", ID: "nope", Message: `no target group "nope"`, Hint: "see madang tg ls"},
		},
		{
			name: "bad lines", method: "GET", path: "/v1/instances/i-01/logs?lines=-1", status: 400,
			want: v1.ErrorDetail{Code: "ValidationError", Kind: "instance", ID: "i-01", Message: "lines"},
		},
		{
			name: "bad event sequence", method: "GET", path: "/v1/events?after=x", status: 400,
			want: v1.ErrorDetail{Code: "ValidationError", Message: `after "x"`},
		},
		{
			name: "unknown route", method: "GET", path: "/v1/widgets", status: 404,
			want: v1.ErrorDetail{Code: "NotFound", Message: "no API route GET /v1/widgets", Hint: "the routes are under /v1/"},
		},
		{
			name: "wrong method", method: "DELETE", path: "/v1/info", status: 404,
			want: v1.ErrorDetail{Code: "NotFound", Message: "no API route DELETE /v1/info"},
		},
		{
			name: "stack validation", stackErr: fmt.Errorf("%w: x.yaml:3:5: images[0].prot: unknown field", api.ErrValidation),
			method: "POST", path: "/v1/stack/apply", body: `{"path":"/x.yaml","yaml":""}`, status: 400,
			want: v1.ErrorDetail{Code: "ValidationError", Message: "x.yaml:3:5"},
		},
		{
			name: "stack conflict", stackErr: fmt.Errorf("%w: load-balancer \"web\" is owned by stack a", api.ErrConflict),
			method: "POST", path: "/v1/stack/plan", body: `{"path":"/x.yaml","yaml":""}`, status: 409,
			want: v1.ErrorDetail{Code: "Conflict", Message: "owned by stack a"},
		},
		{
			name: "in use", stackErr: fault.InUsef("image", "hello", "image hello is used by launch template web"),
			method: "POST", path: "/v1/stack/apply", body: `{"path":"/x.yaml","yaml":""}`, status: 409,
			want: v1.ErrorDetail{Code: "InUse", Kind: "image", ID: "hello", Message: "used by launch template web"},
		},
		{
			name: "already exists", stackErr: fault.AlreadyExistsf("stack", "a", "stack a exists"),
			method: "POST", path: "/v1/stack/apply", body: `{"path":"/x.yaml","yaml":""}`, status: 409,
			want: v1.ErrorDetail{Code: "AlreadyExists", Kind: "stack", ID: "a", Message: "stack a exists"},
		},
		{
			name: "unavailable, wrapped", stackErr: fmt.Errorf("apply: %w", fault.Unavailablef("", "", "shutting down").WithHint("retry")),
			method: "POST", path: "/v1/stack/apply", body: `{"path":"/x.yaml","yaml":""}`, status: 503,
			want: v1.ErrorDetail{Code: "Unavailable", Message: "apply: shutting down", Hint: "retry"},
		},
		{
			name: "internal", stackErr: errors.New("disk on fire"),
			method: "POST", path: "/v1/stack/apply", body: `{"path":"/x.yaml","yaml":""}`, status: 500,
			want: v1.ErrorDetail{Code: "Internal", Message: "disk on fire"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := fakeWithInstance(t)
			f.StackErr = tc.stackErr
			resp, b := do(t, f.Server().Handler(), tc.method, tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var body v1.ErrorBody
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatalf("body %s: %v", b, err)
			}
			got := body.Error
			if got.Code != tc.want.Code || got.Kind != tc.want.Kind || got.ID != tc.want.ID ||
				!strings.Contains(got.Message, tc.want.Message) || !strings.HasPrefix(got.Hint, tc.want.Hint) {
				t.Fatalf("error %+v, want %+v", got, tc.want)
			}
			if got.Hint != "" && strings.Contains(got.Message, got.Hint) {
				t.Errorf("message %q repeats the hint %q", got.Message, got.Hint)
			}
		})
	}
}

func TestToken(t *testing.T) {
	f := apitest.New(t)
	s := f.Server()
	s.Token = "sekret"
	h := s.Handler()
	cases := []struct {
		name   string
		header string
		status int
	}{
		{name: "missing", header: "", status: 401},
		{name: "wrong", header: "Bearer nope", status: 401},
		{name: "right", header: "Bearer sekret", status: 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/v1/info", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status == 401 {
				var body v1.ErrorBody
				_ = json.Unmarshal(rec.Body.Bytes(), &body)
				if body.Error.Code != "Unauthorized" || body.Error.Hint == "" {
					t.Fatalf("body %+v, want code Unauthorized with a hint", body)
				}
			}
		})
	}
}

func TestEmptyListsAreArrays(t *testing.T) {
	h := apitest.New(t).Server().Handler()
	for _, path := range []string{
		"/v1/instances", "/v1/images", "/v1/launch-templates", "/v1/groups",
		"/v1/target-groups", "/v1/load-balancers", "/v1/metrics",
	} {
		t.Run(path, func(t *testing.T) {
			resp, b := do(t, h, "GET", path, "")
			if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != "[]" {
				t.Fatalf("%d %s, want 200 []", resp.StatusCode, b)
			}
		})
	}
}

// Generic per-kind routes fit next to the native ones: the literal routes
// win where both match, and the rest reach the generic handler.
func TestMountBesideGenericRoutes(t *testing.T) {
	mux := http.NewServeMux()
	fakeWithInstance(t).Server().Mount(mux)
	generic := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "generic "+r.PathValue("kind")+" "+r.PathValue("name"))
	}
	mux.HandleFunc("GET /v1/{kind}", generic)
	mux.HandleFunc("GET /v1/{kind}/{name}", generic)
	cases := []struct {
		name, path, want string
	}{
		{name: "native list", path: "/v1/instances", want: `"id":"i-01"`},
		{name: "native describe", path: "/v1/instances/i-01", want: `"id":"i-01"`},
		{name: "native sub-resource", path: "/v1/target-groups/web/health", want: "[]"},
		{name: "generic list", path: "/v1/alarms", want: "generic alarms "},
		{name: "generic describe", path: "/v1/alarms/cpu", want: "generic alarms cpu"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, b := do(t, mux, "GET", tc.path, "")
			if !strings.Contains(string(b), tc.want) {
				t.Fatalf("GET %s = %s, want it to contain %s", tc.path, b, tc.want)
			}
		})
	}
}
