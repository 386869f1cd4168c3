package awsapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/madang-dev/madang/internal/awsapi"
	madangsts "github.com/madang-dev/madang/internal/awsapi/sts"
)

// wireError is an error response as a client reads it.
type wireError struct {
	Status     int
	Code       string
	Message    string
	Fault      string // query only
	RequestID  string
	QueryError string
}

func readError(t *testing.T, resp *http.Response) wireError {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	w := wireError{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Amzn-Requestid"), QueryError: resp.Header.Get("X-Amzn-Query-Error")}
	switch ct := resp.Header.Get("Content-Type"); {
	case ct == "text/xml" && bytes.Contains(body, []byte("<Response>")):
		var doc struct {
			Errors []struct{ Code, Message string } `xml:"Errors>Error"`
			ID     string                           `xml:"RequestID"`
		}
		if err := xml.Unmarshal(body, &doc); err != nil || len(doc.Errors) != 1 {
			t.Fatalf("EC2 error body %s: %v", body, err)
		}
		w.Code, w.Message = doc.Errors[0].Code, doc.Errors[0].Message
		if doc.ID != w.RequestID {
			t.Errorf("RequestID %q in body, %q in header", doc.ID, w.RequestID)
		}
	case ct == "text/xml":
		var doc struct {
			XMLName xml.Name `xml:"ErrorResponse"`
			Error   struct{ Type, Code, Message string }
			ID      string `xml:"RequestId"`
		}
		if err := xml.Unmarshal(body, &doc); err != nil {
			t.Fatalf("query error body %s: %v", body, err)
		}
		w.Code, w.Message, w.Fault = doc.Error.Code, doc.Error.Message, doc.Error.Type
		if doc.ID != w.RequestID {
			t.Errorf("RequestId %q in body, %q in header", doc.ID, w.RequestID)
		}
	case strings.HasPrefix(ct, "application/x-amz-json-"):
		var doc map[string]string
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("JSON error body %s: %v", body, err)
		}
		w.Code, w.Message = doc["__type"], doc["message"]
	case ct == "application/cbor":
		var doc map[string]string
		if err := cbor.Unmarshal(body, &doc); err != nil {
			t.Fatalf("CBOR error body % x: %v", body, err)
		}
		w.Code, w.Message = doc["__type"], doc["message"]
		if resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
			t.Error("CBOR error without smithy-protocol header")
		}
	default:
		t.Fatalf("error response with Content-Type %q: %s", ct, body)
	}
	return w
}

func gz(s string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return buf.String()
}

func sign(service string) string {
	return "AWS4-HMAC-SHA256 Credential=" + testKey + "/20240501/local-1/" + service + "/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
}

