// Package sigv4 verifies AWS Signature Version 4 on incoming requests, in
// the header form (Authorization: AWS4-HMAC-SHA256 …) and the presigned
// form (X-Amz-Signature in the query), for the services that sign the way
// every non-S3 service does: the URI path normalized and encoded twice,
// the query sorted, the payload hashed.
//
// Refusals are [*Error]s carrying AWS's code, message and status for the
// query protocol services; [Error.ForService] gives EC2's and CloudWatch
// Logs' codes.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm madang accepts.
const Algorithm = "AWS4-HMAC-SHA256"

// UnsignedPayload is the payload hash a presigned URL may carry instead
// of the body's SHA-256.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// MaxSkew is how far a request's date may be from now (AWS's 15 minutes).
const MaxSkew = 15 * time.Minute

// MaxExpires is the longest X-Amz-Expires of a presigned URL (7 days, in
// seconds).
const MaxExpires = 604800

// timeFormat is SigV4's ISO 8601 basic form, as X-Amz-Date carries it.
const timeFormat = "20060102T150405Z"

// Credentials looks up the secret of an access key.
//
// Contract: Secret returns the secret access key and the name of the user
// the key belongs to, and ok true, only for an existing key that may sign
// requests now (an inactive or deleted key is ok false). It is called for
// every request, so it must answer from memory, without blocking on I/O,
// and be safe for concurrent use.
type Credentials interface {
	Secret(accessKeyID string) (secret, user string, ok bool)
}

// Scope is the credential scope of a signed request, as the request
// states it (nothing verified).
type Scope struct {
	AccessKeyID string
	// Date is the scope's date, yyyymmdd.
	Date string
	// Region and Service are the scope's region and service (ec2,
	// elasticloadbalancing, autoscaling, monitoring, logs, sts, …).
	Region  string
	Service string
	// Presigned is set for the query-string form.
	Presigned bool
}

// Signature is a verified request's signature.
type Signature struct {
	Scope
	// User is the name of the user the access key belongs to.
	User string
	// Time is the request's signing time (X-Amz-Date or Date).
	Time time.Time
}

// parsed is a request's signature parts, before verification.
type parsed struct {
	Scope
	terminator    string
	amzDate       string // the X-Amz-Date (or Date header) value as ISO 8601 basic
	time          time.Time
	signedHeaders []string
	signature     string
	expires       int // presigned only
	securityToken string
}

// Parse returns the credential scope of r without verifying anything, so
// an endpoint can route a request by its scope's service. A request with
// no credentials at all is a MissingAuthenticationToken *Error; a
// malformed one is IncompleteSignature.
func Parse(r *http.Request) (Scope, error) {
	p, err := parse(r)
	if err != nil {
		return Scope{}, err
	}
	return p.Scope, nil
}

// Signed reports whether r carries SigV4 credentials in either form
// (which may still be malformed).
func Signed(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-") {
		return true
	}
	q := r.URL.Query()
	return q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature")
}

// Verify checks r's signature against creds and returns who signed it.
// body is r's body, already read (r.Body is not touched); now is the
// current time; region is madang's region, which the scope must name.
//
// The checks run in this order, each with AWS's answer: credentials
// present (MissingAuthenticationToken), well formed (IncompleteSignature),
// no session token and a known active key (InvalidClientTokenId), the
// scope's region and date (SignatureDoesNotMatch), the date within
// [MaxSkew] of now and a presigned URL not expired (SignatureDoesNotMatch,
// "Signature expired: …"), and finally the signature itself
// (SignatureDoesNotMatch), compared in constant time. Errors are *Error.
func Verify(r *http.Request, body []byte, creds Credentials, now time.Time, region string) (Signature, error) {
	p, err := parse(r)
	if err != nil {
		return Signature{}, err
	}
	if p.securityToken != "" {
		return Signature{}, errUnknownKey(msgUnknownKey + " madang issues no session tokens; unset AWS_SESSION_TOKEN (madang aws-env prints the settings to use).")
	}
	secret, user, ok := creds.Secret(p.AccessKeyID)
	if !ok {
		return Signature{}, errUnknownKey(msgUnknownKey)
	}
	if p.Region != region {
		return Signature{}, errRegion(fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. madang's region is '%s': "+
			"sign for region '%s' (set AWS_REGION and AWS_DEFAULT_REGION to %s; `madang aws-env` prints the settings).", p.Region, region, region, region))
	}
	if p.terminator != "aws4_request" {
		return Signature{}, errSignature(fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", p.terminator))
	}
	if p.Date != p.amzDate[:8] {
		return Signature{}, errSignature(fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			p.Date, p.amzDate[:8], p.amzDate))
	}
	if err := checkTime(p, now); err != nil {
		return Signature{}, err
	}
	if err := checkSignature(r, body, p, secret); err != nil {
		return Signature{}, err
	}
	return Signature{Scope: p.Scope, User: user, Time: p.time}, nil
}

