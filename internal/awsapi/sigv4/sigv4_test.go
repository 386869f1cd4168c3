package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKey    = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testRegion = "local"
)

// keys is a Credentials over a map of key id to secret; every key
// belongs to user "admin".
type keys map[string]string

func (k keys) Secret(id string) (string, string, bool) {
	s, ok := k[id]
	return s, "admin", ok
}

var testCreds = keys{testKey: testSecret}

var t0 = time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)

// request is a request to sign.
type request struct {
	method, target string // target: path and query as sent
	body           string
	header         map[string][]string
}

func (q request) client(t testing.TB) *http.Request {
	t.Helper()
	r, err := http.NewRequest(q.method, "http://127.0.0.1:4566"+q.target, strings.NewReader(q.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range q.header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return r
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// signOpts says how a test request is signed.
type signOpts struct {
	key, secret, token, service, region string
	at                                  time.Time
	presign                             bool
	unsignedPayload                     bool
}

func (o signOpts) withDefaults() signOpts {
	if o.key == "" {
		o.key, o.secret = testKey, testSecret
	}
	if o.service == "" {
		o.service = "sts"
	}
	if o.region == "" {
		o.region = testRegion
	}
	if o.at.IsZero() {
		o.at = t0
	}
	return o
}

// sign signs q with the AWS SDK for Go's signer and returns the request
// as a server reads it off the wire, and its body.
func sign(t testing.TB, q request, o signOpts) (*http.Request, []byte) {
	t.Helper()
	o = o.withDefaults()
	r := q.client(t)
	creds := aws.Credentials{AccessKeyID: o.key, SecretAccessKey: o.secret, SessionToken: o.token}
	payload := hashHex(q.body)
	if o.unsignedPayload {
		payload = UnsignedPayload
	}
	s := v4.NewSigner()
	if o.presign {
		qs := r.URL.Query()
		qs.Set("X-Amz-Expires", "300")
		r.URL.RawQuery = qs.Encode()
		signed, hdr, err := s.PresignHTTP(context.Background(), creds, r, payload, o.service, o.region, o.at)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(signed)
		if err != nil {
			t.Fatal(err)
		}
		r.URL = u
		r.Header = hdr
	} else if err := s.SignHTTP(context.Background(), creds, r, payload, o.service, o.region, o.at); err != nil {
		t.Fatal(err)
	}
	return onWire(t, r)
}

// onWire writes r as a client sends it and reads it back as a server
// does (Host moves to r.Host, the URL is the request target).
func onWire(t testing.TB, r *http.Request) (*http.Request, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sr, body
}

var (
	formPost = request{method: "POST", target: "/", body: "Action=GetCallerIdentity&Version=2011-06-15",
		header: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}}
	jsonPost = request{method: "POST", target: "/", body: `{"logGroupNamePrefix":"/madang/"}`,
		header: map[string][]string{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"Logs_20140328.DescribeLogGroups"}}}
	queryGet = request{method: "GET", target: "/?Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName&Filter.1.Value.1=web%20a%2Bb&Empty="}
)

func TestVerifyAcceptsTheSDKSigner(t *testing.T) {
	cases := []struct {
		name string
		req  request
		opts signOpts
	}{
		{name: "POST form body", req: formPost},
		{name: "POST JSON body", req: jsonPost, opts: signOpts{service: "logs"}},
		{name: "GET with a query string", req: queryGet, opts: signOpts{service: "ec2"}},
		{name: "path with spaces and unicode", req: request{method: "GET", target: "/a%20b/%C3%BCber/x%2By?q=%E2%9C%93"}, opts: signOpts{service: "elasticloadbalancing"}},
		{name: "path with dot segments", req: request{method: "GET", target: "/a/./b/../c/"}, opts: signOpts{service: "monitoring"}},
		{name: "multi-value and spaced headers", req: request{method: "POST", target: "/", body: "x=1", header: map[string][]string{
			"X-Amz-Meta-Tags": {"a", "  b   c  "}, "Content-Type": {"application/x-www-form-urlencoded"}}}, opts: signOpts{service: "autoscaling"}},
		{name: "signed 14 minutes ago", req: formPost, opts: signOpts{at: t0.Add(-14 * time.Minute)}},
		{name: "signed 14 minutes ahead", req: formPost, opts: signOpts{at: t0.Add(14 * time.Minute)}},
		{name: "presigned GET", req: request{method: "GET", target: "/?Action=GetCallerIdentity&Version=2011-06-15"}, opts: signOpts{presign: true}},
		{name: "presigned with unsigned payload", req: request{method: "GET", target: "/?Action=GetCallerIdentity&Version=2011-06-15"}, opts: signOpts{presign: true, unsignedPayload: true}},
		{name: "presigned 4 minutes ago", req: request{method: "GET", target: "/?Action=GetCallerIdentity"}, opts: signOpts{presign: true, at: t0.Add(-4 * time.Minute)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := sign(t, tc.req, tc.opts)
			sig, err := Verify(r, body, testCreds, t0, testRegion)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			o := tc.opts.withDefaults()
			want := Signature{Scope: Scope{AccessKeyID: testKey, Date: o.at.Format("20060102"), Region: testRegion, Service: o.service, Presigned: o.presign},
				User: "admin", Time: o.at}
			if sig != want {
				t.Errorf("Signature = %+v, want %+v", sig, want)
			}
			scope, err := Parse(r)
			if err != nil || scope != want.Scope {
				t.Errorf("Parse = %+v, %v; want %+v", scope, err, want.Scope)
			}
			if !Signed(r) {
				t.Error("Signed = false")
			}
		})
	}
}

// rewriteAuth replaces part of the Authorization header.
func rewriteAuth(old, new string) func(*http.Request, *[]byte) {
	return func(r *http.Request, _ *[]byte) {
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
	}
}

// TestVerifyAcceptsBotocore verifies requests signed by botocore's
// signers (the aws CLI's and boto3's), written by
// testdata/botocore/generate.py.
func TestVerifyAcceptsBotocore(t *testing.T) {
	files, err := filepath.Glob("testdata/botocore/*.http")
	if err != nil || len(files) == 0 {
		t.Fatalf("no botocore requests in testdata: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".http"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(r, body, testCreds, t0, testRegion); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if _, err := Verify(r, body, keys{testKey: "other"}, t0, testRegion); err == nil {
				t.Fatal("Verify accepted the request with another secret")
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	presignGet := request{method: "GET", target: "/?Action=GetCallerIdentity&Version=2011-06-15"}
	cases := []struct {
		name   string
		req    request
		opts   signOpts
		now    time.Time // zero: t0
		mutate func(r *http.Request, body *[]byte)
		code   string
		status int
		reason Reason
		want   string // in the message
	}{
		{name: "tampered body", req: formPost, mutate: func(_ *http.Request, b *[]byte) { *b = []byte("Action=GetCallerIdentity&Version=2011-06-16") },
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSignature, want: "The request signature we calculated does not match"},
		{name: "tampered header", req: jsonPost, opts: signOpts{service: "logs"}, mutate: func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Target", "Logs_20140328.DeleteLogGroup") },
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSignature, want: "x-amz-target:Logs_20140328.DeleteLogGroup"},
		{name: "tampered query", req: queryGet, opts: signOpts{service: "ec2"}, mutate: func(r *http.Request, _ *[]byte) { r.URL.RawQuery += "&DryRun=true" },
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSignature, want: "DryRun=true"},
		{name: "tampered path", req: request{method: "GET", target: "/a"}, mutate: func(r *http.Request, _ *[]byte) { r.URL.Path = "/b" },
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSignature},
		{name: "tampered host", req: formPost, mutate: func(r *http.Request, _ *[]byte) { r.Host = "127.0.0.1:4567" },
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSignature, want: "host:127.0.0.1:4567"},
		{name: "wrong secret", req: formPost, opts: signOpts{key: testKey, secret: "not-the-secret"},
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSignature, want: "Check your AWS Secret Access Key"},
		{name: "unknown key", req: formPost, opts: signOpts{key: "AKIAUNKNOWNUNKNOWN22", secret: testSecret},
			code: "InvalidClientTokenId", status: 403, reason: ReasonUnknownKey, want: "The security token included in the request is invalid."},
		{name: "session token", req: formPost, opts: signOpts{token: "FwoGZXIvYXdzEXAMPLE"},
			code: "InvalidClientTokenId", status: 403, reason: ReasonUnknownKey, want: "unset AWS_SESSION_TOKEN"},
		{name: "wrong region", req: formPost, opts: signOpts{region: "us-east-1"},
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonRegion, want: "not 'us-east-1'. madang's region is 'local'"},
		{name: "scope date not the request's", req: formPost, mutate: func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Date", "20260102T003000Z") },
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSignature, want: "'20260101' != '20260102', from '20260102T003000Z'"},
		{name: "signed 16 minutes ago", req: formPost, opts: signOpts{at: t0.Add(-16 * time.Minute)},
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSkew, want: "Signature expired: 20260101T001400Z is now earlier than 20260101T001500Z (20260101T003000Z - 15 min.)"},
		{name: "signed 16 minutes ahead", req: formPost, opts: signOpts{at: t0.Add(16 * time.Minute)},
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSkew, want: "Signature not yet current: 20260101T004600Z is still later than 20260101T004500Z (20260101T003000Z + 15 min.)"},
		{name: "expired presigned URL", req: presignGet, opts: signOpts{presign: true, at: t0.Add(-6 * time.Minute)},
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonExpired, want: "Signature expired: 20260101T002900Z is now earlier than 20260101T003000Z"},
		{name: "presigned URL from the future", req: presignGet, opts: signOpts{presign: true, at: t0.Add(20 * time.Minute)},
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSkew, want: "Signature not yet current"},
		{name: "presigned tampered query", req: presignGet, opts: signOpts{presign: true}, mutate: func(r *http.Request, _ *[]byte) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "GetCallerIdentity", "GetSessionToken", 1)
		}, code: "SignatureDoesNotMatch", status: 403, reason: ReasonSignature},
		{name: "presigned expires too long", req: presignGet, opts: signOpts{presign: true}, mutate: func(r *http.Request, _ *[]byte) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=300", "X-Amz-Expires=604801", 1)
		}, code: "IncompleteSignature", status: 400, reason: ReasonIncomplete, want: "from 1 to 604800"},
		{name: "presigned expires zero", req: presignGet, opts: signOpts{presign: true}, mutate: func(r *http.Request, _ *[]byte) {
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=300", "X-Amz-Expires=0", 1)
		}, code: "IncompleteSignature", status: 400, reason: ReasonIncomplete, want: "X-Amz-Expires"},
		{name: "presigned without a signature", req: presignGet, opts: signOpts{presign: true}, mutate: func(r *http.Request, _ *[]byte) {
			q := r.URL.Query()
			q.Del("X-Amz-Signature")
			r.URL.RawQuery = q.Encode()
		}, code: "IncompleteSignature", status: 400, reason: ReasonIncomplete, want: "must include 'X-Amz-Signature'"},
		{name: "missing SignedHeaders", req: formPost, mutate: func(r *http.Request, _ *[]byte) {
			a := r.Header.Get("Authorization")
			i, j := strings.Index(a, " SignedHeaders="), strings.Index(a, " Signature=")
			r.Header.Set("Authorization", a[:i]+a[j:])
		}, code: "IncompleteSignature", status: 400, reason: ReasonIncomplete, want: "Authorization header requires 'SignedHeaders' parameter."},
		{name: "missing Credential", req: formPost, mutate: rewriteAuth("Credential=", "Cred="),
			code: "IncompleteSignature", status: 400, reason: ReasonIncomplete, want: "Authorization header requires 'Credential' parameter."},
		{name: "host not signed", req: formPost, mutate: rewriteAuth("SignedHeaders=content-length;content-type;host;", "SignedHeaders=content-length;content-type;"),
			code: "IncompleteSignature", status: 400, reason: ReasonIncomplete, want: "'Host' or ':authority' must be a 'SignedHeader'"},
		{name: "no date", req: formPost, mutate: func(r *http.Request, _ *[]byte) { r.Header.Del("X-Amz-Date") },
			code: "IncompleteSignature", status: 400, reason: ReasonIncomplete, want: "either a 'X-Amz-Date' or a 'Date' header"},
		{name: "other algorithm", req: formPost, mutate: rewriteAuth("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"),
			code: "IncompleteSignature", status: 400, reason: ReasonIncomplete, want: "AWS4-ECDSA-P256-SHA256"},
		{name: "short credential", req: formPost, mutate: rewriteAuth("/local/sts/aws4_request", "/local/aws4_request"),
			code: "IncompleteSignature", status: 400, reason: ReasonIncomplete, want: "REGION/SERVICE/aws4_request"},
		{name: "wrong terminator", req: formPost, mutate: rewriteAuth("/aws4_request", "/aws5_request"),
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSignature, want: "not 'aws5_request'"},
		{name: "content hash not the body's", req: formPost, mutate: func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Content-Sha256", hashHex("other")) },
			code: "SignatureDoesNotMatch", status: 403, reason: ReasonSignature, want: "'x-amz-content-sha256'"},
		{name: "unsigned payload in the header form", req: formPost, mutate: func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload) },
			code: "IncompleteSignature", status: 400, reason: ReasonIncomplete, want: "only accepted in presigned URLs"},
		{name: "unsigned", req: formPost, mutate: func(r *http.Request, _ *[]byte) { r.Header.Del("Authorization") },
			code: "MissingAuthenticationToken", status: 403, reason: ReasonMissing, want: "Request is missing Authentication Token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := sign(t, tc.req, tc.opts)
			if tc.mutate != nil {
				tc.mutate(r, &body)
			}
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			_, err := Verify(r, body, testCreds, now, testRegion)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify error = %v, want an *Error %s", err, tc.code)
			}
			if e.Code != tc.code || e.Status != tc.status || e.Reason != tc.reason {
				t.Errorf("got %s %d %s, want %s %d %s (%s)", e.Code, e.Status, e.Reason, tc.code, tc.status, tc.reason, e.Message)
			}
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("message %q does not contain %q", e.Message, tc.want)
			}
		})
	}
}

