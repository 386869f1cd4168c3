// Package loggroup presents madang's log files as CloudWatch Logs log
// groups and log streams, without copying them: FilterLogEvents (Filter),
// live tail (Tail), metric filters (Follower) and retention (Expire) read
// the files the instances and load balancers already write.
//
// # Naming
//
// The instances of instance group G form the log group
// "/madang/instances/G" (InstanceGroup); instances outside any group form
// "/madang/instances". Each instance is one log stream named by its id,
// backed by its instance log (see package logfile) and that log's rotated
// files. A load balancer L's access log is the log group "/madang/elb/L"
// (LoadBalancerGroup) with the single stream "access". The daemon's own
// log (HOME/daemon.log under `madang up`) is the log group "/madang/daemon"
// with the stream "daemon" (DaemonLogStream); the daemon's event log lives
// in memory only, so it is no log group.
//
// # Timestamps
//
// An event's timestamp comes from its line: an instance log line's leading
// RFC 3339 time (FormatInstance), an access log entry's time field, the
// second field (FormatAccess), or a leading RFC 3339 time (FormatText). A
// line without one takes the time of the nearest timestamped line before
// it in the stream; lines before the stream's first timestamped line take
// that line's time and, when the files read hold no timestamped line at
// all, the modification time of the file that holds them.
//
// Lines are read only when whole: the unterminated end of a stream's
// current file is left for a later read.
package loggroup

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Log group naming.
const (
	// InstancesGroup is the log group of instances outside any instance
	// group, and the prefix of the per-group ones.
	InstancesGroup = "/madang/instances"
	// LoadBalancersPrefix prefixes the log groups of load balancers'
	// access logs.
	LoadBalancersPrefix = "/madang/elb/"
	// AccessStream is the stream name of a load balancer's access log.
	AccessStream = "access"
	// DaemonGroup and DaemonStream name the daemon's own log.
	DaemonGroup  = "/madang/daemon"
	DaemonStream = "daemon"
)

// InstanceGroup returns the log group of the instances of instance group
// group ("" for instances outside any group).
func InstanceGroup(group string) string {
	if group == "" {
		return InstancesGroup
	}
	return InstancesGroup + "/" + group
}

// LoadBalancerGroup returns the log group of load balancer lb's access
// log.
func LoadBalancerGroup(lb string) string { return LoadBalancersPrefix + lb }

// Formats: how a stream's lines are read.
const (
	// FormatInstance is an instance log: "<RFC3339Nano> <out|err|sys>
	// <text>"; the event's message is the text and Origin the stream.
	FormatInstance = "instance"
	// FormatAccess is a load balancer access log; the event's message is
	// the whole line and its time the second field.
	FormatAccess = "access"
	// FormatSlog is a log/slog text handler's output: the time is the
	// leading time= attribute, the message the whole line.
	FormatSlog = "slog"
	// FormatEvent is an event written through the API (package
	// logstore): "<RFC3339Nano> <Go-quoted message>"; the message is
	// unquoted, so it may hold newlines.
	FormatEvent = "event"
	// FormatText is any other text; a leading RFC 3339 time, when there
	// is one, is the event's time and the message is the whole line.
	FormatText = "text"
)

// StreamInfo tells which files back a log stream.
type StreamInfo struct {
	// Group and Stream name the log group and log stream.
	Group, Stream string
	// Paths are the stream's files, oldest first: rotated files, then
	// the current file last. Files that do not exist are skipped.
	Paths []string
	// Format is how lines are read: FormatInstance, FormatAccess,
	// FormatSlog, FormatEvent or FormatText (the default when empty).
	Format string
}

// Source lists madang's log streams: which files back which group and
// stream. Streams is called on every read, so it should list the files as
// they are now (see RotatedPaths).
type Source interface {
	Streams() []StreamInfo
}

// SourceFunc adapts a function to Source.
type SourceFunc func() []StreamInfo

// Streams implements Source.
func (f SourceFunc) Streams() []StreamInfo { return f() }

// RotatedPaths returns the existing files of the size-rotated log at path
// (see package logfile), oldest first: path.N, …, path.1, path.
func RotatedPaths(path string) []string {
	var rotated []string
	for i := 1; ; i++ {
		name := path + "." + strconv.Itoa(i)
		if _, err := os.Stat(name); err != nil {
			break
		}
		rotated = append(rotated, name)
	}
	out := make([]string, 0, len(rotated)+1)
	for i := len(rotated) - 1; i >= 0; i-- {
		out = append(out, rotated[i])
	}
	return append(out, path)
}