// checkTime refuses a request signed too far from now, and an expired
// presigned URL, in AWS's words.
func checkTime(p parsed, now time.Time) error {
	now = now.UTC().Truncate(time.Second)
	stamp := func(t time.Time) string { return t.UTC().Format(timeFormat) }
	if p.time.Before(now.Add(-MaxSkew)) && !p.Presigned {
		return errSkew(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			stamp(p.time), stamp(now.Add(-MaxSkew)), stamp(now)))
	}
	if p.time.After(now.Add(MaxSkew)) {
		return errSkew(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			stamp(p.time), stamp(now.Add(MaxSkew)), stamp(now)))
	}
	if p.Presigned {
		if end := p.time.Add(time.Duration(p.expires) * time.Second); now.After(end) {
			return errExpired(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s + %d s X-Amz-Expires); presign the URL again.",
				stamp(end), stamp(now), stamp(p.time), p.expires))
		}
	}
	return nil
}

// checkSignature computes the request's signature with secret and
// compares it with the one given.
func checkSignature(r *http.Request, body []byte, p parsed, secret string) error {
	bodyHash := sha256Hex(body)
	payload := bodyHash
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		switch {
		case h == UnsignedPayload && p.Presigned:
			payload = h
		case h == UnsignedPayload:
			return errIncomplete("X-Amz-Content-Sha256: UNSIGNED-PAYLOAD is only accepted in presigned URLs; sign the request body.")
		case h != bodyHash:
			return errSignature(fmt.Sprintf("The provided 'x-amz-content-sha256' header does not match what was computed: %s is not the SHA-256 of the %d-byte body.", h, len(body)))
		default:
			payload = h
		}
	}
	key := signingKey(secret, p.Date, p.Region, p.Service)
	uris := canonicalURIs(r.URL)
	canonical := canonicalRequest(r, p, uris[0], payload)
	sts := stringToSign(p, canonical)
	if signatureMatches(key, sts, p.signature) {
		return nil
	}
	// The other ways clients sign the same request: the path in another
	// form (see canonicalURIs) and, for a presigned URL, an unsigned
	// payload without saying so (the SDKs' presigners sign
	// UNSIGNED-PAYLOAD).
	payloads := []string{payload}
	if p.Presigned && payload == bodyHash {
		payloads = append(payloads, UnsignedPayload)
	}
	for i, pl := range payloads {
		for j, uri := range uris {
			if i == 0 && j == 0 {
				continue
			}
			if signatureMatches(key, stringToSign(p, canonicalRequest(r, p, uri, pl)), p.signature) {
				return nil
			}
		}
	}
	return errSignature(msgSignature + "\n\nThe Canonical String for this request should have been\n'" + canonical +
		"'\n\nThe String-to-Sign should have been\n'" + sts + "'\n")
}

func stringToSign(p parsed, canonical string) string {
	return Algorithm + "\n" + p.amzDate + "\n" + p.Date + "/" + p.Region + "/" + p.Service + "/aws4_request\n" +
		sha256Hex([]byte(canonical))
}

func signatureMatches(key []byte, sts, given string) bool {
	want := make([]byte, hex.EncodedLen(sha256.Size))
	hex.Encode(want, hmacSHA256(key, sts))
	return hmac.Equal(want, []byte(given))
}

// signingKey derives the SigV4 signing key of a secret for a scope.
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// parse reads the signature parts of either form.
func parse(r *http.Request) (parsed, error) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		return parseHeader(r, auth)
	}
	q := r.URL.Query()
	if q.Has("X-Amz-Algorithm") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature") {
		return parseQuery(r)
	}
	return parsed{}, errMissing()
}