func TestVerifyDateHeader(t *testing.T) {
	// A request dated by Date rather than X-Amz-Date: the signer's
	// X-Amz-Date replaced by the same time as an HTTP date.
	r := formPost.client(t)
	r.Header.Set("Date", t0.Format(http.TimeFormat))
	stamp := t0.Format(timeFormat)
	body := []byte(formPost.body)
	sr, _ := onWire(t, r)
	p := parsed{Scope: Scope{AccessKeyID: testKey, Date: stamp[:8], Region: testRegion, Service: "sts"}, amzDate: stamp,
		signedHeaders: []string{"content-type", "date", "host"}}
	sig := hex.EncodeToString(hmacSHA256(signingKey(testSecret, p.Date, p.Region, p.Service), stringToSign(p, canonicalRequest(sr, p, "/", hashHex(formPost.body)))))
	sr.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testKey+"/"+stamp[:8]+"/local/sts/aws4_request, SignedHeaders=content-type;date;host, Signature="+sig)
	if _, err := Verify(sr, body, testCreds, t0, testRegion); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	sr.Header.Set("Date", t0.Add(time.Second).Format(http.TimeFormat))
	if _, err := Verify(sr, body, testCreds, t0, testRegion); err == nil {
		t.Fatal("Verify accepted a changed Date header")
	}
}