// InstanceStream returns the stream of instance id, a member of instance
// group group ("" for none), whose log is logPath (compute's
// <instance dir>/logs/instance.log).
func InstanceStream(group, id, logPath string) StreamInfo {
	return StreamInfo{Group: InstanceGroup(group), Stream: id, Paths: RotatedPaths(logPath), Format: FormatInstance}
}

// AccessLogStream returns the stream of load balancer lb's access log at
// path (the controller's <home>/logs/elb/<lb>/access.log).
func AccessLogStream(lb, path string) StreamInfo {
	return StreamInfo{Group: LoadBalancerGroup(lb), Stream: AccessStream, Paths: RotatedPaths(path), Format: FormatAccess}
}

// DaemonLogStream returns the stream of the daemon's log at path.
func DaemonLogStream(path string) StreamInfo {
	return StreamInfo{Group: DaemonGroup, Stream: DaemonStream, Paths: RotatedPaths(path), Format: FormatSlog}
}

// GroupNames returns the names of src's log groups, sorted.
func GroupNames(src Source) []string {
	var out []string
	for _, s := range src.Streams() {
		if !slices.Contains(out, s.Group) {
			out = append(out, s.Group)
		}
	}
	slices.Sort(out)
	return out
}

// FirstEvent returns the oldest event of a stream's files (the first
// line of its oldest file), false when it has none.
func FirstEvent(s StreamInfo) (Event, bool) {
	errFound := errors.New("found")
	var first Event
	st := &stamper{info: s, emit: func(e Event) error { first = e; return errFound }}
	for _, f := range existing(s.Paths) {
		_, err := scanFile(f.path, 0, true, st.line)
		if errors.Is(err, errFound) {
			return first, true
		}
	}
	if len(st.pending) > 0 {
		fs := existing(s.Paths)
		ev := st.pending[0]
		ev.Timestamp = fs[0].fi.ModTime()
		return ev, true
	}
	return Event{}, false
}

// StoredBytes returns the size of a stream's files, as DescribeLogStreams'
// storedBytes.
func StoredBytes(s StreamInfo) int64 {
	var n int64
	for _, f := range existing(s.Paths) {
		n += f.fi.Size()
	}
	return n
}

// Event is one log event.
type Event struct {
	// Timestamp is the event's time (see the package documentation).
	Timestamp time.Time
	// Group and Stream name where the event is.
	Group, Stream string
	// Message is the event's text.
	Message string
	// Origin is an instance log line's stream: "out", "err" or "sys";
	// empty for other formats.
	Origin string
}

// parseLine reads a line's message and time (zero when it has none).
func parseLine(format string, line string) (ts time.Time, msg, origin string) {
	switch format {
	case FormatInstance:
		head, rest, ok := strings.Cut(line, " ")
		if !ok {
			return time.Time{}, line, ""
		}
		t, err := time.Parse(time.RFC3339Nano, head)
		if err != nil {
			return time.Time{}, line, ""
		}
		origin, text, _ := strings.Cut(rest, " ")
		return t, text, origin
	case FormatAccess:
		_, rest, ok := strings.Cut(line, " ")
		if !ok {
			return time.Time{}, line, ""
		}
		field, _, _ := strings.Cut(rest, " ")
		t, err := time.Parse(time.RFC3339Nano, field)
		if err != nil {
			return time.Time{}, line, ""
		}
		return t, line, ""
	case FormatEvent:
		head, rest, ok := strings.Cut(line, " ")
		t, err := time.Parse(time.RFC3339Nano, head)
		if !ok || err != nil {
			return time.Time{}, line, ""
		}
		if msg, err := strconv.Unquote(rest); err == nil {
			return t, msg, ""
		}
		return t, rest, ""
	case FormatSlog:
		v, ok := strings.CutPrefix(line, "time=")
		if !ok {
			return time.Time{}, line, ""
		}
		v, _, _ = strings.Cut(v, " ")
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, line, ""
		}
		return t, line, ""
	}
	head, _, _ := strings.Cut(line, " ")
	t, err := time.Parse(time.RFC3339Nano, head)
	if err != nil {
		return time.Time{}, line, ""
	}
	return t, line, ""
}
