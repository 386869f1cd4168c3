package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/apitest"
	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/iam"
)

// iamDaemon is a fake daemon with madang's real access keys (the default
// one made) and an AWS endpoint on 127.0.0.1:4566.
func iamDaemon(t *testing.T, aws *api.AWSEndpoint) (*iam.Keys, *httptest.Server) {
	t.Helper()
	f := apitest.New(t)
	keys, ep := apitest.NewIAM(t)
	if aws != nil {
		ep = *aws
	}
	f.IAM, f.AWS = keys, ep
	return keys, f.Serve(t)
}

func TestAccessKeyCommands(t *testing.T) {
	ctx := context.Background()
	keys, srv := iamDaemon(t, nil)
	def, _ := keys.Default()

	out, errOut, code := cli(ctx, t, srv, "iam", "create-access-key", "--user", "ci")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	var created iam.AccessKey
	for _, k := range keys.List() {
		if k.User == "ci" {
			created = k
		}
	}
	for _, want := range []string{"AccessKeyId:      " + created.ID, "SecretAccessKey:  " + created.Secret, "UserName:         ci", "Status:           Active", "shown only this once"} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q:\n%s", want, out)
		}
	}

	out, _, code = cli(ctx, t, srv, "iam", "list-access-keys")
	if code != 0 || !strings.Contains(out, "ACCESS KEY ID") || !strings.Contains(out, def.ID) || !strings.Contains(out, created.ID) ||
		!strings.Contains(out, "yes (madang aws-env)") || strings.Contains(out, created.Secret) {
		t.Fatalf("list: %d\n%s", code, out)
	}

	out, _, code = cli(ctx, t, srv, "-o", "json", "iam", "list-access-keys")
	var list []v1.AccessKey
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 {
		t.Fatalf("list -o json: %d\n%s", code, out)
	}
	for _, k := range list {
		if k.SecretAccessKey != "" || k.Default != (k.AccessKeyID == def.ID) {
			t.Errorf("listed %+v: a secret, or the wrong default", k)
		}
	}

	out, _, code = cli(ctx, t, srv, "iam", "update-access-key", created.ID, "--status", "Inactive")
	if code != 0 || !strings.Contains(out, "access key "+created.ID+" is Inactive") {
		t.Fatalf("update: %d %s", code, out)
	}
	if _, _, ok := keys.Secret(created.ID); ok {
		t.Fatal("the key still verifies after update-access-key --status Inactive")
	}

	out, _, code = cli(ctx, t, srv, "iam", "delete-access-key", created.ID)
	if code != 0 || !strings.Contains(out, "deleted access key "+created.ID) {
		t.Fatalf("delete: %d %s", code, out)
	}
	if _, err := keys.Get(created.ID); err == nil {
		t.Fatal("the key is still there after delete-access-key")
	}

	out, _, code = cli(ctx, t, srv, "-o", "json", "iam", "create-access-key")
	var k v1.AccessKey
	if code != 0 || json.Unmarshal([]byte(out), &k) != nil || k.UserName != "admin" || len(k.SecretAccessKey) != 40 {
		t.Fatalf("create -o json: %d\n%s", code, out)
	}
}

func TestAWSEnvAndConfig(t *testing.T) {
	ctx := context.Background()
	keys, srv := iamDaemon(t, nil)
	def, _ := keys.Default()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "sh", args: []string{"aws-env"}, want: "export AWS_ENDPOINT_URL='http://127.0.0.1:4566'\n" +
			"export AWS_ACCESS_KEY_ID='" + def.ID + "'\n" +
			"export AWS_SECRET_ACCESS_KEY='" + def.Secret + "'\n" +
			"export AWS_REGION='local'\nexport AWS_DEFAULT_REGION='local'\nexport AWS_DISABLE_HOST_PREFIX_INJECTION='true'\nunset AWS_SESSION_TOKEN\n"},
		{name: "fish", args: []string{"aws-env", "--shell", "fish"}, want: "set -gx AWS_ENDPOINT_URL 'http://127.0.0.1:4566';\n" +
			"set -gx AWS_ACCESS_KEY_ID '" + def.ID + "';\n" +
			"set -gx AWS_SECRET_ACCESS_KEY '" + def.Secret + "';\n" +
			"set -gx AWS_REGION 'local';\nset -gx AWS_DEFAULT_REGION 'local';\nset -gx AWS_DISABLE_HOST_PREFIX_INJECTION 'true';\nset -e AWS_SESSION_TOKEN;\n"},
		{name: "powershell", args: []string{"aws-env", "--shell", "powershell"}, want: "$Env:AWS_ENDPOINT_URL = 'http://127.0.0.1:4566'\n" +
			"$Env:AWS_ACCESS_KEY_ID = '" + def.ID + "'\n" +
			"$Env:AWS_SECRET_ACCESS_KEY = '" + def.Secret + "'\n" +
			"$Env:AWS_REGION = 'local'\n$Env:AWS_DEFAULT_REGION = 'local'\n$Env:AWS_DISABLE_HOST_PREFIX_INJECTION = 'true'\nRemove-Item Env:AWS_SESSION_TOKEN -ErrorAction SilentlyContinue\n"},
		{name: "config", args: []string{"aws-config"}, want: "# Add to ~/.aws/config:\n[profile madang]\nregion = local\nendpoint_url = http://127.0.0.1:4566\ndisable_host_prefix_injection = true\n\n" +
			"# Add to ~/.aws/credentials:\n[madang]\naws_access_key_id = " + def.ID + "\naws_secret_access_key = " + def.Secret + "\n"},
		{name: "config default profile", args: []string{"aws-config", "--profile", "default"}, want: "# Add to ~/.aws/config:\n[default]\nregion = local\nendpoint_url = http://127.0.0.1:4566\ndisable_host_prefix_injection = true\n\n" +
			"# Add to ~/.aws/credentials:\n[default]\naws_access_key_id = " + def.ID + "\naws_secret_access_key = " + def.Secret + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := cli(ctx, t, srv, tc.args...)
			if code != 0 || out != tc.want {
				t.Fatalf("exit %d, stderr %q, stdout\n%s\nwant\n%s", code, errOut, out, tc.want)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		out, _, code := cli(ctx, t, srv, "-o", "json", "aws-env")
		var s v1.AWSSettings
		if code != 0 || json.Unmarshal([]byte(out), &s) != nil || s.AccessKeyID != def.ID || s.UserARN != "arn:aws:iam::000000000000:user/admin" {
			t.Fatalf("%d\n%s", code, out)
		}
	})
	t.Run("sh evaluates it", func(t *testing.T) {
		out, _, _ := cli(ctx, t, srv, "aws-env")
		sh, err := exec.LookPath("sh")
		if err != nil {
			t.Skip("no sh")
		}
		cmd := exec.Command(sh, "-c", `AWS_SESSION_TOKEN=stale; eval "$(cat)"; printf '%s|%s|%s|%s' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_ENDPOINT_URL" "${AWS_SESSION_TOKEN-unset}"`)
		cmd.Stdin = strings.NewReader(out)
		got, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if want := def.ID + "|" + def.Secret + "|http://127.0.0.1:4566|unset"; string(got) != want {
			t.Fatalf("sh saw %q, want %q", got, want)
		}
	})
}