func TestCanonicalRequest(t *testing.T) {
	// The example of AWS's SigV4 documentation (IAM ListUsers), with
	// its published canonical request and signature.
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET /?Action=ListUsers&Version=2010-05-08 HTTP/1.1\r\n" +
		"Host: iam.amazonaws.com\r\n" +
		"Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n" +
		"X-Amz-Date: 20150830T123600Z\r\n\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	p := parsed{Scope: Scope{AccessKeyID: "AKIDEXAMPLE", Date: "20150830", Region: "us-east-1", Service: "iam"}, amzDate: "20150830T123600Z",
		signedHeaders: []string{"content-type", "host", "x-amz-date"}}
	got := canonicalRequest(r, p, canonicalURIs(r.URL)[0], hashHex(""))
	want := "GET\n/\nAction=ListUsers&Version=2010-05-08\n" +
		"content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n" +
		"content-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got != want {
		t.Fatalf("canonical request\n%s\nwant\n%s", got, want)
	}
	sig := hex.EncodeToString(hmacSHA256(signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", p.Date, p.Region, p.Service), stringToSign(p, got)))
	if want := "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"; sig != want {
		t.Errorf("signature %s, want %s", sig, want)
	}
}

func TestNormalizePath(t *testing.T) {
	cases := []struct{ in, want string }{
		{in: "", want: "/"},
		{in: "/", want: "/"},
		{in: "/a/b", want: "/a/b"},
		{in: "/a//b/", want: "/a/b/"},
		{in: "/a/./b/../c", want: "/a/c"},
		{in: "/a/..", want: "/"},
		{in: "/../..", want: "/"},
		{in: "/a.b/c.", want: "/a.b/c."},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := normalizePath(tc.in); got != tc.want {
				t.Errorf("normalizePath(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCanonicalURIs(t *testing.T) {
	cases := []struct {
		target string
		want   []string
	}{
		{target: "/", want: []string{"/"}},
		{target: "/a%20b/", want: []string{"/a%2520b/", "/a%20b/"}},
		{target: "/a//b/./c", want: []string{"/a/b/c", "/a//b/./c"}},
		{target: "/%C3%BC", want: []string{"/%25C3%25BC", "/%C3%BC"}},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			u, err := url.ParseRequestURI(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if got := canonicalURIs(u); !slices.Equal(got, tc.want) {
				t.Errorf("canonicalURIs(%q) = %q, want %q", tc.target, got, tc.want)
			}
		})
	}
}

func TestCanonicalQuery(t *testing.T) {
	cases := []struct {
		name, raw string
		presigned bool
		want      string
	}{
		{name: "empty", raw: "", want: ""},
		{name: "sorted by key then value", raw: "b=2&a=3&a=1", want: "a=1&a=3&b=2"},
		{name: "re-encoded", raw: "k=a+b&t=%7e%2f&u=ü", want: "k=a%20b&t=~%2F&u=%C3%BC"},
		{name: "key without value", raw: "flag&x=", want: "flag=&x="},
		{name: "presigned leaves out the signature", raw: "X-Amz-Signature=abc&a=1", presigned: true, want: "a=1"},
		{name: "header form keeps it", raw: "X-Amz-Signature=abc", want: "X-Amz-Signature=abc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := canonicalQuery(tc.raw, tc.presigned); got != tc.want {
				t.Errorf("canonicalQuery(%q) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}

func TestParseUnsigned(t *testing.T) {
	r, _ := onWire(t, formPost.client(t))
	_, err := Parse(r)
	var e *Error
	if !errors.As(err, &e) || e.Code != "MissingAuthenticationToken" {
		t.Fatalf("Parse error = %v, want MissingAuthenticationToken", err)
	}
	if Signed(r) {
		t.Error("Signed = true for an unsigned request")
	}
}

func TestForService(t *testing.T) {
	base := map[Reason]*Error{
		ReasonMissing:    errMissing(),
		ReasonIncomplete: errIncomplete("x"),
		ReasonUnknownKey: errUnknownKey(msgUnknownKey),
		ReasonSignature:  errSignature(msgSignature),
		ReasonSkew:       errSkew("Signature expired: a is now earlier than b (c - 15 min.)"),
		ReasonExpired:    errExpired("Signature expired"),
		ReasonRegion:     errRegion("Credential should be scoped to a valid region, not 'x'."),
	}
	cases := []struct {
		service string
		reason  Reason
		code    string
		status  int
	}{
		{"sts", ReasonUnknownKey, "InvalidClientTokenId", 403},
		{"monitoring", ReasonSignature, "SignatureDoesNotMatch", 403},
		{"autoscaling", ReasonMissing, "MissingAuthenticationToken", 403},
		{"elasticloadbalancing", ReasonIncomplete, "IncompleteSignature", 400},
		{"ec2", ReasonUnknownKey, "AuthFailure", 401},
		{"ec2", ReasonSignature, "AuthFailure", 401},
		{"ec2", ReasonRegion, "AuthFailure", 401},
		{"ec2", ReasonSkew, "RequestExpired", 400},
		{"ec2", ReasonExpired, "RequestExpired", 400},
		{"ec2", ReasonMissing, "MissingAuthenticationToken", 403},
		{"logs", ReasonUnknownKey, "UnrecognizedClientException", 400},
		{"logs", ReasonSignature, "InvalidSignatureException", 400},
		{"logs", ReasonSkew, "InvalidSignatureException", 400},
		{"logs", ReasonMissing, "MissingAuthenticationTokenException", 400},
		{"logs", ReasonIncomplete, "IncompleteSignatureException", 400},
	}
	for _, tc := range cases {
		t.Run(tc.service+"/"+tc.reason.String(), func(t *testing.T) {
			in := base[tc.reason]
			got := in.ForService(tc.service)
			if got.Code != tc.code || got.Status != tc.status || got.Reason != tc.reason {
				t.Errorf("got %s %d %s, want %s %d", got.Code, got.Status, got.Reason, tc.code, tc.status)
			}
			if got == in {
				t.Error("ForService returned its receiver; it must copy")
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, bc := range []struct {
		name string
		req  request
		opts signOpts
	}{
		{name: "form POST", req: formPost},
		{name: "JSON POST", req: jsonPost, opts: signOpts{service: "logs"}},
		{name: "presigned GET", req: request{method: "GET", target: "/?Action=GetCallerIdentity&Version=2011-06-15"}, opts: signOpts{presign: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r, body := sign(b, bc.req, bc.opts)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Verify(r, body, testCreds, t0, testRegion); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
