package logs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/logfilter"
	"github.com/madang-dev/madang/internal/loggroup"
)

// StartLiveTail's limits, as CloudWatch Logs has them.
const (
	// DefaultLiveTailLimit is how long a live tail session lasts.
	DefaultLiveTailLimit = 3 * time.Hour
	// LiveTailInterval is how often a session sends an update.
	LiveTailInterval = time.Second
	// maxUpdateEvents is the most events one update carries; more in
	// one interval are sampled down to it.
	maxUpdateEvents  = 500
	maxTailGroups    = 10
	maxTailStreamSel = 100
)

// tailBuffer holds the events a live tail read since its last update,
// at most max of them: events beyond are dropped and the update marked
// sampled, so a client that reads slowly never holds up the reading nor
// makes the buffer grow. It is safe for concurrent use.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	events  []tailEvent
	sampled bool
}

// tailEvent is an event as a live tail read it.
type tailEvent struct {
	ev       loggroup.Event
	ingested time.Time
}

// add keeps an event, or drops it when the buffer is full.
func (b *tailBuffer) add(e tailEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.events) >= b.max {
		b.sampled = true
		return
	}
	b.events = append(b.events, e)
}

// take returns the buffered events and whether some were dropped, and
// empties the buffer.
func (b *tailBuffer) take() ([]tailEvent, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	evs, sampled := b.events, b.sampled
	b.events, b.sampled = nil, false
	return evs, sampled
}

// liveTailRequest is a checked StartLiveTail request.
type liveTailRequest struct {
	// ids are the log group identifiers as given; byGroup maps each
	// group's name to its identifier.
	ids      []string
	byGroup  map[string]string
	names    []string
	prefixes []string
	pattern  string
	query    loggroup.FilterQuery
}

// liveTailInput checks a StartLiveTail input as CloudWatch Logs does.
func (s *Service) liveTailInput(in protocol.Struct) (*liveTailRequest, error) {
	req := &liveTailRequest{ids: in.Strings("logGroupIdentifiers"), byGroup: map[string]string{},
		names: in.Strings("logStreamNames"), prefixes: in.Strings("logStreamNamePrefixes"), pattern: in.String("logEventFilterPattern")}
	switch {
	case len(req.ids) == 0 || len(req.ids) > maxTailGroups:
		return nil, protocol.Errorf("InvalidParameterException", "logGroupIdentifiers has %d log groups; give 1 to %d log group names or ARNs", len(req.ids), maxTailGroups)
	case len(req.names) > 0 && len(req.prefixes) > 0:
		return nil, protocol.Errorf("InvalidParameterException", "logStreamNames %q and logStreamNamePrefixes %q are both given; give one of them", req.names, req.prefixes)
	case len(req.names) > maxTailStreamSel || len(req.prefixes) > maxTailStreamSel:
		return nil, protocol.Errorf("InvalidParameterException", "logStreamNames or logStreamNamePrefixes has more than %d items; give at most %d", maxTailStreamSel, maxTailStreamSel)
	case (len(req.names) > 0 || len(req.prefixes) > 0) && len(req.ids) > 1:
		return nil, protocol.Errorf("InvalidParameterException", "logStreamNames and logStreamNamePrefixes can be given only with one log group, and logGroupIdentifiers has %d; tail one log group or leave the streams out", len(req.ids))
	}
	var groups []string
	for _, id := range req.ids {
		if strings.HasSuffix(id, "*") {
			return nil, protocol.Errorf("InvalidParameterException", "logGroupIdentifiers value '%s' ends with '*'; give the log group's ARN without the trailing ':*', or its name", id)
		}
		g, err := s.group(groupName(protocol.Struct{"logGroupIdentifier": id}))
		if err != nil {
			return nil, err
		}
		if _, dup := req.byGroup[g.name]; dup {
			return nil, protocol.Errorf("InvalidParameterException", "logGroupIdentifiers names log group %s twice; give each log group once", g.name)
		}
		req.byGroup[g.name] = id
		groups = append(groups, g.name)
	}
	req.query = loggroup.FilterQuery{Groups: groups, Streams: req.names, StreamPrefixes: req.prefixes}
	if req.pattern != "" {
		pat, err := logfilter.Parse(req.pattern)
		if err != nil {
			return nil, protocol.Errorf("InvalidParameterException", "Invalid logEventFilterPattern '%s': %s", req.pattern, err.Error())
		}
		req.query.Pattern = pat
	}
	return req, nil
}

