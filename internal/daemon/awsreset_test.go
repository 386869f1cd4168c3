package daemon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/api/v1"
)

// countingReset counts resets and answers with res or err.
type countingReset struct {
	n   int
	res v1.Reset
	err error
}

func (c *countingReset) Reset(context.Context) (v1.Reset, error) {
	c.n++
	return c.res, c.err
}

func TestAWSResetHandler(t *testing.T) {
	tests := []struct {
		name       string
		enabled    bool
		method     string
		path       string
		remote     string
		resetErr   error
		wantStatus int
		wantBody   string // a substring of the answer
		wantResets int
	}{
		{name: "moto reset", enabled: true, method: "POST", path: motoResetPath, remote: "127.0.0.1:5000",
			wantStatus: 200, wantBody: `{"status":"ok"}`, wantResets: 1},
		{name: "madang reset says what went", enabled: true, method: "POST", path: madangResetPath, remote: "[::1]:5000",
			wantStatus: 200, wantBody: `"removed":{"resources":3`, wantResets: 1},
		{name: "off by default", enabled: false, method: "POST", path: motoResetPath, remote: "127.0.0.1:5000",
			wantStatus: 404, wantBody: "--aws-reset-endpoint"},
		{name: "not from this machine", enabled: true, method: "POST", path: motoResetPath, remote: "192.0.2.7:5000",
			wantStatus: 403, wantBody: "loopback"},
		{name: "GET is refused as Moto refuses it", enabled: true, method: "GET", path: motoResetPath, remote: "127.0.0.1:5000",
			wantStatus: 400, wantBody: "Need to POST"},
		{name: "reset fails", enabled: true, method: "POST", path: motoResetPath, remote: "127.0.0.1:5000", resetErr: errors.New("disk full"),
			wantStatus: 500, wantBody: "disk full", wantResets: 1},
		{name: "other paths reach the endpoint", enabled: true, method: "POST", path: "/", remote: "127.0.0.1:5000",
			wantStatus: 299, wantBody: "endpoint"},
		{name: "a path below the reset reaches the endpoint", enabled: true, method: "POST", path: motoResetPath + "/x", remote: "127.0.0.1:5000",
			wantStatus: 299, wantBody: "endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &countingReset{res: v1.Reset{Resources: 3}, err: tc.resetErr}
			h := awsResetHandler{enabled: tc.enabled, reset: r, endpoint: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(299)
				_, _ = io.WriteString(w, "endpoint")
			})}
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.RemoteAddr = tc.remote
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.wantStatus || !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Errorf("%s %s from %s = %d %s, want %d with %q", tc.method, tc.path, tc.remote, w.Code, w.Body, tc.wantStatus, tc.wantBody)
			}
			if r.n != tc.wantResets {
				t.Errorf("resets = %d, want %d", r.n, tc.wantResets)
			}
		})
	}
}
