package protocol

import (
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Detect reads which protocol a request uses and which operation it
// names:
//
//   - Smithy RPC v2 CBOR: POST /service/<ServiceShape>/operation/<Op> with
//     the header smithy-protocol: rpc-v2-cbor;
//   - AWS JSON: X-Amz-Target: <prefix>.<Op> with Content-Type
//     application/x-amz-json-1.0 or -1.1;
//   - otherwise the query protocol: a form body (or the URL query of a GET)
//     with Action and Version. Whether it is the EC2 variant depends on the
//     service, which the caller decides (see SigningService and
//     ServiceForVersion).
//
// The returned Request is not nil even with an error, so the error can be
// encoded in the protocol the client speaks.
func Detect(r *http.Request, body []byte) (*Request, error) {
	req := &Request{QueryMode: strings.EqualFold(r.Header.Get("X-Amzn-Query-Mode"), "true")}
	if r.Header.Get("Smithy-Protocol") != "" || strings.HasPrefix(r.URL.Path, "/service/") {
		req.Protocol, req.Body = CBOR, body
		if v := r.Header.Get("Smithy-Protocol"); v != "rpc-v2-cbor" {
			return req, Errorf("UnknownOperationException", "header smithy-protocol is %q; madang speaks rpc-v2-cbor", v)
		}
		rest, ok := strings.CutPrefix(r.URL.Path, "/service/")
		svc, op, ok2 := strings.Cut(rest, "/operation/")
		if !ok || !ok2 || svc == "" || op == "" || strings.Contains(op, "/") {
			return req, Errorf("UnknownOperationException", "path %q is not /service/<service>/operation/<operation>", r.URL.Path)
		}
		req.TargetPrefix, req.Operation = svc, op
		if r.Method != http.MethodPost {
			return req, Errorf("UnknownOperationException", "method %s: RPC v2 CBOR requests are POSTs", r.Method)
		}
		return req, nil
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		req.Protocol, req.Body = JSON, body
		prefix, op, ok := strings.Cut(target, ".")
		req.TargetPrefix, req.Operation = prefix, op
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "application/x-amz-json-1.0":
			req.JSONVersion = "1.0"
		case "application/x-amz-json-1.1":
			req.JSONVersion = "1.1"
		default:
			return req, Errorf("UnknownOperationException", "Content-Type %q: X-Amz-Target requests use application/x-amz-json-1.0 or application/x-amz-json-1.1", r.Header.Get("Content-Type"))
		}
		if !ok || prefix == "" || op == "" {
			return req, Errorf("UnknownOperationException", "X-Amz-Target %q is not <service>.<operation>", target)
		}
		return req, nil
	}
	req.Protocol = Query
	params := r.URL.Query()
	if len(body) > 0 {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != "" && ct != "application/x-www-form-urlencoded" {
			return req, Errorf("InvalidAction", "Content-Type %q: query requests send a application/x-www-form-urlencoded body (or X-Amz-Target for JSON)", r.Header.Get("Content-Type"))
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return req, Errorf("MalformedQueryString", "the request body is not a valid form: %v", err)
		}
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	}
	req.Params = params
	req.Operation, req.Version = params.Get("Action"), params.Get("Version")
	if req.Operation == "" {
		return req, Errorf("MissingAction", "the request has no Action parameter; name the operation, e.g. Action=DescribeInstances")
	}
	return req, nil
}

// versions maps the query protocols' API versions to service names (SigV4
// signing names).
var versions = map[string]string{
	"2016-11-15": "ec2",
	"2015-12-01": "elasticloadbalancing",
	"2011-01-01": "autoscaling",
	"2010-08-01": "monitoring",
	"2011-06-15": "sts",
}

// ServiceForVersion returns the signing name of the service whose query
// API has the given Version ("2016-11-15" → "ec2"), or "" if unknown. It
// places unsigned query requests, which carry no credential scope.
func ServiceForVersion(version string) string {
	return versions[version]
}

// SigningService returns the service name of the request's SigV4
// credential scope (Authorization header or X-Amz-Credential query
// parameter), or "" for unsigned requests. It does not verify anything.
func SigningService(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, after, ok := strings.Cut(auth, "Credential=")
		if !ok {
			return ""
		}
		cred, _, _ = strings.Cut(after, ",")
	}
	// <key>/<date>/<region>/<service>/aws4_request
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return ""
	}
	return parts[3]
}