func TestAWSEnvRefusals(t *testing.T) {
	ctx := context.Background()
	_, off := iamDaemon(t, &api.AWSEndpoint{Auth: "required"})
	keys, srv := iamDaemon(t, nil)
	def, _ := keys.Default()
	if _, err := keys.SetStatus(ctx, def.ID, iam.StatusInactive); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := cli(ctx, t, srv, "aws-env")
	if code != 0 || !strings.Contains(errOut, "warning: the default access key "+def.ID+" is Inactive") {
		t.Errorf("inactive default key: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = cli(ctx, t, off, "aws-env")
	if code != ExitFailure || !strings.Contains(errOut, "serves no AWS endpoint") || !strings.Contains(errOut, "hint: restart it with --aws-listen 127.0.0.1:4566") {
		t.Errorf("endpoint off: exit %d, stderr %q", code, errOut)
	}
	if err := keys.Delete(ctx, def.ID); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = cli(ctx, t, srv, "aws-config")
	if code != ExitFailure || !strings.Contains(errOut, "no default access key") || !strings.Contains(errOut, "madang iam create-access-key") {
		t.Errorf("no default key: exit %d, stderr %q", code, errOut)
	}
}

func TestAccessKeyCommandErrors(t *testing.T) {
	ctx := context.Background()
	_, srv := iamDaemon(t, nil)
	cases := []struct {
		name string
		args []string
		code int
		want []string // in stderr
	}{
		{name: "update without status", args: []string{"iam", "update-access-key", "AKIAX"}, code: ExitUsage, want: []string{"--status is required", "madang iam update-access-key --help"}},
		{name: "update bad status", args: []string{"iam", "update-access-key", "AKIAX", "--status", "on"}, code: ExitUsage, want: []string{`--status: status "on" is not Active or Inactive`}},
		{name: "update without id", args: []string{"iam", "update-access-key", "--status", "Active"}, code: ExitUsage, want: []string{"accepts 1 arg(s), received 0"}},
		{name: "delete without id", args: []string{"iam", "delete-access-key"}, code: ExitUsage, want: []string{"accepts 1 arg(s), received 0"}},
		{name: "bad user", args: []string{"iam", "create-access-key", "--user", "a b"}, code: ExitUsage, want: []string{`--user: user name "a b" is not valid`}},
		{name: "bad shell", args: []string{"aws-env", "--shell", "csh"}, code: ExitUsage, want: []string{`--shell "csh" is not sh, fish or powershell`}},
		{name: "bad profile", args: []string{"aws-config", "--profile", "my profile"}, code: ExitUsage, want: []string{`--profile "my profile" is not a profile name`}},
		{name: "unknown iam command", args: []string{"iam", "create-acess-key"}, code: ExitUsage, want: []string{`unknown command "create-acess-key" for "madang iam"`, `did you mean "create-access-key"?`}},
		{name: "delete unknown key", args: []string{"iam", "delete-access-key", "AKIANOPE"}, code: ExitFailure, want: []string{"The Access Key with id AKIANOPE cannot be found.", "hint: madang iam list-access-keys lists the access keys"}},
		{name: "third key", args: []string{"iam", "create-access-key"}, code: ExitFailure, want: []string{}},
		{name: "quota", args: []string{"iam", "create-access-key"}, code: ExitFailure, want: []string{"Cannot exceed quota for AccessKeysPerUser: 2", "hint: delete one"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := cli(ctx, t, srv, tc.args...)
			if tc.name == "third key" {
				// The default user's second key succeeds; the next is over quota.
				if code != 0 {
					t.Fatalf("second key: exit %d %s", code, errOut)
				}
				return
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
}