// parseHeader reads the header form.
func parseHeader(r *http.Request, auth string) (parsed, error) {
	var p parsed
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != Algorithm {
		return p, errIncomplete(fmt.Sprintf("Unsupported AWS 'algorithm': '%s'; madang accepts %s (Signature Version 4).", alg, Algorithm))
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "Credential":
			cred, haveCred = v, true
		case "SignedHeaders":
			signed, haveSigned = v, true
		case "Signature":
			sig, haveSig = v, true
		}
	}
	var missing []string
	if !haveCred {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if !haveSig {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if !haveSigned {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	amz := r.Header.Get("X-Amz-Date")
	if amz == "" {
		if d := r.Header.Get("Date"); d != "" {
			t, err := http.ParseTime(d)
			if err != nil {
				return p, errIncomplete(fmt.Sprintf("Date header %q is not an HTTP date; send X-Amz-Date in ISO 8601 basic format (yyyyMMddTHHmmssZ).", d))
			}
			amz = t.UTC().Format(timeFormat)
		} else {
			missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
		}
	}
	if len(missing) > 0 {
		return p, errIncomplete(strings.Join(missing, " ") + " Authorization=" + auth)
	}
	if err := p.setCredential(cred, "Authorization header"); err != nil {
		return p, err
	}
	if err := p.setDate(amz, "X-Amz-Date"); err != nil {
		return p, err
	}
	if err := p.setSignedHeaders(signed); err != nil {
		return p, err
	}
	p.signature = sig
	p.securityToken = r.Header.Get("X-Amz-Security-Token")
	return p, nil
}

// parseQuery reads the presigned form.
func parseQuery(r *http.Request) (parsed, error) {
	p := parsed{Scope: Scope{Presigned: true}}
	q := r.URL.Query()
	var missing []string
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires"} {
		if q.Get(k) == "" {
			missing = append(missing, "'"+k+"'")
		}
	}
	if len(missing) > 0 {
		return p, errIncomplete("AWS query-string parameters must include " + strings.Join(missing, ", ") + ". Re-examine the query-string parameters.")
	}
	if alg := q.Get("X-Amz-Algorithm"); alg != Algorithm {
		return p, errIncomplete(fmt.Sprintf("X-Amz-Algorithm only supports \"%s\", not %q.", Algorithm, alg))
	}
	exp, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || exp < 1 || exp > MaxExpires {
		return p, errIncomplete(fmt.Sprintf("X-Amz-Expires %q must be a number of seconds from 1 to %d (7 days).", q.Get("X-Amz-Expires"), MaxExpires))
	}
	p.expires = exp
	if err := p.setCredential(q.Get("X-Amz-Credential"), "X-Amz-Credential"); err != nil {
		return p, err
	}
	if err := p.setDate(q.Get("X-Amz-Date"), "X-Amz-Date"); err != nil {
		return p, err
	}
	if err := p.setSignedHeaders(q.Get("X-Amz-SignedHeaders")); err != nil {
		return p, err
	}
	p.signature = q.Get("X-Amz-Signature")
	p.securityToken = q.Get("X-Amz-Security-Token")
	if p.securityToken == "" {
		p.securityToken = r.Header.Get("X-Amz-Security-Token")
	}
	return p, nil
}

// setCredential reads AKID/yyyymmdd/region/service/aws4_request.
func (p *parsed) setCredential(cred, where string) error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[0] == "" {
		return errIncomplete(fmt.Sprintf("%s Credential %q is malformed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".", where, cred))
	}
	if _, err := time.Parse("20060102", parts[1]); err != nil {
		return errIncomplete(fmt.Sprintf("Invalid credential date %q. Date is not the required format: yyyyMMdd.", parts[1]))
	}
	if parts[2] == "" || parts[3] == "" {
		return errIncomplete(fmt.Sprintf("%s Credential %q names no region or no service; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".", where, cred))
	}
	p.AccessKeyID, p.Date, p.Region, p.Service, p.terminator = parts[0], parts[1], parts[2], parts[3], parts[4]
	return nil
}

func (p *parsed) setDate(v, name string) error {
	t, err := time.Parse(timeFormat, v)
	if err != nil {
		return errIncomplete(fmt.Sprintf("%s %q is not in ISO 8601 basic format (yyyyMMddTHHmmssZ).", name, v))
	}
	p.amzDate, p.time = v, t
	return nil
}

// setSignedHeaders reads the semicolon-separated list, which must name
// host.
func (p *parsed) setSignedHeaders(v string) error {
	if v == "" {
		return errIncomplete("SignedHeaders is empty; it must list at least 'host'.")
	}
	hs := strings.Split(v, ";")
	host := false
	for _, h := range hs {
		if h == "" || h != strings.ToLower(h) {
			return errIncomplete(fmt.Sprintf("SignedHeaders %q must be lowercase header names separated by ';'.", v))
		}
		if h == "host" || h == ":authority" {
			host = true
		}
	}
	if !host {
		return errIncomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	p.signedHeaders = hs
	return nil
}