func TestEndpointErrors(t *testing.T) {
	var rec recorder
	stsSvc, err := madangsts.Service()
	if err != nil {
		t.Fatal(err)
	}
	panics := func(context.Context, *awsapi.Call) (map[string]any, error) { panic("index out of range") }
	srv := newServer(t, stsSvc,
		awsapi.Service{Name: "ec2", Handlers: map[string]awsapi.Handler{
			"DescribeInstances": panics,
			"RunInstances":      rec.canned(map[string]any{"ReservationId": "r-1"}, nil),
		}},
		awsapi.Service{Name: "elasticloadbalancingv2", Handlers: map[string]awsapi.Handler{
			"DescribeLoadBalancers": rec.canned(map[string]any{"LoadBalancers": []any{}, "Bogus": "x"}, nil),
		}},
		awsapi.Service{Name: "autoscaling", Handlers: map[string]awsapi.Handler{
			"DescribeAutoScalingGroups": rec.canned(nil, errors.New("state store: closed")),
		}},
		awsapi.Service{Name: "monitoring", Handlers: map[string]awsapi.Handler{
			"PutMetricData": rec.canned(nil, nil),
			"ListMetrics":   rec.canned(map[string]any{}, nil),
		}},
		awsapi.Service{Name: "logs", Handlers: map[string]awsapi.Handler{
			"PutLogEvents": rec.canned(nil, nil),
		}},
	)
	form := "application/x-www-form-urlencoded; charset=utf-8"
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		body    string
		want    wireError
		wantMsg string
	}{
		{name: "query unknown action", headers: map[string]string{"Content-Type": form, "Authorization": sign("elasticloadbalancing")},
			body: "Action=DescribeEverything&Version=2015-12-01",
			want: wireError{Status: 400, Code: "InvalidAction", Fault: "Sender"}, wantMsg: "The action DescribeEverything is not valid for this web service."},
		{name: "ec2 unknown action", headers: map[string]string{"Content-Type": form, "Authorization": sign("ec2")},
			body: "Action=CreateVpnGateway&Version=2016-11-15",
			want: wireError{Status: 400, Code: "InvalidAction"}, wantMsg: "CreateVpnGateway"},
		{name: "modelled operation without handler", headers: map[string]string{"Content-Type": form},
			body: "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0/16",
			want: wireError{Status: 400, Code: "InvalidAction"}, wantMsg: "madang does not implement EC2 CreateVpc yet"},
		{name: "json unknown operation", headers: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.PutEverything"},
			body: "{}", want: wireError{Status: 400, Code: "UnknownOperationException"}, wantMsg: "PutEverything"},
		{name: "json operation without handler", headers: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.DeleteLogGroup"},
			body: `{"logGroupName":"g"}`, want: wireError{Status: 400, Code: "UnknownOperationException"}, wantMsg: "madang does not implement CloudWatch Logs DeleteLogGroup yet"},
		{name: "json unknown target prefix", headers: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "DynamoDB_20120810.ListTables"},
			body: "{}", want: wireError{Status: 400, Code: "UnknownOperationException"}, wantMsg: "DynamoDB_20120810"},
		{name: "bad JSON", headers: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.PutLogEvents"},
			body: `{"logGroupName":`, want: wireError{Status: 400, Code: "SerializationException"}, wantMsg: "not valid JSON"},
		{name: "bad CBOR", path: "/service/GraniteServiceVersion20100801/operation/ListMetrics",
			headers: map[string]string{"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"},
			body:    "\xff\x00", want: wireError{Status: 400, Code: "SerializationException"}, wantMsg: "not valid CBOR"},
		{name: "cbor unknown operation", path: "/service/GraniteServiceVersion20100801/operation/Nope",
			headers: map[string]string{"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor"},
			want:    wireError{Status: 400, Code: "UnknownOperationException"}, wantMsg: "Nope"},
		{name: "cloudwatch json missing parameter in query mode", headers: map[string]string{
			"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData", "X-Amzn-Query-Mode": "true"},
			body: `{"MetricData":[{"MetricName":"x","Value":1}]}`,
			want: wireError{Status: 400, Code: "MissingRequiredParameterException", QueryError: "MissingParameter;Sender"}, wantMsg: "The parameter Namespace is required."},
		{name: "ec2 missing parameter", headers: map[string]string{"Content-Type": form},
			body: "Action=RunInstances&Version=2016-11-15&ImageId=ami-1&MaxCount=1",
			want: wireError{Status: 400, Code: "MissingParameter"}, wantMsg: "The request must contain the parameter MinCount"},
		{name: "oversize body", headers: map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.PutLogEvents"},
			body: `{"logGroupName":"` + strings.Repeat("x", awsapi.DefaultMaxBodyBytes) + `"}`,
			want: wireError{Status: 413, Code: "RequestEntityTooLarge"}, wantMsg: "larger than 2097152 bytes"},
		{name: "gzip body larger than the limit once inflated", headers: map[string]string{
			"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.PutLogEvents", "Content-Encoding": "gzip"},
			body: gz(`{"logGroupName":"` + strings.Repeat("x", awsapi.DefaultMaxBodyBytes) + `"}`),
			want: wireError{Status: 413, Code: "RequestEntityTooLarge"}, wantMsg: "larger than 2097152 bytes"},
		{name: "gzip encoding of a body that is not", headers: map[string]string{
			"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.PutLogEvents", "Content-Encoding": "gzip"},
			body: "{}", want: wireError{Status: 400, Code: "MalformedInput"}, wantMsg: "the body is not"},
		{name: "unsupported content encoding", headers: map[string]string{
			"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.PutLogEvents", "Content-Encoding": "br"},
			body: "{}", want: wireError{Status: 415, Code: "UnsupportedMediaType"}, wantMsg: `"br" is not supported`},
		{name: "handler panic", headers: map[string]string{"Content-Type": form},
			body: "Action=DescribeInstances&Version=2016-11-15",
			want: wireError{Status: 500, Code: "InternalFailure"}, wantMsg: "madang failed while serving DescribeInstances"},
		{name: "handler plain error", headers: map[string]string{"Content-Type": form, "Authorization": sign("autoscaling")},
			body: "Action=DescribeAutoScalingGroups&Version=2011-01-01",
			want: wireError{Status: 500, Code: "InternalFailure", Fault: "Receiver"}, wantMsg: "state store: closed"},
		{name: "handler output not in the model", headers: map[string]string{"Content-Type": form},
			body: "Action=DescribeLoadBalancers&Version=2015-12-01",
			want: wireError{Status: 500, Code: "InternalFailure", Fault: "Receiver"}, wantMsg: "shape DescribeLoadBalancersOutput has no member Bogus"},
		{name: "unknown access key", headers: map[string]string{"Content-Type": form,
			"Authorization": strings.Replace(sign("sts"), testKey, "AKIAUNKNOWN", 1)},
			body: "Action=GetCallerIdentity&Version=2011-06-15",
			want: wireError{Status: 403, Code: "InvalidClientTokenId", Fault: "Sender"}, wantMsg: "security token"},
		{name: "scope names another service than the target", headers: map[string]string{
			"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.PutLogEvents", "Authorization": sign("monitoring")},
			body: "{}", want: wireError{Status: 400, Code: "InvalidSignatureException"}, wantMsg: `signed for service "monitoring"`},
		{name: "scope of a service not served", headers: map[string]string{"Content-Type": form, "Authorization": sign("s3")},
			body: "Action=ListBuckets&Version=2006-03-01",
			want: wireError{Status: 400, Code: "InvalidAction", Fault: "Sender"}, wantMsg: `does not serve the service "s3"`},
		{name: "version of another API", headers: map[string]string{"Content-Type": form, "Authorization": sign("elasticloadbalancing")},
			body: "Action=DescribeLoadBalancers&Version=2012-06-01",
			want: wireError{Status: 400, Code: "NoSuchVersion", Fault: "Sender"}, wantMsg: "2012-06-01"},
		{name: "unsigned query with unknown version", headers: map[string]string{"Content-Type": form},
			body: "Action=ListQueues&Version=2012-11-05",
			want: wireError{Status: 400, Code: "NoSuchVersion", Fault: "Sender"}, wantMsg: "2012-11-05"},
		{name: "query request for a JSON-only service", headers: map[string]string{"Content-Type": form, "Authorization": sign("logs")},
			body: "Action=PutLogEvents&Version=2014-03-28",
			want: wireError{Status: 400, Code: "InvalidAction", Fault: "Sender"}, wantMsg: "CloudWatch Logs does not speak the query protocol (it speaks json)"},
		{name: "no action", headers: map[string]string{"Content-Type": form}, body: "Version=2011-06-15",
			want: wireError{Status: 400, Code: "MissingAction", Fault: "Sender"}, wantMsg: "no Action parameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/"
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got := readError(t, resp)
			if !strings.Contains(got.Message, tc.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", got.Message, tc.wantMsg)
			}
			if got.RequestID == "" {
				t.Error("no x-amzn-RequestId header")
			}
			got.Message, got.RequestID = "", ""
			if tc.want.Fault == "" {
				got.Fault = ""
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
		})
	}
}

