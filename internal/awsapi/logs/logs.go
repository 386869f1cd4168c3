// Package logs serves CloudWatch Logs on madang's AWS endpoint, backed by
// madang's log groups: the instances' logs (one stream per instance in
// the instance group's log group), the load balancers' access logs, the
// daemon's log, and streams written with PutLogEvents (package logstore).
// Log group settings (retention) and metric filters created here are
// hand-made resources; a stack's can be read but not changed.
package logs

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/model"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	cw "github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/loggroup"
	"github.com/madang-dev/madang/internal/logstore"
)

// Settings is what the Logs operations read of madang's CloudWatch
// service; *cloudwatch.Service implements it.
type Settings interface {
	// LogGroups returns the log group settings, sorted by name.
	LogGroups() []cw.LogGroup
	// MetricFilters returns the metric filters, sorted by name.
	MetricFilters() []cw.MetricFilter
}

// Resources creates, replaces and deletes resources made outside stack
// files; the daemon implements it. A resource of a stack is refused with a
// Conflict fault, one in use with InUse.
type Resources interface {
	PutResource(ctx context.Context, kind string, spec any) ([]string, error)
	DeleteResource(ctx context.Context, kind, name string) error
}

// Streams stores the log streams written through the API;
// *logstore.Store implements it. Errors wrap logstore's ErrStreamExists,
// ErrStreamNotFound and ErrInvalid.
type Streams interface {
	CreateStream(group, stream string) error
	DeleteStream(group, stream string) error
	DeleteGroup(group string) error
	Put(group, stream string, events []logstore.Event, retentionDays int) (logstore.Rejected, error)
}

// Options configure the Logs service.
type Options struct {
	// Logs lists every log stream, the API-written ones included.
	Logs      loggroup.Source
	Settings  Settings
	Resources Resources
	Streams   Streams
	// LiveTailLimit is how long a StartLiveTail session lasts before it
	// ends with SessionTimeoutException; DefaultLiveTailLimit when zero.
	LiveTailLimit time.Duration
}

// Service is the CloudWatch Logs service of the endpoint.
type Service struct {
	logs      loggroup.Source
	settings  Settings
	resources Resources
	streams   Streams
	// liveTailLimit is how long a live tail session lasts.
	liveTailLimit time.Duration
}

// New returns the CloudWatch Logs service for the endpoint.
func New(opts Options) (awsapi.Service, error) {
	m, err := model.Load("logs")
	if err != nil {
		return awsapi.Service{}, err
	}
	s := &Service{logs: opts.Logs, settings: opts.Settings, resources: opts.Resources, streams: opts.Streams, liveTailLimit: opts.LiveTailLimit}
	if s.liveTailLimit <= 0 {
		s.liveTailLimit = DefaultLiveTailLimit
	}
	return awsapi.Service{Name: "logs", Model: m, Handlers: map[string]awsapi.Handler{
		"DescribeLogGroups":     s.describeLogGroups,
		"CreateLogGroup":        s.createLogGroup,
		"DeleteLogGroup":        s.deleteLogGroup,
		"PutRetentionPolicy":    s.putRetentionPolicy,
		"DeleteRetentionPolicy": s.deleteRetentionPolicy,
		"DescribeLogStreams":    s.describeLogStreams,
		"CreateLogStream":       s.createLogStream,
		"DeleteLogStream":       s.deleteLogStream,
		"PutLogEvents":          s.putLogEvents,
		"GetLogEvents":          s.getLogEvents,
		"FilterLogEvents":       s.filterLogEvents,
		"StartLiveTail":         s.startLiveTail,
		"PutMetricFilter":       s.putMetricFilter,
		"DescribeMetricFilters": s.describeMetricFilters,
		"DeleteMetricFilter":    s.deleteMetricFilter,
	}}, nil
}

// group is a log group as the API shows it: its streams and its setting.
type group struct {
	name    string
	streams []loggroup.StreamInfo
	setting *cw.LogGroup
}

// apiOnly reports whether every stream of the group was written through
// the API (so deleting the group deletes them).
func (g *group) apiOnly() bool {
	for _, st := range g.streams {
		if st.Format != loggroup.FormatEvent {
			return false
		}
	}
	return true
}

// groups returns every log group, sorted by name.
func (s *Service) groups() []*group {
	byName := map[string]*group{}
	get := func(name string) *group {
		g := byName[name]
		if g == nil {
			g = &group{name: name}
			byName[name] = g
		}
		return g
	}
	for _, st := range s.logs.Streams() {
		g := get(st.Group)
		g.streams = append(g.streams, st)
	}
	for _, lg := range s.settings.LogGroups() {
		get(lg.Spec.Name).setting = &lg
	}
	out := make([]*group, 0, len(byName))
	for _, g := range byName {
		slices.SortFunc(g.streams, func(a, b loggroup.StreamInfo) int { return strings.Compare(a.Stream, b.Stream) })
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *group) int { return strings.Compare(a.name, b.name) })
	return out
}

