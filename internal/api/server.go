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

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/compute"
	elbctl "github.com/madang-dev/madang/internal/elb/controller"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/health"
	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/loggroup"
	"github.com/madang-dev/madang/internal/proxy"
)

// Instances is what the API needs to list, describe and drive instances.
// Errors are [fault.Error]s (or wrap them) so the API can answer with the
// right status; *compute.Service implements it.
type Instances interface {
	// Instances returns every instance with live facts, terminated ones
	// included.
	Instances() []compute.View
	// Describe returns one instance with live facts and limits.
	Describe(id string) (compute.View, error)
	// Instance returns one stored instance.
	Instance(id string) (compute.Instance, error)
	// Resolve turns an instance id or a group name into instance ids.
	Resolve(ref string) ([]string, error)
	// Run launches instances (RunInstances).
	Run(ctx context.Context, req compute.RunRequest) ([]compute.Instance, error)
	// CreateImage makes an image from an instance (CreateImage).
	CreateImage(ctx context.Context, req compute.CreateImageRequest) (compute.Image, error)
	// Start, Stop, Reboot and Terminate are the EC2 lifecycle actions.
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
	Reboot(ctx context.Context, id string) error
	Terminate(ctx context.Context, id string) error
	// SetTags adds or replaces tags and removes the keys in remove.
	SetTags(ctx context.Context, id string, set map[string]string, remove []string) (compute.Instance, error)
	// LogPath returns the instance's log file.
	LogPath(id string) (string, error)
}

// Catalog is what the API needs to list images, launch templates and
// instance groups; *compute.Service implements it.
type Catalog interface {
	Images() []compute.Image
	LaunchTemplates() []compute.LaunchTemplate
	Groups() []compute.Group
}

// Compute is the compute service as the API sees it.
type Compute interface {
	Instances
	Catalog
}

// AutoScaling is what the API needs of the Auto Scaling controller;
// *autoscaling.Service implements it. Errors are fault errors.
type AutoScaling interface {
	Groups() []autoscaling.GroupView
	Group(name string) (autoscaling.GroupView, error)
	// Activities returns a group's activities, newest first, at most max
	// (0: all kept).
	Activities(ctx context.Context, group string, max int) ([]autoscaling.Activity, error)
	SetDesired(ctx context.Context, name string, n int, honorCooldown bool) error
	// ExecutePolicy runs a simple or step scaling policy now
	// (ExecutePolicy); policy is its name or ARN.
	ExecutePolicy(ctx context.Context, group, policy string, opts autoscaling.ExecuteOptions) (autoscaling.Execution, error)
	CompleteLifecycleAction(ctx context.Context, group, hook, instanceID, token, result string) error
	RecordLifecycleActionHeartbeat(ctx context.Context, group, hook, instanceID, token string) error
	// StartRefresh, Refreshes, CancelRefresh and RollbackRefresh are the
	// instance refresh actions.
	StartRefresh(ctx context.Context, group string, prefs autoscaling.RefreshPreferences) (autoscaling.Refresh, error)
	Refreshes(ctx context.Context, group string) ([]autoscaling.Refresh, error)
	CancelRefresh(ctx context.Context, group string) (autoscaling.Refresh, error)
	RollbackRefresh(ctx context.Context, group string) (autoscaling.Refresh, error)
	// EnterStandby, ExitStandby, SetInstanceProtection, AttachInstances
	// and DetachInstances move instances by hand; SetMetricsCollection
	// enables or disables group metrics.
	EnterStandby(ctx context.Context, group string, ids []string, decrement bool) ([]autoscaling.Activity, error)
	ExitStandby(ctx context.Context, group string, ids []string) ([]autoscaling.Activity, error)
	SetInstanceProtection(ctx context.Context, group string, ids []string, protected bool) error
	AttachInstances(ctx context.Context, group string, ids []string) ([]autoscaling.Activity, error)
	DetachInstances(ctx context.Context, group string, ids []string, decrement bool) ([]autoscaling.Activity, error)
	SetMetricsCollection(ctx context.Context, group string, enable bool, granularity string, metrics []string) error
}