func TestEndpointUnsignedAndGET(t *testing.T) {
	stsSvc, err := madangsts.Service()
	if err != nil {
		t.Fatal(err)
	}
	caller := testCaller
	caller.AccountID = ""
	ep, err := awsapi.New(awsapi.Options{Services: []awsapi.Service{stsSvc}, AccountID: "999999999999", Authenticator: awsapi.AllowAll{Caller: caller}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	w := httptest.NewRecorder()
	ep.ServeHTTP(w, r)
	var doc struct {
		UserID  string `xml:"GetCallerIdentityResult>UserId"`
		Account string `xml:"GetCallerIdentityResult>Account"`
		ID      string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != 200 {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	if doc.Account != "999999999999" {
		t.Errorf("Account = %q, want the endpoint's account", doc.Account)
	}
	if doc.UserID != testCaller.UserID || len(doc.ID) != 36 || doc.ID[14] != '4' || doc.ID != w.Header().Get("X-Amzn-Requestid") {
		t.Errorf("UserId %q, request id %q (header %q)", doc.UserID, doc.ID, w.Header().Get("X-Amzn-Requestid"))
	}
	if want := `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`; !strings.Contains(w.Body.String(), want) {
		t.Errorf("body %s lacks %s", w.Body, want)
	}
}

func TestNewAndOperations(t *testing.T) {
	tests := []struct {
		name    string
		opts    awsapi.Options
		wantErr string
	}{
		{name: "no authenticator", opts: awsapi.Options{}, wantErr: "Authenticator is nil"},
		{name: "unknown model", opts: awsapi.Options{Authenticator: awsapi.AllowAll{}, Services: []awsapi.Service{{Name: "s3"}}}, wantErr: `no service model "s3"`},
		{name: "handler for no operation", opts: awsapi.Options{Authenticator: awsapi.AllowAll{}, Services: []awsapi.Service{
			{Name: "ec2", Handlers: map[string]awsapi.Handler{"DescribeVpnGateways": nil}}}}, wantErr: `handler for "DescribeVpnGateways"`},
		{name: "same service twice", opts: awsapi.Options{Authenticator: awsapi.AllowAll{}, Services: []awsapi.Service{{Name: "sts"}, {Name: "sts"}}},
			wantErr: `two services sign as "sts"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := awsapi.New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
	noop := func(context.Context, *awsapi.Call) (map[string]any, error) { return nil, nil }
	ep, err := awsapi.New(awsapi.Options{Authenticator: awsapi.AllowAll{}, Logger: slog.New(slog.DiscardHandler), Services: []awsapi.Service{
		{Name: "ec2", Handlers: map[string]awsapi.Handler{"StopInstances": noop, "DescribeInstances": noop}},
		{Name: "sts"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"ec2": {"DescribeInstances", "StopInstances"}, "sts": {}}
	if d := cmp.Diff(want, ep.Operations()); d != "" {
		t.Errorf("Operations (-want +got):\n%s", d)
	}
}
