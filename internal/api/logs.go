package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/logfilter"
	"github.com/madang-dev/madang/internal/loggroup"
)

// mountLogs registers the CloudWatch Logs routes: log groups and
// FilterLogEvents with live tail.
func (s *Server) mountLogs(mux *http.ServeMux) {
	if s.Logs == nil {
		return
	}
	mux.HandleFunc("GET /v1/logs/groups", s.logGroups)
	mux.HandleFunc("GET /v1/logs/events", s.logEvents)
}

func (s *Server) logGroups(w http.ResponseWriter, r *http.Request) {
	byGroup := map[string]*v1.LogGroup{}
	for _, st := range s.Logs.Streams() {
		g := byGroup[st.Group]
		if g == nil {
			g = &v1.LogGroup{Name: st.Group, Streams: []string{}}
			if s.LogRetention != nil {
				g.RetentionInDays = s.LogRetention(st.Group)
			}
			byGroup[st.Group] = g
		}
		g.Streams = append(g.Streams, st.Stream)
		for _, p := range st.Paths {
			if n, ok := fileSize(p); ok {
				g.StoredBytes += n
			}
		}
	}
	out := make([]v1.LogGroup, 0, len(byGroup))
	for _, g := range byGroup {
		sort.Strings(g.Streams)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, out)
}

// logEvents answers GET /v1/logs/events?group=G&stream=S&streamPrefix=P&
// filter=PATTERN&start=T&end=T&limit=N&cursor=C&follow=1 with JSON Lines:
// the matching events, then, with follow, new ones as they are written.
// Without follow the last line is {"nextToken": …} when more remain.
func (s *Server) logEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fq := loggroup.FilterQuery{Groups: q["group"], Streams: q["stream"], StreamPrefix: q.Get("streamPrefix"), Cursor: q.Get("cursor")}
	if p := q.Get("filter"); p != "" {
		pat, err := logfilter.Parse(p)
		if err != nil {
			s.fail(w, r, fmt.Errorf("%w: filter %q: %w; see CloudWatch Logs' filter pattern syntax (README, Logs)", ErrValidation, p, err))
			return
		}
		fq.Pattern = pat
	}
	for _, f := range []struct {
		name string
		into *time.Time
	}{{"start", &fq.Start}, {"end", &fq.End}} {
		if v := q.Get(f.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				s.fail(w, r, fmt.Errorf("%w: %s %q is not an RFC 3339 time", ErrValidation, f.name, v))
				return
			}
			*f.into = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > loggroup.MaxLimit {
			s.fail(w, r, fmt.Errorf("%w: limit %q: give 1 to %d", ErrValidation, v, loggroup.MaxLimit))
			return
		}
		fq.Limit = n
	}
	events, next, err := loggroup.Filter(r.Context(), s.Logs, fq)
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %w", ErrValidation, err))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, ev := range events {
		_ = enc.Encode(logEventOf(ev))
	}
	if q.Get("follow") != "1" {
		if next != "" {
			_ = enc.Encode(v1.LogEvent{NextToken: next})
		}
		return
	}
	flush(w)
	tq := fq
	tq.Cursor, tq.Limit = "", 0
	if len(events) > 0 {
		tq.Start = events[len(events)-1].Timestamp
	} else if tq.Start.IsZero() {
		tq.Start = time.Now()
	}
	seen := map[string]bool{}
	if len(events) > 0 {
		last := events[len(events)-1].Timestamp
		for _, ev := range events {
			if ev.Timestamp.Equal(last) {
				seen[ev.Group+"\x00"+ev.Stream+"\x00"+ev.Message] = true
			}
		}
	}
	err = loggroup.Tail(r.Context(), s.Logs, tq, func(ev loggroup.Event) error {
		if k := ev.Group + "\x00" + ev.Stream + "\x00" + ev.Message; seen[k] {
			delete(seen, k)
			return nil
		}
		if err := enc.Encode(logEventOf(ev)); err != nil {
			return err
		}
		flush(w)
		return nil
	})
	if err != nil && !errors.Is(err, r.Context().Err()) && s.Logger != nil {
		s.Logger.Warn("log tail", "err", err)
	}
}

func logEventOf(ev loggroup.Event) v1.LogEvent {
	return v1.LogEvent{Timestamp: ev.Timestamp, Group: ev.Group, Stream: ev.Stream, Message: ev.Message, Origin: ev.Origin}
}

// LogGroupName returns the log group of an instance group or "" when ref
// is a log group name already (it starts with "/").
func LogGroupName(ref string) string {
	if strings.HasPrefix(ref, "/") {
		return ref
	}
	return loggroup.InstanceGroup(ref)
}

func fileSize(path string) (int64, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	return fi.Size(), true
}
