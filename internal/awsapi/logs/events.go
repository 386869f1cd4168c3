package logs

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/logfilter"
	"github.com/madang-dev/madang/internal/loggroup"
	"github.com/madang-dev/madang/internal/logstore"
)

// CloudWatch Logs' limits of event reads.
const (
	maxEvents     = 10000
	maxEventBytes = 1 << 20
)

// streamLast is a stream's last write: its newest file's modification
// time (events are appended as they happen).
func streamLast(st loggroup.StreamInfo) time.Time {
	var last time.Time
	for _, p := range st.Paths {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(last) {
			last = fi.ModTime()
		}
	}
	return last
}

func (s *Service) describeLogStreams(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	g, err := s.group(groupName(in))
	if err != nil {
		return nil, err
	}
	prefix, order := in.String("logStreamNamePrefix"), in.String("orderBy")
	switch {
	case order != "" && order != "LogStreamName" && order != "LastEventTime":
		return nil, protocol.Errorf("InvalidParameterException", "orderBy '%s' is not valid; use LogStreamName or LastEventTime", order)
	case order == "LastEventTime" && prefix != "":
		return nil, protocol.Errorf("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	n, err := limit(in, describePage, describePage)
	if err != nil {
		return nil, err
	}
	type row struct {
		st   loggroup.StreamInfo
		last time.Time
	}
	var rows []row
	for _, st := range g.streams {
		if strings.HasPrefix(st.Stream, prefix) {
			rows = append(rows, row{st, streamLast(st)})
		}
	}
	if order == "LastEventTime" {
		slices.SortStableFunc(rows, func(a, b row) int { return a.last.Compare(b.last) })
	}
	if in.Bool("descending") {
		slices.Reverse(rows)
	}
	rows, next, err := page(rows, in.String("nextToken"), n)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(rows))
	for _, r := range rows {
		m := map[string]any{"logStreamName": r.st.Stream, "storedBytes": loggroup.StoredBytes(r.st),
			"arn": groupARN(call, g.name) + ":log-stream:" + r.st.Stream}
		if ev, ok := loggroup.FirstEvent(r.st); ok {
			m["creationTime"] = ev.Timestamp.UnixMilli()
			m["firstEventTimestamp"] = ev.Timestamp.UnixMilli()
			m["lastEventTimestamp"] = r.last.UnixMilli()
			m["lastIngestionTime"] = r.last.UnixMilli()
		} else if !r.last.IsZero() {
			m["creationTime"] = r.last.UnixMilli()
		}
		out = append(out, m)
	}
	resp := map[string]any{"logStreams": out}
	if next != "" {
		resp["nextToken"] = next
	}
	return resp, nil
}

// streamNameForbidden is what CloudWatch Logs refuses in stream names.
const streamNameForbidden = ":*"

func (s *Service) createLogStream(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	g, err := s.group(groupName(in))
	if err != nil {
		return nil, err
	}
	name := in.String("logStreamName")
	if name == "" || len(name) > 512 || strings.ContainsAny(name, streamNameForbidden) {
		return nil, protocol.Errorf("InvalidParameterException", "logStreamName '%s' is not valid; give 1 to 512 characters without ':' or '*'", name)
	}
	if slices.ContainsFunc(g.streams, func(st loggroup.StreamInfo) bool { return st.Stream == name }) {
		return nil, protocol.Errorf("ResourceAlreadyExistsException", "The specified log stream already exists: %s in %s", name, g.name)
	}
	if err := s.streams.CreateStream(g.name, name); err != nil {
		return nil, logsError(err)
	}
	return map[string]any{}, nil
}

// apiStream finds the stream a request names, which must be one written
// through the API (not an instance's, load balancer's or daemon's log);
// missingHint and notAPIHint end the refusals' messages.
func (s *Service) apiStream(in protocol.Struct, missingHint, notAPIHint string) (*group, string, error) {
	g, err := s.group(groupName(in))
	if err != nil {
		return nil, "", err
	}
	name := in.String("logStreamName")
	i := slices.IndexFunc(g.streams, func(st loggroup.StreamInfo) bool { return st.Stream == name })
	switch {
	case i < 0:
		return nil, "", protocol.Errorf("ResourceNotFoundException", "The specified log stream does not exist: %s in %s%s", name, g.name, missingHint)
	case g.streams[i].Format != loggroup.FormatEvent:
		return nil, "", protocol.Errorf("InvalidOperationException", "Log stream %s in %s is the log of a madang instance, load balancer or daemon; %s", name, g.name, notAPIHint)
	}
	return g, name, nil
}

func (s *Service) deleteLogStream(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	g, name, err := s.apiStream(call.Input, "", "it goes away with it")
	if err != nil {
		return nil, err
	}
	if err := s.streams.DeleteStream(g.name, name); err != nil {
		return nil, logsError(err)
	}
	return map[string]any{}, nil
}

func (s *Service) putLogEvents(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	g, name, err := s.apiStream(in, "; create it with CreateLogStream", "write to a stream made with CreateLogStream")
	if err != nil {
		return nil, err
	}
	items := in.Structs("logEvents")
	events := make([]logstore.Event, len(items))
	for i, e := range items {
		events[i] = logstore.Event{Timestamp: time.UnixMilli(e.Int("timestamp")).UTC(), Message: e.String("message")}
	}
	rej, err := s.streams.Put(g.name, name, events, g.retention())
	if err != nil {
		return nil, logsError(err)
	}
	resp := map[string]any{"nextSequenceToken": sequenceToken(g.name, name, events)}
	if rej.TooOldEnd >= 0 || rej.TooNewStart >= 0 {
		info := map[string]any{}
		if rej.TooOldEnd >= 0 {
			info["tooOldLogEventEndIndex"] = rej.TooOldEnd
		}
		if rej.TooNewStart >= 0 {
			info["tooNewLogEventStartIndex"] = rej.TooNewStart
		}
		resp["rejectedLogEventsInfo"] = info
	}
	return resp, nil
}

// sequenceToken is a 56-digit token like CloudWatch Logs' (clients may
// send it back; it is not required).
func sequenceToken(group, stream string, events []logstore.Event) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d", group, stream, len(events), time.Now().UnixNano())
	n := new(big.Int).SetBytes(h.Sum(nil))
	t := n.String()
	for len(t) < 56 {
		t = "0" + t
	}
	return t[:56]
}