// LoadBalancing is what the API needs of the load balancer control plane;
// *controller.Controller implements it.
type LoadBalancing interface {
	TargetGroups() []elbctl.TargetGroup
	LoadBalancers() []elbctl.LoadBalancer
	// Health returns a target group's targets' health, or a NotFound
	// fault for an unknown group.
	Health(group string) ([]health.TargetHealth, error)
	Metrics() []proxy.Metric
	// Register registers instance targets (AWS's RegisterTargets): an
	// unknown target group or instance is a NotFound fault, a bad port
	// Invalid, and an error registers nothing.
	Register(ctx context.Context, regs []elbctl.Registration) error
	// Deregister removes targets from a target group (AWS's
	// DeregisterTargets); ids that are not registered are ignored.
	Deregister(ctx context.Context, tg string, ids []string) error
}

// EventLog is what the API needs of the event log; *event.Log implements
// it.
type EventLog interface {
	// Since returns the events after seq.
	Since(after uint64) ([]event.Event, <-chan struct{})
	// Follow calls fn for every event after seq, old and new, until ctx
	// ends or fn fails.
	Follow(ctx context.Context, after uint64, fn func(event.Event) error) error
}

// Server holds what the API serves.
type Server struct {
	Info    Info
	Compute Compute
	ELB     LoadBalancing
	Events  EventLog
	Stacks  Stacks
	// DataPlanePID, if set, returns the pid of the process that serves
	// the load balancers' listeners, for Info.
	DataPlanePID func() int
	// Logs lists the log streams for CloudWatch Logs routes (nil: none);
	// LogRetention returns a log group's retention in days.
	Logs         loggroup.Source
	LogRetention func(group string) int
	// CloudWatch serves metrics, alarms and dashboards (nil: none).
	CloudWatch *cloudwatch.Service
	// AutoScaling serves the Auto Scaling routes (nil: none).
	AutoScaling AutoScaling
	// Resources serves the generic per-kind routes (nil: none).
	Resources Resources
	// IAM serves the access key and AWS settings routes (nil: none);
	// AWS describes the AWS-compatible endpoint for the settings.
	IAM AccessKeys
	AWS AWSEndpoint
	// Reset serves GET and POST /v1/reset (nil: none).
	Reset Resetter
	// Console serves the web console's settings and sign-in links (nil:
	// none).
	Console Console
	// Logger receives internal errors (nil: discarded).
	Logger *slog.Logger
	// Token, when set, must be presented as "Authorization: Bearer TOKEN"
	// (used for TCP listeners).
	Token string
}

// Handler returns the API's HTTP handler: the routes of [Server.Mount]
// behind the token check.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Mount(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeFault(w, fault.NotFoundf("", "", "no API route %s %s", r.Method, r.URL.Path).WithHint("the routes are under /v1/"))
	})
	return s.auth(mux)
}

// Mount registers the native routes on mux. They are literal paths below
// /v1/, so generic routes such as GET /v1/{kind} and GET /v1/{kind}/{name}
// may be registered on the same mux: the literal ones win where both
// match.
func (s *Server) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/info", func(w http.ResponseWriter, r *http.Request) {
		info := s.Info
		if s.DataPlanePID != nil {
			info.DataPlanePID = s.DataPlanePID()
		}
		writeJSON(w, info)
	})
	mux.HandleFunc("POST /v1/stack/plan", s.stack(false))
	mux.HandleFunc("POST /v1/stack/apply", s.stack(true))
	mux.HandleFunc("GET /v1/instances", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, convertList(s.Compute.Instances(), viewOf))
	})
	mux.HandleFunc("POST /v1/instances", s.runInstances)
	mux.HandleFunc("GET /v1/instances/{id}", s.describeInstance)
	mux.HandleFunc("POST /v1/instances/{id}/{action}", s.instanceAction)
	mux.HandleFunc("PATCH /v1/instances/{id}/tags", s.tags)
	mux.HandleFunc("GET /v1/instances/{id}/logs", s.logs)
	mux.HandleFunc("GET /v1/resolve/{ref}", s.resolve)
	mux.HandleFunc("GET /v1/images", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, convertList(s.Compute.Images(), imageOf))
	})
	mux.HandleFunc("POST /v1/images", s.createImage)
	mux.HandleFunc("GET /v1/launch-templates", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, convertList(s.Compute.LaunchTemplates(), launchTemplateOf))
	})
	mux.HandleFunc("GET /v1/instance-types", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, instanceTypes())
	})
	mux.HandleFunc("GET /v1/availability-zones", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, autoscaling.Zones())
	})
	mux.HandleFunc("GET /v1/groups", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, convertList(s.Compute.Groups(), instanceGroupOf))
	})
	mux.HandleFunc("GET /v1/target-groups", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, convertList(s.ELB.TargetGroups(), targetGroupOf))
	})
	mux.HandleFunc("GET /v1/target-groups/{name}/health", s.targetHealth)
	mux.HandleFunc("POST /v1/target-groups/{name}/targets", s.registerTargets)
	mux.HandleFunc("POST /v1/target-groups/{name}/targets/deregister", s.deregisterTargets)
	mux.HandleFunc("GET /v1/load-balancers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, convertList(s.ELB.LoadBalancers(), loadBalancerOf))
	})
	mux.HandleFunc("GET /v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, convertList(s.ELB.Metrics(), metricOf))
	})
	mux.HandleFunc("GET /v1/events", s.events)
	s.mountCloudWatch(mux)
	s.mountAutoScaling(mux)
	s.mountLogs(mux)
	s.mountResources(mux)
	s.mountIAM(mux)
	s.mountReset(mux)
	s.mountConsole(mux)
}