// group finds a log group by name (ResourceNotFoundException otherwise).
func (s *Service) group(name string) (*group, error) {
	if name == "" {
		return nil, protocol.Errorf("InvalidParameterException", "logGroupName is required; give the log group, e.g. /madang/instances/web")
	}
	for _, g := range s.groups() {
		if g.name == name {
			return g, nil
		}
	}
	return nil, protocol.Errorf("ResourceNotFoundException", "The specified log group does not exist: %s", name)
}

// groupName reads logGroupName or logGroupIdentifier (a name or an ARN).
func groupName(in protocol.Struct) string {
	if n := in.String("logGroupName"); n != "" {
		return n
	}
	id := in.String("logGroupIdentifier")
	if rest, ok := strings.CutPrefix(id, "arn:"); ok {
		if _, after, ok := strings.Cut(rest, ":log-group:"); ok {
			return strings.TrimSuffix(after, ":*")
		}
	}
	return id
}

func (g *group) retention() int {
	if g.setting != nil {
		return g.setting.Spec.RetentionInDays
	}
	return 0
}

func (g *group) owner() string {
	if g.setting != nil {
		return g.setting.Owner
	}
	return ""
}

// logsError maps madang's errors onto CloudWatch Logs' codes.
func logsError(err error) error {
	if err == nil {
		return nil
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe
	}
	switch {
	case errors.Is(err, logstore.ErrStreamExists):
		return protocol.Errorf("ResourceAlreadyExistsException", "The specified log stream already exists: %s", err.Error())
	case errors.Is(err, logstore.ErrStreamNotFound):
		return protocol.Errorf("ResourceNotFoundException", "The specified log stream does not exist: %s", err.Error())
	case errors.Is(err, logstore.ErrInvalid):
		return protocol.Errorf("InvalidParameterException", "%s", strings.TrimPrefix(err.Error(), "logstore: invalid batch: "))
	}
	if f, ok := fault.As(err); ok {
		switch f.Code {
		case fault.NotFound:
			return protocol.Errorf("ResourceNotFoundException", "%s", f.Error())
		case fault.Conflict, fault.InUse:
			return protocol.Errorf("OperationAbortedException", "%s", f.Error())
		case fault.AlreadyExists:
			return protocol.Errorf("ResourceAlreadyExistsException", "%s", f.Error())
		case fault.Invalid:
			return protocol.Errorf("InvalidParameterException", "%s", f.Error())
		}
	}
	return err
}

// notOwned refuses changes to a resource a stack owns.
func notOwned(title, name, owner string) error {
	if owner == "" {
		return nil
	}
	return protocol.Errorf("OperationAbortedException", "%s '%s' belongs to madang stack '%s'; change it in that stack's file (madang apply), not through the API", title, name, owner)
}

// limit reads a limit member (1 to most, def when absent).
func limit(in protocol.Struct, def, most int) (int, error) {
	if !in.Has("limit") {
		return def, nil
	}
	n := int(in.Int("limit"))
	if n < 1 || n > most {
		return 0, protocol.Errorf("InvalidParameterException", "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d", n, most)
	}
	return n, nil
}

// page cuts items to one page of size after nextToken (an offset).
func page[T any](items []T, token string, size int) ([]T, string, error) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", protocol.Errorf("InvalidParameterException", "The nextToken '%s' is not valid; pass the nextToken of the previous page unchanged", token)
		}
		start = n
	}
	items = items[start:]
	if len(items) <= size {
		return items, "", nil
	}
	return items[:size], strconv.Itoa(start + size), nil
}

// groupNameChars are the characters of CloudWatch Logs' rule for log
// group names; validGroupName adds its length, 1 to 512. (A counted
// repetition such as {1,512} would compile into 512 copies of the class
// at every start of the binary.)
var groupNameChars = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)

// validGroupName reports whether name follows CloudWatch Logs' rule for
// log group names.
func validGroupName(name string) bool {
	return len(name) <= 512 && groupNameChars.MatchString(name)
}

// groupARN is a log group's ARN, with the ":*" CloudWatch Logs adds.
func groupARN(call *awsapi.Call, name string) string {
	return "arn:aws:logs:" + call.Region + ":" + call.Caller.AccountID + ":log-group:" + name
}