// readStream returns every event of a stream in [start, end] (zero:
// open), oldest first.
func (s *Service) readStream(ctx context.Context, groupN, stream string, start, end time.Time) ([]loggroup.Event, error) {
	q := loggroup.FilterQuery{Groups: []string{groupN}, Streams: []string{stream}, Start: start, End: end, Limit: loggroup.MaxLimit}
	var all []loggroup.Event
	for {
		evs, next, err := loggroup.Filter(ctx, s.logs, q)
		if err != nil {
			return nil, protocol.Errorf("InvalidParameterException", "%s", err.Error())
		}
		all = append(all, evs...)
		if next == "" {
			return all, nil
		}
		q.Cursor = next
	}
}

// timeRange reads startTime and endTime (epoch milliseconds; endTime
// exclusive) as an inclusive range.
func timeRange(in protocol.Struct) (start, end time.Time, err error) {
	if in.Has("startTime") {
		start = time.UnixMilli(in.Int("startTime"))
	}
	if in.Has("endTime") {
		end = time.UnixMilli(in.Int("endTime")).Add(-time.Nanosecond)
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return start, end, protocol.Errorf("InvalidParameterException", "endTime %d is before startTime %d; swap them", in.Int("endTime"), in.Int("startTime"))
	}
	return start, end, nil
}

