package dataplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/health"
)

// maxChangesWait bounds how long one changes request waits.
const maxChangesWait = time.Minute

// server is the control API of a data-plane process over its unix
// socket:
//
//	GET  /v1/status                      Status
//	POST /v1/config                      Config; 200, or 409 with the error (the old one keeps serving)
//	GET  /v1/health?group=NAME           []health.TargetHealth
//	GET  /v1/health/snapshot             []health.Record
//	POST /v1/health/restore              []health.Record
//	GET  /v1/health/changes?epoch=&after=&wait=   Changes (long poll)
//	GET  /v1/metrics                     []proxy.Metric
//	GET  /v1/metrics/snapshot            lbmetrics.Snapshot
//	GET  /v1/inflight?target=ID          {"inFlight": n}
//	POST /v1/shutdown?grace=30s          drains, answers, then the process exits
//	POST /v1/handover                    see handover.go
//
// Errors are {"error": "..."} with a 4xx or 5xx status.
type server struct {
	eng    *Engine
	log    *slog.Logger
	status func() Status
	// stop asks the process to drain (within grace) and exit; release
	// is the same after a handover. Both are called at most once
	// effectively and do not block.
	stop    func(grace time.Duration, answered chan<- error)
	release func()

	// handoverMu is held while a handover is in progress: no
	// configuration may change under it.
	handoverMu sync.Mutex
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.status())
	})
	mux.HandleFunc("POST /v1/config", s.applyConfig)
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		th, _ := s.eng.Health(r.Context(), r.URL.Query().Get("group"))
		if th == nil {
			th = []health.TargetHealth{}
		}
		writeJSON(w, http.StatusOK, th)
	})
	mux.HandleFunc("GET /v1/health/groups", func(w http.ResponseWriter, r *http.Request) {
		out, _ := s.eng.HealthOf(r.Context(), r.URL.Query()["group"])
		for g, th := range out {
			if th == nil {
				out[g] = []health.TargetHealth{}
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /v1/health/snapshot", func(w http.ResponseWriter, r *http.Request) {
		recs, _ := s.eng.Snapshot(r.Context())
		writeJSON(w, http.StatusOK, recs)
	})
	mux.HandleFunc("POST /v1/health/restore", func(w http.ResponseWriter, r *http.Request) {
		var recs []health.Record
		if err := json.NewDecoder(r.Body).Decode(&recs); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("decode health records: %w", err))
			return
		}
		_ = s.eng.Restore(r.Context(), recs)
		writeJSON(w, http.StatusOK, struct{}{})
	})
	mux.HandleFunc("GET /v1/health/changes", s.changes)
	mux.HandleFunc("GET /v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := s.eng.Metrics(r.Context())
		writeJSON(w, http.StatusOK, ms)
	})
	mux.HandleFunc("GET /v1/metrics/snapshot", func(w http.ResponseWriter, r *http.Request) {
		s, _ := s.eng.MetricsSnapshot(r.Context())
		writeJSON(w, http.StatusOK, s)
	})
	mux.HandleFunc("GET /v1/inflight", func(w http.ResponseWriter, r *http.Request) {
		n, _ := s.eng.InFlight(r.Context(), r.URL.Query().Get("target"))
		writeJSON(w, http.StatusOK, inFlight{InFlight: n})
	})
	mux.HandleFunc("POST /v1/shutdown", s.shutdown)
	mux.HandleFunc("POST /v1/handover", s.handover)
	return mux
}

type inFlight struct {
	InFlight int64 `json:"inFlight"`
}

type apiError struct {
	Error string `json:"error"`
}

func (s *server) applyConfig(w http.ResponseWriter, r *http.Request) {
	var cfg Config
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("decode config: %w", err))
		return
	}
	if !s.handoverMu.TryLock() {
		writeError(w, http.StatusServiceUnavailable, errors.New("dataplane: handing over to a new data plane; apply the configuration there"))
		return
	}
	defer s.handoverMu.Unlock()
	if err := s.eng.Apply(r.Context(), cfg); err != nil {
		writeError(w, http.StatusConflict, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *server) changes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, _ := strconv.ParseUint(q.Get("after"), 10, 64)
	wait, _ := time.ParseDuration(q.Get("wait"))
	wait = min(wait, maxChangesWait)
	max, _ := strconv.Atoi(q.Get("max"))
	writeJSON(w, http.StatusOK, s.eng.Changes(r.Context(), q.Get("epoch"), after, max, wait))
}

func (s *server) shutdown(w http.ResponseWriter, r *http.Request) {
	grace := 30 * time.Second
	if g, err := time.ParseDuration(r.URL.Query().Get("grace")); err == nil && g > 0 {
		grace = g
	}
	answered := make(chan error, 1)
	s.stop(grace, answered)
	select {
	case err := <-answered:
		if err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	case <-r.Context().Done():
	}
}

func (s *server) handover(w http.ResponseWriter, r *http.Request) {
	if !s.handoverMu.TryLock() {
		writeError(w, http.StatusConflict, errors.New("dataplane: a handover is already in progress"))
		return
	}
	defer s.handoverMu.Unlock()
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeError(w, http.StatusInternalServerError, errors.New("dataplane: connection cannot be taken over"))
		return
	}
	addrs := s.eng.Listeners()
	files, err := s.eng.socks.files(addrs)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	defer func() { closeFiles(files) }()
	recs, _ := s.eng.Snapshot(r.Context())
	st := handoverState{Config: s.eng.Config(), Health: recs, Listeners: addrs}
	c, _, err := hj.Hijack()
	if err != nil {
		s.log.Warn("handover", "err", err)
		return
	}
	defer c.Close()
	uc, ok := c.(*net.UnixConn)
	if !ok {
		s.log.Warn("handover over a connection that is not a unix socket")
		return
	}
	_ = uc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if err := sendHandover(uc, st, files); err != nil {
		s.log.Warn("handover", "err", err)
		return
	}
	closeFiles(files)
	files = nil
	if err := awaitGo(uc); err != nil {
		s.log.Warn("handover aborted; still serving", "err", err)
		return
	}
	s.log.Info("handed over to a new data plane; draining", "listeners", len(addrs))
	s.release()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, apiError{Error: err.Error()})
}

// serveControl serves h on ln until ctx ends, then closes it.
func serveControl(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) (wait func()) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("control socket", "err", err)
		}
	}()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		_ = hs.Close()
	}()
	return func() { <-stopped; <-done }
}
