package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/iam"
)

func iamHandler(t *testing.T) (http.Handler, *iam.Keys) {
	t.Helper()
	f := apitest.New(t)
	keys, aws := apitest.NewIAM(t)
	f.IAM, f.AWS = keys, aws
	return f.Server().Handler(), keys
}

func TestAccessKeyRoutes(t *testing.T) {
	h, keys := iamHandler(t)
	def, _ := keys.Default()

	resp, b := do(t, h, "POST", "/v1/iam/access-keys", `{"userName":"ci"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	var created v1.AccessKey
	mustDecode(t, b, &created)
	if created.UserName != "ci" || created.Status != "Active" || len(created.SecretAccessKey) != 40 || !strings.HasPrefix(created.AccessKeyID, "AKIA") {
		t.Fatalf("created %s", b)
	}
	if s, _, ok := keys.Secret(created.AccessKeyID); !ok || s != created.SecretAccessKey {
		t.Fatal("the created key does not verify with the secret the API returned")
	}

	_, b = do(t, h, "GET", "/v1/iam/access-keys", "")
	var list []v1.AccessKey
	mustDecode(t, b, &list)
	// Both keys share the test clock's creation time, so their order is
	// the ids'.
	byID := map[string]v1.AccessKey{}
	for _, k := range list {
		byID[k.AccessKeyID] = k
	}
	if len(list) != 2 || !byID[def.ID].Default || byID[created.AccessKeyID].AccessKeyID == "" || byID[created.AccessKeyID].Default {
		t.Fatalf("list %s", b)
	}
	if strings.Contains(string(b), "secretAccessKey") {
		t.Fatalf("the list shows secrets: %s", b)
	}

	resp, b = do(t, h, "POST", "/v1/iam/access-keys/"+created.AccessKeyID+"/status", `{"status":"Inactive"}`)
	var updated v1.AccessKey
	mustDecode(t, b, &updated)
	if resp.StatusCode != 200 || updated.Status != "Inactive" || updated.SecretAccessKey != "" {
		t.Fatalf("status: %d %s", resp.StatusCode, b)
	}
	if _, _, ok := keys.Secret(created.AccessKeyID); ok {
		t.Fatal("an inactive key still verifies")
	}

	if resp, b = do(t, h, "DELETE", "/v1/iam/access-keys/"+created.AccessKeyID, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	if _, err := keys.Get(created.AccessKeyID); err == nil {
		t.Fatal("the deleted key is still there")
	}
}

func TestAWSSettingsRoute(t *testing.T) {
	h, keys := iamHandler(t)
	def, _ := keys.Default()
	resp, b := do(t, h, "GET", "/v1/aws/settings", "")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var s v1.AWSSettings
	mustDecode(t, b, &s)
	want := v1.AWSSettings{Enabled: true, EndpointURL: "http://127.0.0.1:4566", Listen: "127.0.0.1:4566", Auth: "required",
		Region: "local", AccountID: "000000000000", AccessKeyID: def.ID, SecretAccessKey: def.Secret, AccessKeyStatus: "Active",
		UserName: "admin", UserARN: "arn:aws:iam::000000000000:user/admin"}
	if s != want {
		t.Fatalf("settings\n%+v\nwant\n%+v", s, want)
	}
}

func TestAccessKeyErrors(t *testing.T) {
	h, _ := iamHandler(t)
	cases := []struct {
		name, method, path, body string
		status                   int
		code, want               string
	}{
		{name: "bad user name", method: "POST", path: "/v1/iam/access-keys", body: `{"userName":"a b"}`, status: 400, code: v1.CodeValidation, want: `user name "a b" is not valid`},
		{name: "unknown field", method: "POST", path: "/v1/iam/access-keys", body: `{"user":"ci"}`, status: 400, code: v1.CodeValidation, want: "unknown field"},
		{name: "quota", method: "POST", path: "/v1/iam/access-keys", body: `{}`, status: 409, code: v1.CodeConflict, want: "AccessKeysPerUser: 2"},
		{name: "delete unknown", method: "DELETE", path: "/v1/iam/access-keys/AKIANOPE", status: 404, code: v1.CodeNotFound, want: "AKIANOPE cannot be found"},
		{name: "status unknown", method: "POST", path: "/v1/iam/access-keys/AKIANOPE/status", body: `{"status":"Active"}`, status: 404, code: v1.CodeNotFound},
		{name: "status missing", method: "POST", path: "/v1/iam/access-keys/AKIANOPE/status", body: `{}`, status: 400, code: v1.CodeValidation, want: "status is required"},
		{name: "status wrong", method: "POST", path: "/v1/iam/access-keys/AKIANOPE/status", body: `{"status":"on"}`, status: 400, code: v1.CodeValidation, want: `status "on" is not Active or Inactive`},
	}
	// The quota case needs the default user to hold two keys already.
	if resp, b := do(t, h, "POST", "/v1/iam/access-keys", `{}`); resp.StatusCode != 200 {
		t.Fatalf("second admin key: %d %s", resp.StatusCode, b)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := do(t, h, tc.method, tc.path, tc.body)
			var eb v1.ErrorBody
			if err := json.Unmarshal(b, &eb); err != nil {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if resp.StatusCode != tc.status || eb.Error.Code != tc.code || !strings.Contains(eb.Error.Message, tc.want) {
				t.Errorf("got %d %s %q, want %d %s %q", resp.StatusCode, eb.Error.Code, eb.Error.Message, tc.status, tc.code, tc.want)
			}
		})
	}
}

func TestIAMRoutesNeedTheKeys(t *testing.T) {
	h := apitest.New(t).Server().Handler()
	if resp, _ := do(t, h, "GET", "/v1/aws/settings", ""); resp.StatusCode != 404 {
		t.Errorf("settings without keys: %d, want 404", resp.StatusCode)
	}
}
