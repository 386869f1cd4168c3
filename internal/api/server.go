package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/logfile"
)

// Server holds what the API serves.
type Server struct {
	Info    Info
	Compute *compute.Service
	ELB     *elbctl.Controller
	Events  *event.Log
	Stacks  Stacks
	Logger  *slog.Logger
	// Token, when set, must be presented as "Authorization: Bearer TOKEN"
	// (used for TCP listeners).
	Token string
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.Info) })
	mux.HandleFunc("POST /v1/stack/plan", s.stack(false))
	mux.HandleFunc("POST /v1/stack/apply", s.stack(true))
	mux.HandleFunc("GET /v1/instances", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.Compute.Instances()) })
	mux.HandleFunc("POST /v1/instances", s.runInstances)
	mux.HandleFunc("GET /v1/instances/{id}", s.describeInstance)
	mux.HandleFunc("POST /v1/instances/{id}/{action}", s.instanceAction)
	mux.HandleFunc("PATCH /v1/instances/{id}/tags", s.tags)
	mux.HandleFunc("GET /v1/instances/{id}/logs", s.logs)
	mux.HandleFunc("GET /v1/resolve/{ref}", s.resolve)
	mux.HandleFunc("GET /v1/images", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.Compute.Images()) })
	mux.HandleFunc("GET /v1/launch-templates", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.Compute.LaunchTemplates()) })
	mux.HandleFunc("GET /v1/groups", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.Compute.Groups()) })
	mux.HandleFunc("GET /v1/target-groups", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.ELB.TargetGroups()) })
	mux.HandleFunc("GET /v1/target-groups/{name}/health", s.targetHealth)
	mux.HandleFunc("GET /v1/load-balancers", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.ELB.LoadBalancers()) })
	mux.HandleFunc("GET /v1/metrics", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.ELB.Metrics()) })
	mux.HandleFunc("GET /v1/events", s.events)
	return s.auth(mux)
}

func (s *Server) auth(next http.Handler) http.Handler {
	if s.Token == "" {
		return next
	}
	want := []byte("Bearer " + s.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeError(w, http.StatusUnauthorized, "Unauthorized", "missing or wrong token; pass --token or set MADANG_TOKEN")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(b)
}

// fail maps an error to a status and machine-readable code.
func (s *Server) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrValidation), errors.Is(err, compute.ErrInvalid):
		writeError(w, http.StatusBadRequest, "ValidationError", err.Error())
	case errors.Is(err, compute.ErrNotFound), errors.Is(err, elbctl.ErrNotFound):
		writeError(w, http.StatusNotFound, "NotFound", err.Error())
	case errors.Is(err, compute.ErrInUse), errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, "Conflict", err.Error())
	default:
		if s.Logger != nil {
			s.Logger.Error("api", "err", err)
		}
		writeError(w, http.StatusInternalServerError, "Internal", err.Error())
	}
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 8<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: request body: %w", ErrValidation, err)
	}
	return nil
}

func (s *Server) stack(apply bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req StackRequest
		if err := decode(r, &req); err != nil {
			s.fail(w, err)
			return
		}
		var res StackResult
		var err error
		if apply {
			res, err = s.Stacks.Apply(r.Context(), req)
		} else {
			res, err = s.Stacks.Plan(r.Context(), req)
		}
		if err != nil {
			s.fail(w, err)
			return
		}
		writeJSON(w, res)
	}
}

func (s *Server) runInstances(w http.ResponseWriter, r *http.Request) {
	var req compute.RunRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	ins, err := s.Compute.Run(r.Context(), req)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, ins)
}

func (s *Server) describeInstance(w http.ResponseWriter, r *http.Request) {
	v, err := s.Compute.Describe(r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, v)
}

func (s *Server) instanceAction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx := r.Context()
	var err error
	switch a := r.PathValue("action"); a {
	case "start":
		err = s.Compute.Start(ctx, id)
	case "stop":
		err = s.Compute.Stop(ctx, id)
	case "reboot":
		err = s.Compute.Reboot(ctx, id)
	case "terminate":
		err = s.Compute.Terminate(ctx, id)
	default:
		err = fmt.Errorf("%w: unknown instance action %q; use start, stop, reboot or terminate", ErrValidation, a)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	in, err := s.Compute.Instance(id)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, in)
}

func (s *Server) tags(w http.ResponseWriter, r *http.Request) {
	var req TagRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	for k := range req.Set {
		if k == "" || len(k) > 128 || strings.HasPrefix(k, "aws:") || strings.HasPrefix(k, "madang:") {
			s.fail(w, fmt.Errorf("%w: tag key %q: keys are 1–128 characters and may not start with aws: or madang:", ErrValidation, k))
			return
		}
	}
	in, err := s.Compute.SetTags(r.Context(), r.PathValue("id"), req.Set, req.Remove)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, in)
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request) {
	ids, err := s.Compute.Resolve(r.PathValue("ref"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, ids)
}

func (s *Server) targetHealth(w http.ResponseWriter, r *http.Request) {
	th, err := s.ELB.Health(r.PathValue("name"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, th)
}

// LogLine is one streamed log line.
type LogLine struct {
	Instance string    `json:"instance"`
	Time     time.Time `json:"time"`
	Stream   string    `json:"stream"`
	Text     string    `json:"text"`
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	path, err := s.Compute.LogPath(id)
	if err != nil {
		s.fail(w, err)
		return
	}
	q := r.URL.Query()
	n := 100
	if v := q.Get("lines"); v != "" {
		if n, err = strconv.Atoi(v); err != nil {
			s.fail(w, fmt.Errorf("%w: lines %q is not a number", ErrValidation, v))
			return
		}
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			s.fail(w, fmt.Errorf("%w: since %q is not an RFC 3339 time", ErrValidation, v))
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	lines, err := logfile.Tail(path, n, since)
	if err != nil && !isNotExist(err) {
		s.fail(w, err)
		return
	}
	last := since
	for _, l := range lines {
		_ = enc.Encode(LogLine{Instance: id, Time: l.Time, Stream: l.Stream, Text: l.Text})
		last = l.Time
	}
	if q.Get("follow") != "1" {
		return
	}
	flush(w)
	ctx := r.Context()
	skip := len(lines) > 0
	_ = logfile.Follow(ctx, path, last, func(l logfile.Line) {
		if skip && !l.Time.After(last) {
			return // already sent
		}
		skip = false
		_ = enc.Encode(LogLine{Instance: id, Time: l.Time, Stream: l.Stream, Text: l.Text})
		flush(w)
	})
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		after, _ = strconv.ParseUint(v, 10, 64)
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	if r.URL.Query().Get("follow") != "1" {
		evs, _ := s.Events.Since(after)
		for _, e := range evs {
			_ = enc.Encode(e)
		}
		return
	}
	flush(w)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	_ = s.Events.Follow(ctx, after, func(e event.Event) error {
		if err := enc.Encode(e); err != nil {
			return err
		}
		flush(w)
		return nil
	})
}
