package awsapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
)

const (
	testAccount = "123456789012"
	testKey     = "AKIAMADANGTEST000001"
)

var testCaller = awsapi.Caller{
	AccountID: testAccount, ARN: "arn:aws:iam::" + testAccount + ":user/dev",
	UserID: "AIDAMADANGDEV0000001", AccessKeyID: testKey, UserName: "dev",
}

// keyAuth accepts requests whose Authorization header names a known access
// key (it checks no signature) and, when allowUnsigned is set, unsigned
// requests as the account's default user.
type keyAuth struct {
	keys          map[string]awsapi.Caller
	allowUnsigned bool
}

func (a keyAuth) Authenticate(r *http.Request, _ []byte) (awsapi.Caller, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if a.allowUnsigned {
			return awsapi.Caller{AccountID: testAccount, ARN: "arn:aws:iam::" + testAccount + ":root", UserID: testAccount}, nil
		}
		return awsapi.Caller{}, &protocol.Error{Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token", Status: http.StatusForbidden, Sender: true}
	}
	_, cred, _ := strings.Cut(auth, "Credential=")
	key, _, _ := strings.Cut(cred, "/")
	c, ok := a.keys[key]
	if !ok {
		return awsapi.Caller{}, &protocol.Error{Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid.", Status: http.StatusForbidden, Sender: true}
	}
	return c, nil
}

// recorder keeps the inputs the handlers saw, by operation.
type recorder struct {
	mu     sync.Mutex
	inputs map[string]protocol.Struct
	calls  map[string]*awsapi.Call
}

func (r *recorder) input(op string) protocol.Struct {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inputs[op]
}

func (r *recorder) call(op string) *awsapi.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[op]
}

// canned returns a handler that records its input and answers out, or err
// when err is not nil.
func (r *recorder) canned(out map[string]any, err error) awsapi.Handler {
	return func(_ context.Context, call *awsapi.Call) (map[string]any, error) {
		r.mu.Lock()
		if r.inputs == nil {
			r.inputs, r.calls = map[string]protocol.Struct{}, map[string]*awsapi.Call{}
		}
		r.inputs[call.Operation.Name] = call.Input
		r.calls[call.Operation.Name] = call
		r.mu.Unlock()
		return out, err
	}
}

// newServer runs an endpoint with the services on 127.0.0.1.
func newServer(t testing.TB, services ...awsapi.Service) *httptest.Server {
	t.Helper()
	ep, err := awsapi.New(awsapi.Options{
		Services: services, Region: "local-1", AccountID: testAccount,
		Logger:        slog.New(slog.DiscardHandler),
		Authenticator: keyAuth{keys: map[string]awsapi.Caller{testKey: testCaller}, allowUnsigned: true},
		NewRequestID:  func() string { return "00000000-0000-4000-8000-000000000001" },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ep)
	t.Cleanup(srv.Close)
	return srv
}

// sdkConfig is an aws-sdk-go-v2 configuration pointed at nothing in
// particular; clients set BaseEndpoint.
func sdkConfig(srv *httptest.Server) aws.Config {
	return aws.Config{
		Region:      "local-1",
		Credentials: credentials.NewStaticCredentialsProvider(testKey, "secret", ""),
		HTTPClient:  srv.Client(),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}
