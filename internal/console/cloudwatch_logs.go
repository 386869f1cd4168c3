package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/api/v1"
)

// logGroupsPage is the data of the log group list.
type logGroupsPage struct {
	Groups []logGroupRow
}

type logGroupRow struct {
	Name, Href      string
	RetentionInDays int
	StoredBytes     uint64
	Streams         int
}

// logGroupPage is the data of one log group: its streams and a filter's
// results.
type logGroupPage struct {
	Group           string
	RetentionInDays int
	StoredBytes     uint64
	Streams         []string
	// Pattern, Stream and Minutes are the filter; Error and Hint its
	// problem.
	Pattern, Stream string
	Minutes         int
	Ranges          []cwOption
	Error, Hint     string
	Events          []cwLogRow
	// More tells that the results stopped at the limit.
	More bool
	// TailSrc is the live tail's stream URL.
	TailSrc string
}

type cwLogRow struct {
	Time            time.Time
	Stream, Message string
}

// logResultLimit is how many events the filter shows.
const logResultLimit = 500

// logGroupHref is a log group's page: the name without its leading
// slash after /cloudwatch/logs/, since paths with "//" are cleaned away.
func logGroupHref(name string) string {
	parts := strings.Split(strings.TrimPrefix(name, "/"), "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return "/cloudwatch/logs/" + strings.Join(parts, "/")
}

func (s *Server) logGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := s.api.LogGroups(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var p logGroupsPage
	for _, g := range gs {
		p.Groups = append(p.Groups, logGroupRow{Name: g.Name, Href: logGroupHref(g.Name), RetentionInDays: g.RetentionInDays,
			StoredBytes: uint64(max(g.StoredBytes, 0)), Streams: len(g.Streams)})
	}
	s.page(w, r, "cloudwatch/logs", "cw.logs.title", p)
}

// findLogGroup finds the log group a page's path names: "/"+ref, or ref.
func (s *Server) findLogGroup(ctx context.Context, ref string) (v1.LogGroup, bool, error) {
	gs, err := s.api.LogGroups(ctx)
	if err != nil {
		return v1.LogGroup{}, false, err
	}
	for _, want := range []string{"/" + ref, ref} {
		for _, g := range gs {
			if g.Name == want {
				return g, true, nil
			}
		}
	}
	return v1.LogGroup{}, false, nil
}

// logGroup serves GET /cloudwatch/logs/{group...}?pattern=&stream=&minutes=.
func (s *Server) logGroup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	g, ok, err := s.findLogGroup(ctx, r.PathValue("group"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		s.notFound(w, r)
		return
	}
	q := r.URL.Query()
	p := logGroupPage{Group: g.Name, RetentionInDays: g.RetentionInDays, StoredBytes: uint64(max(g.StoredBytes, 0)),
		Streams: g.Streams, Pattern: q.Get("pattern"), Stream: q.Get("stream"),
		Minutes: cwIntParam(q, "minutes", 60, cwRanges)}
	p.Ranges = cwRangeOptions(langOf(r), p.Minutes)
	tail := url.Values{"group": {g.Name}}
	if p.Pattern != "" {
		tail.Set("pattern", p.Pattern)
	}
	if p.Stream != "" {
		tail.Set("stream", p.Stream)
	}
	p.TailSrc = "/cloudwatch/logs/stream?" + tail.Encode()
	lq := api.LogQuery{Groups: []string{g.Name}, Filter: p.Pattern, Start: s.now().Add(-time.Duration(p.Minutes) * time.Minute),
		Limit: logResultLimit}
	if p.Stream != "" {
		lq.Streams = []string{p.Stream}
	}
	err = s.api.LogEvents(ctx, lq, func(ev v1.LogEvent) {
		if ev.NextToken != "" {
			p.More = true
			return
		}
		p.Events = append(p.Events, cwLogRow{Time: ev.Timestamp, Stream: ev.Stream, Message: ev.Message})
	})
	status := http.StatusOK
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
			s.fail(w, r, err)
			return
		}
		p.Error, p.Hint, p.Events, status = ae.Message, ae.Hint, nil, http.StatusBadRequest
	}
	s.renderStatus(w, r, status, "cloudwatch/log-group", "cw.loggroup.title", p)
}

// cwTailLine is one line of a live tail, as the console's log tails read
// it.
type cwTailLine struct {
	Time   string `json:"time"`
	Stream string `json:"stream"`
	Text   string `json:"text"`
	// LogStream names the event's log stream.
	LogStream string `json:"logStream"`
}

// logTail serves GET /cloudwatch/logs/stream?group=&pattern=&stream=: the
// group's recent matching events, then new ones as they are written, as
// server-sent events. A bad pattern is one "sys" line with the parser's
// message.
func (s *Server) logTail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	group := q.Get("group")
	if group == "" {
		http.Error(w, "group: name the log group", http.StatusBadRequest)
		return
	}
	lq := api.LogQuery{Groups: []string{group}, Filter: q.Get("pattern"), Start: s.now().Add(-5 * time.Minute),
		Limit: 100, Follow: true}
	if st := q.Get("stream"); st != "" {
		lq.Streams = []string{st}
	}
	_ = streamSSE(w, r, func(send func(string, any)) error {
		err := s.api.LogEvents(r.Context(), lq, func(ev v1.LogEvent) {
			if ev.NextToken != "" {
				return
			}
			origin := ev.Origin
			if origin == "" {
				origin = "out"
			}
			send("", cwTailLine{Time: ev.Timestamp.UTC().Format(time.RFC3339Nano), Stream: origin, Text: ev.Message, LogStream: ev.Stream})
		})
		if err != nil && r.Context().Err() == nil {
			// Say why in the tail itself, and stay open so that the
			// browser does not retry a query that cannot work.
			msg, hint := cwErrorText(err)
			send("", cwTailLine{Time: s.now().UTC().Format(time.RFC3339Nano), Stream: "sys", Text: strings.TrimSpace(msg + " " + hint)})
			<-r.Context().Done()
		}
		return err
	})
}
