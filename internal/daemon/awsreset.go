package daemon

import (
	"context"
	"encoding/json"
	"net"
	"net/http"

	"github.com/madang-dev/madang/internal/api/v1"
)

// Paths of the AWS endpoint's reset: Moto's (its test suite and tools
// call it between tests) and madang's own, which also says what went.
const (
	motoResetPath   = "/moto-api/reset"
	madangResetPath = "/madang-api/reset"
)

// resetter is the clean slate the AWS endpoint's reset runs; the daemon
// implements it.
type resetter interface {
	Reset(ctx context.Context) (v1.Reset, error)
}

// awsResetHandler routes the reset paths of the AWS endpoint to the reset
// (when enabled) and everything else to the endpoint itself. The reset
// answers as Moto's does: 200 {"status": "ok"} to a POST, 400 to other
// methods; madang's path adds what was removed. It is refused with 404
// when not enabled (the path does not exist, as on AWS) and with 403 to
// a client that is not on this machine (the reset is unauthenticated).
type awsResetHandler struct {
	enabled  bool
	reset    resetter
	endpoint http.Handler
}

func (h awsResetHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != motoResetPath && r.URL.Path != madangResetPath {
		h.endpoint.ServeHTTP(w, r)
		return
	}
	switch {
	case !h.enabled:
		answer(w, http.StatusNotFound, map[string]string{"Error": "the reset endpoint is off; start madang with --aws-reset-endpoint to serve " + r.URL.Path})
		return
	case !loopbackClient(r):
		answer(w, http.StatusForbidden, map[string]string{"Error": "the reset endpoint only serves clients on this machine (loopback addresses)"})
		return
	case r.Method != http.MethodPost:
		answer(w, http.StatusBadRequest, map[string]string{"Error": "Need to POST to reset"})
		return
	}
	res, err := h.reset.Reset(r.Context())
	if err != nil {
		answer(w, http.StatusInternalServerError, map[string]string{"Error": err.Error()})
		return
	}
	if r.URL.Path == madangResetPath {
		answer(w, http.StatusOK, struct {
			Status  string   `json:"status"`
			Removed v1.Reset `json:"removed"`
		}{"ok", res})
		return
	}
	answer(w, http.StatusOK, map[string]string{"status": "ok"})
}

// loopbackClient reports whether the request comes from a loopback
// address.
func loopbackClient(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
