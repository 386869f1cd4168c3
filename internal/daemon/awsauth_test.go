package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/model"
	"github.com/madang-dev/madang/internal/iam"
	"github.com/madang-dev/madang/internal/state"
)

// Requests refused by the endpoint's authenticator get AWS's code, status
// and body in the protocol of the service they are for, and no handler
// runs: nothing changes.
func TestEndpointRefusesBadCredentialsPerProtocol(t *testing.T) {
	ctx := context.Background()
	keys, err := iam.Open(ctx, iam.Options{Store: state.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	def, err := keys.EnsureDefault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	handler := func(context.Context, *awsapi.Call) (map[string]any, error) {
		ran++
		return map[string]any{}, nil
	}
	var services []awsapi.Service
	for name, op := range map[string]string{"ec2": "RunInstances", "elasticloadbalancingv2": "CreateTargetGroup", "monitoring": "PutMetricData", "logs": "CreateLogGroup"} {
		m, err := model.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		services = append(services, awsapi.Service{Name: name, Model: m, Handlers: map[string]awsapi.Handler{op: handler}})
	}
	ep, err := awsapi.New(awsapi.Options{Services: services, Region: "local", AccountID: "000000000000",
		Authenticator: signedCallers{keys: keys, auth: AWSAuthRequired, now: time.Now}})
	if err != nil {
		t.Fatal(err)
	}

	type request struct {
		service, contentType, target, body string
	}
	ec2Run := request{"ec2", "application/x-www-form-urlencoded", "", "Action=RunInstances&Version=2016-11-15&ImageId=ami-1&MinCount=1&MaxCount=1"}
	elbCreate := request{"elasticloadbalancing", "application/x-www-form-urlencoded", "", "Action=CreateTargetGroup&Version=2015-12-01&Name=tg"}
	cwPut := request{"monitoring", "application/x-amz-json-1.0", "GraniteServiceVersion20100801.PutMetricData", `{"Namespace":"N","MetricData":[{"MetricName":"m","Value":1}]}`}
	logsCreate := request{"logs", "application/x-amz-json-1.1", "Logs_20140328.CreateLogGroup", `{"logGroupName":"g"}`}
	sign := func(r *http.Request, body, secret string, at time.Time, service string) {
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: def.ID, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(ctx, creds, r, hex.EncodeToString(sum[:]), service, "local", at); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name     string
		req      request
		secret   string
		at       time.Time
		unsigned bool
		status   int
		code     string
	}{
		{"EC2 wrong secret", ec2Run, "wrong", time.Now(), false, 401, "AuthFailure"},
		{"EC2 clock skew", ec2Run, def.Secret, time.Now().Add(-20 * time.Minute), false, 400, "RequestExpired"},
		{"EC2 unsigned", ec2Run, "", time.Time{}, true, 403, "MissingAuthenticationToken"},
		{"ELBv2 wrong secret", elbCreate, "wrong", time.Now(), false, 403, "SignatureDoesNotMatch"},
		{"ELBv2 clock skew", elbCreate, def.Secret, time.Now().Add(20 * time.Minute), false, 403, "SignatureDoesNotMatch"},
		{"CloudWatch JSON wrong secret", cwPut, "wrong", time.Now(), false, 403, "SignatureDoesNotMatch"},
		{"Logs wrong secret", logsCreate, "wrong", time.Now(), false, 400, "InvalidSignatureException"},
		{"Logs unsigned", logsCreate, "", time.Time{}, true, 400, "MissingAuthenticationTokenException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(c.req.body))
			r.Header.Set("Content-Type", c.req.contentType)
			if c.req.target != "" {
				r.Header.Set("X-Amz-Target", c.req.target)
			}
			if !c.unsigned {
				sign(r, c.req.body, c.secret, c.at, c.req.service)
			}
			w := httptest.NewRecorder()
			ep.ServeHTTP(w, r)
			body := w.Body.String()
			if w.Code != c.status || !strings.Contains(body, c.code) {
				t.Fatalf("HTTP %d %s; want %d with %s", w.Code, body, c.status, c.code)
			}
			switch c.req.contentType {
			case "application/x-www-form-urlencoded":
				if !strings.HasPrefix(body, "<") || !strings.Contains(body, "RequestI") {
					t.Errorf("not AWS's XML error body: %s", body)
				}
			default:
				var v map[string]any
				if json.Unmarshal([]byte(body), &v) != nil || v["__type"] == nil {
					t.Errorf("not AWS's JSON error body: %s", body)
				}
			}
			if ran != 0 {
				t.Fatalf("a handler ran %d times for a refused request", ran)
			}
		})
	}

	// The same request signed right goes through.
	r := httptest.NewRequest("POST", "/", strings.NewReader(ec2Run.body))
	r.Header.Set("Content-Type", ec2Run.contentType)
	sign(r, ec2Run.body, def.Secret, time.Now(), "ec2")
	w := httptest.NewRecorder()
	ep.ServeHTTP(w, r)
	if w.Code != 200 || ran != 1 {
		t.Fatalf("signed request: HTTP %d %s, handler ran %d times", w.Code, w.Body.String(), ran)
	}
}