// startLiveTail checks the request (its errors are ordinary responses)
// and answers with the session's event stream.
func (s *Service) startLiveTail(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	req, err := s.liveTailInput(call.Input)
	if err != nil {
		return nil, err
	}
	stream := func(ctx context.Context, w *protocol.EventWriter) error {
		return s.liveTail(ctx, w, call, req)
	}
	return map[string]any{"responseStream": awsapi.EventStream(stream)}, nil
}

// liveTail runs a session: sessionStart once the tail has begun, then a
// sessionUpdate every LiveTailInterval with the events read since the
// last one, until the client goes away or the session's limit passes.
func (s *Service) liveTail(ctx context.Context, w *protocol.EventWriter, call *awsapi.Call, req *liveTailRequest) error {
	session, cancel := context.WithTimeout(ctx, s.liveTailLimit)
	defer cancel()
	buf := &tailBuffer{max: maxUpdateEvents}
	ready := make(chan struct{})
	tailDone := make(chan error, 1)
	go func() {
		tailDone <- loggroup.TailReady(session, s.logs, req.query, func() { close(ready) }, func(e loggroup.Event) error {
			buf.add(tailEvent{ev: e, ingested: time.Now()})
			return nil
		})
	}()
	tailEnded := false
	defer func() {
		cancel()
		if !tailEnded {
			<-tailDone
		}
	}()
	// ended reports how the session ended: an exception for the client,
	// or none when the client went away.
	ended := func(tailErr error) error {
		switch {
		case tailErr != nil:
			return w.Exception("SessionStreamingException", fmt.Sprintf("madang could not read the log streams of the session: %v; start a new session", tailErr))
		case errors.Is(context.Cause(ctx), awsapi.ErrStreamsClosed):
			return w.Exception("SessionStreamingException", "madang's AWS endpoint is shutting down; start a new session when it is back")
		case ctx.Err() == nil && session.Err() != nil:
			return w.Exception("SessionTimeoutException", fmt.Sprintf("the live tail session ended after %s, the longest a session lasts; start a new session to go on", s.liveTailLimit))
		}
		return nil
	}
	select {
	case <-ready:
	case err := <-tailDone:
		tailEnded = true
		return ended(err)
	}
	start := map[string]any{"requestId": call.RequestID, "sessionId": newSessionID(), "logGroupIdentifiers": req.ids}
	if len(req.names) > 0 {
		start["logStreamNames"] = req.names
	}
	if len(req.prefixes) > 0 {
		start["logStreamNamePrefixes"] = req.prefixes
	}
	if req.pattern != "" {
		start["logEventFilterPattern"] = req.pattern
	}
	if err := w.Event("sessionStart", start); err != nil {
		return err
	}
	tick := time.NewTicker(LiveTailInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-tailDone:
			tailEnded = true
			return ended(err)
		case <-tick.C:
			if err := w.Event("sessionUpdate", update(buf, req)); err != nil {
				return err
			}
		}
	}
}

// update empties the buffer into a sessionUpdate event.
func update(buf *tailBuffer, req *liveTailRequest) map[string]any {
	evs, sampled := buf.take()
	results := make([]any, 0, len(evs))
	for _, e := range evs {
		results = append(results, map[string]any{
			"logStreamName": e.ev.Stream, "logGroupIdentifier": req.byGroup[e.ev.Group], "message": e.ev.Message,
			"timestamp": e.ev.Timestamp.UnixMilli(), "ingestionTime": e.ingested.UnixMilli(),
		})
	}
	return map[string]any{"sessionMetadata": map[string]any{"sampled": sampled}, "sessionResults": results}
}

// newSessionID returns a random (version 4) UUID.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