func (s *Server) auth(next http.Handler) http.Handler {
	if s.Token == "" {
		return next
	}
	want := []byte("Bearer " + s.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			writeFault(w, fault.New(fault.Unauthorized, "", "", "missing or wrong token", "pass --token or set MADANG_TOKEN"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// wire maps a fault code to the API's status and error code.
var wire = map[fault.Code]struct {
	status int
	code   string
}{
	fault.Invalid:       {http.StatusBadRequest, v1.CodeValidation},
	fault.Unauthorized:  {http.StatusUnauthorized, v1.CodeUnauthorized},
	fault.NotFound:      {http.StatusNotFound, v1.CodeNotFound},
	fault.AlreadyExists: {http.StatusConflict, v1.CodeAlreadyExists},
	fault.Conflict:      {http.StatusConflict, v1.CodeConflict},
	fault.InUse:         {http.StatusConflict, v1.CodeInUse},
	fault.Unavailable:   {http.StatusServiceUnavailable, v1.CodeUnavailable},
	fault.Internal:      {http.StatusInternalServerError, v1.CodeInternal},
}

// errorAnswer is the status and body the API answers err with.
func errorAnswer(err error) (int, v1.ErrorBody) {
	m, ok := wire[fault.CodeOf(err)]
	if !ok {
		m = wire[fault.Internal]
	}
	d := v1.ErrorDetail{Code: m.code, Message: err.Error()}
	if fe, ok := fault.As(err); ok {
		d.Kind, d.ID = fe.Kind, fe.ID
	}
	if top, ok := err.(*fault.Error); ok && top.Message != "" {
		d.Message, d.Hint = top.Message, top.Hint
	} else if h := fault.HintOf(err); h != "" {
		d.Hint = h
		d.Message = strings.TrimSuffix(d.Message, "; "+h)
	}
	return m.status, v1.ErrorBody{Error: d}
}

func writeFault(w http.ResponseWriter, err error) {
	status, body := errorAnswer(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// fail answers with err, logging errors that are not the caller's doing.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if c := fault.CodeOf(err); (c == fault.Internal || c == fault.Unavailable) && s.Logger != nil {
		s.Logger.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeFault(w, err)
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
		var req v1.StackRequest
		if err := decode(r, &req); err != nil {
			s.fail(w, r, err)
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
			s.fail(w, r, err)
			return
		}
		writeJSON(w, stackResultOf(res))
	}
}

func (s *Server) runInstances(w http.ResponseWriter, r *http.Request) {
	var req v1.RunRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	creq, err := runRequestOf(req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if creq.Zone == "" && creq.Group == "" {
		// As EC2 picks a default subnet: the zone with the fewest
		// instances.
		creq.Zone = quietestZone(s.Compute.Instances())
	}
	ins, err := s.Compute.Run(r.Context(), creq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, convertList(ins, instanceOf))
}

// quietestZone is the zone with the fewest live instances (the first of
// equals).
func quietestZone(ins []compute.View) string {
	zones := autoscaling.Zones()
	if len(zones) == 0 {
		return ""
	}
	n := map[string]int{}
	for _, v := range ins {
		if v.State != compute.StateTerminated {
			n[v.Zone]++
		}
	}
	best := zones[0]
	for _, z := range zones[1:] {
		if n[z] < n[best] {
			best = z
		}
	}
	return best
}

func (s *Server) createImage(w http.ResponseWriter, r *http.Request) {
	var req v1.CreateImageRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.InstanceID == "" || req.Name == "" {
		s.fail(w, r, fault.Invalidf(fault.KindImage, req.Name, "instanceId and name are required").WithHint("give the instance to snapshot and the new image's name"))
		return
	}
	im, err := s.Compute.CreateImage(r.Context(), compute.CreateImageRequest{InstanceID: req.InstanceID, Name: req.Name,
		Description: req.Description, NoReboot: req.NoReboot})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, imageOf(im))
}

func (s *Server) describeInstance(w http.ResponseWriter, r *http.Request) {
	v, err := s.Compute.Describe(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, viewOf(v))
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
		err = fault.Invalidf(fault.KindInstance, id, "unknown instance action %q", a).WithHint("use start, stop, reboot or terminate")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	in, err := s.Compute.Instance(id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, instanceOf(in))
}

func (s *Server) tags(w http.ResponseWriter, r *http.Request) {
	var req v1.TagRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	for k := range req.Set {
		if k == "" || len(k) > 128 || strings.HasPrefix(k, "aws:") || strings.HasPrefix(k, "madang:") {
			s.fail(w, r, fault.Invalidf(fault.KindInstance, id, "tag key %q is not allowed", k).WithHint("keys are 1–128 characters and may not start with aws: or madang:"))
			return
		}
	}
	in, err := s.Compute.SetTags(r.Context(), id, req.Set, req.Remove)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, instanceOf(in))
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request) {
	ids, err := s.Compute.Resolve(r.PathValue("ref"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ids == nil {
		ids = []string{}
	}
	writeJSON(w, ids)
}

func (s *Server) targetHealth(w http.ResponseWriter, r *http.Request) {
	th, err := s.ELB.Health(r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, convertList(th, targetHealthOf))
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	path, err := s.Compute.LogPath(id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	n := 100
	if v := q.Get("lines"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			s.fail(w, r, fault.Invalidf(fault.KindInstance, id, "lines %q is not a number of lines", v).WithHint("use 0 (all) or more"))
			return
		}
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			s.fail(w, r, fault.Invalidf(fault.KindInstance, id, "since %q is not an RFC 3339 time", v))
			return
		}
	}
	lines, err := logfile.Tail(path, n, since)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	last := since
	for _, l := range lines {
		_ = enc.Encode(v1.LogLine{Instance: id, Time: l.Time, Stream: l.Stream, Text: l.Text})
		last = l.Time
	}
	if q.Get("follow") != "1" {
		return
	}
	flush(w)
	skip := len(lines) > 0
	_ = logfile.Follow(r.Context(), path, last, func(l logfile.Line) {
		if skip && !l.Time.After(last) {
			return // already sent
		}
		skip = false
		_ = enc.Encode(v1.LogLine{Instance: id, Time: l.Time, Stream: l.Stream, Text: l.Text})
		flush(w)
	})
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// events serves GET /v1/events: JSON Lines of the kept events after
// ?after=SEQ and not before ?since=TIME (RFC 3339), and with follow=1 the
// new ones as they happen.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		var err error
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			s.fail(w, r, fault.Invalidf("", "", "after %q is not an event sequence number", v))
			return
		}
	}
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		var err error
		if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			s.fail(w, r, fault.Invalidf("", "", "since %q is not an RFC 3339 time", v).WithHint("e.g. 2026-12-03T19:00:00.5Z"))
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	if r.URL.Query().Get("follow") != "1" {
		evs, _ := s.Events.Since(after)
		for _, e := range evs {
			if !e.Time.Before(since) {
				_ = enc.Encode(eventOf(e))
			}
		}
		return
	}
	flush(w)
	_ = s.Events.Follow(r.Context(), after, func(e event.Event) error {
		if e.Time.Before(since) {
			return nil
		}
		if err := enc.Encode(eventOf(e)); err != nil {
			return err
		}
		flush(w)
		return nil
	})
}

// Interface guards.
var (
	_ Compute       = (*compute.Service)(nil)
	_ LoadBalancing = (*elbctl.Controller)(nil)
	_ EventLog      = (*event.Log)(nil)
	_ AutoScaling   = (*autoscaling.Service)(nil)
)