func (s *Service) getLogEvents(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	g, err := s.group(groupName(in))
	if err != nil {
		return nil, err
	}
	name := in.String("logStreamName")
	if !slices.ContainsFunc(g.streams, func(st loggroup.StreamInfo) bool { return st.Stream == name }) {
		return nil, protocol.Errorf("ResourceNotFoundException", "The specified log stream does not exist: %s in %s", name, g.name)
	}
	n, err := limit(in, maxEvents, maxEvents)
	if err != nil {
		return nil, err
	}
	start, end, err := timeRange(in)
	if err != nil {
		return nil, err
	}
	evs, err := s.readStream(ctx, g.name, name, start, end)
	if err != nil {
		return nil, err
	}
	// Tokens are positions in the stream's events: f/N reads forward
	// from N, b/N backward from N.
	forward, at := in.Bool("startFromHead"), 0
	if !forward {
		at = len(evs)
	}
	if tok := in.String("nextToken"); tok != "" {
		dir, pos, ok := strings.Cut(tok, "/")
		p, err := strconv.Atoi(pos)
		if !ok || err != nil || p < 0 || p > len(evs) || (dir != "f" && dir != "b") {
			return nil, protocol.Errorf("InvalidParameterException", "The specified nextToken '%s' is invalid; pass a nextForwardToken or nextBackwardToken unchanged", tok)
		}
		forward, at = dir == "f", p
	}
	from, to := at, at
	size := 0
	if forward {
		for to < len(evs) && to-from < n && size+len(evs[to].Message)+26 <= maxEventBytes {
			size += len(evs[to].Message) + 26
			to++
		}
	} else {
		for from > 0 && to-from < n && size+len(evs[from-1].Message)+26 <= maxEventBytes {
			size += len(evs[from-1].Message) + 26
			from--
		}
	}
	out := make([]any, 0, to-from)
	for _, e := range evs[from:to] {
		ts := e.Timestamp.UnixMilli()
		out = append(out, map[string]any{"timestamp": ts, "message": e.Message, "ingestionTime": ts})
	}
	return map[string]any{"events": out, "nextForwardToken": "f/" + strconv.Itoa(to), "nextBackwardToken": "b/" + strconv.Itoa(from)}, nil
}

func (s *Service) filterLogEvents(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	g, err := s.group(groupName(in))
	if err != nil {
		return nil, err
	}
	names, prefix := in.Strings("logStreamNames"), in.String("logStreamNamePrefix")
	if len(names) > 0 && prefix != "" {
		return nil, protocol.Errorf("InvalidParameterException", "logStreamNames and logStreamNamePrefix are both given; give one of them")
	}
	n, err := limit(in, loggroup.DefaultLimit, loggroup.MaxLimit)
	if err != nil {
		return nil, err
	}
	start, end, err := timeRange(in)
	if err != nil {
		return nil, err
	}
	q := loggroup.FilterQuery{Groups: []string{g.name}, Streams: names, StreamPrefix: prefix, Start: start, End: end, Limit: n, Cursor: in.String("nextToken")}
	if p := in.String("filterPattern"); p != "" {
		pat, err := logfilter.Parse(p)
		if err != nil {
			return nil, protocol.Errorf("InvalidParameterException", "Invalid filter pattern '%s': %s", p, err.Error())
		}
		q.Pattern = pat
	}
	evs, next, err := loggroup.Filter(ctx, s.logs, q)
	if err != nil {
		return nil, protocol.Errorf("InvalidParameterException", "%s", err.Error())
	}
	out := make([]any, 0, len(evs))
	for _, e := range evs {
		ts := e.Timestamp.UnixMilli()
		out = append(out, map[string]any{"logStreamName": e.Stream, "timestamp": ts, "message": e.Message,
			"ingestionTime": ts, "eventId": eventID(e)})
	}
	searched := []any{}
	for _, st := range g.streams {
		if (len(names) == 0 || slices.Contains(names, st.Stream)) && strings.HasPrefix(st.Stream, prefix) {
			searched = append(searched, map[string]any{"logStreamName": st.Stream, "searchedCompletely": next == ""})
		}
	}
	resp := map[string]any{"events": out, "searchedLogStreams": searched}
	if next != "" {
		resp["nextToken"] = next
	}
	return resp, nil
}

// eventID is a stable 56-digit id of an event.
func eventID(e loggroup.Event) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%s", e.Group, e.Stream, e.Timestamp.UnixNano(), e.Message))
	d := new(big.Int).SetBytes(h[:]).String()
	return strings.Repeat("0", max(0, 56-len(d))) + d[:min(len(d), 56)]
}
