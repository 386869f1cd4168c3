// Package logstore keeps the log streams written through CloudWatch Logs'
// PutLogEvents, the streams that are no instance's or load balancer's
// output. Each stream is a size-rotated file (see package logfile) under
// the store's directory, one line per event in loggroup.FormatEvent, so
// FilterLogEvents, live tail, metric filters and retention read them as
// they read every other madang log.
//
// The store checks CloudWatch Logs' rules for a batch (count, size, order,
// span) and rejects events too old or too new as CloudWatch does, by
// index; sequence tokens are not required.
package logstore

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/logfile"
	"github.com/madang-dev/madang/internal/loggroup"
)

// CloudWatch Logs' limits of one PutLogEvents call.
const (
	MaxBatchEvents = 10000
	MaxBatchBytes  = 1048576
	// EventOverhead is what CloudWatch counts per event on top of its
	// message's bytes.
	EventOverhead = 26
	MaxEventBytes = 262144 - EventOverhead
	MaxBatchSpan  = 24 * time.Hour
	// MaxAge and MaxAhead bound the events' timestamps.
	MaxAge   = 14 * 24 * time.Hour
	MaxAhead = 2 * time.Hour
)

// Errors of the store; they wrap into errors naming the group or stream.
var (
	ErrStreamExists   = errors.New("logstore: log stream exists")
	ErrStreamNotFound = errors.New("logstore: log stream does not exist")
	// ErrInvalid marks a batch that breaks CloudWatch Logs' rules.
	ErrInvalid = errors.New("logstore: invalid batch")
)

// Event is one log event to write.
type Event struct {
	Timestamp time.Time
	Message   string
}

// Rejected tells which events of a batch were not stored, as CloudWatch
// Logs' RejectedLogEventsInfo: events before TooOldEnd (exclusive) are
// too old, events from TooNewStart on too new; -1 when there are none.
type Rejected struct {
	TooOldEnd, TooNewStart int
}

// Options configure a Store.
type Options struct {
	// Dir holds the streams, one directory per log group.
	Dir string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rotation bounds each stream's files (logfile's defaults when zero).
	Rotation logfile.Options
}

// Store is the streams written through the API. It is safe for
// concurrent use.
type Store struct {
	opts Options
	// mu serializes changes to the directory and the files.
	mu sync.Mutex
}

// Open returns the store in opts.Dir, creating the directory.
func Open(opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("logstore: %w", err)
	}
	return &Store{opts: opts}, nil
}

func (s *Store) groupDir(group string) string {
	return filepath.Join(s.opts.Dir, url.PathEscape(group))
}

func (s *Store) streamPath(group, stream string) string {
	return filepath.Join(s.groupDir(group), url.PathEscape(stream)+".log")
}

// CreateStream creates an empty stream; ErrStreamExists if it exists.
func (s *Store) CreateStream(group, stream string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.streamPath(group, stream)
	if _, err := os.Stat(p); err == nil {
		return fmt.Errorf("log stream %s in %s: %w", stream, group, ErrStreamExists)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("logstore: %w", err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("logstore: create %s: %w", p, err)
	}
	return f.Close()
}

// Has reports whether the stream exists.
func (s *Store) Has(group, stream string) bool {
	_, err := os.Stat(s.streamPath(group, stream))
	return err == nil
}

// DeleteStream removes a stream and its rotated files.
func (s *Store) DeleteStream(group, stream string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.streamPath(group, stream)
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("log stream %s in %s: %w", stream, group, ErrStreamNotFound)
	}
	var errs []error
	for _, f := range loggroup.RotatedPaths(p) {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DeleteGroup removes every stream of a group.
func (s *Store) DeleteGroup(group string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.RemoveAll(s.groupDir(group)); err != nil {
		return fmt.Errorf("logstore: delete log group %s: %w", group, err)
	}
	return nil
}

// Put appends a batch to a stream. It checks the batch as PutLogEvents
// does (ErrInvalid, naming the rule) and stores the events whose times are
// within MaxAge (or retentionDays, when shorter and not 0) before now and
// MaxAhead after it, reporting the others in Rejected.
func (s *Store) Put(group, stream string, events []Event, retentionDays int) (Rejected, error) {
	rej := Rejected{TooOldEnd: -1, TooNewStart: -1}
	if err := checkBatch(events); err != nil {
		return rej, err
	}
	now := s.opts.Now()
	oldest := now.Add(-MaxAge)
	if r := time.Duration(retentionDays) * 24 * time.Hour; retentionDays > 0 && r < MaxAge {
		oldest = now.Add(-r)
	}
	newest := now.Add(MaxAhead)
	from, to := 0, len(events)
	for from < to && events[from].Timestamp.Before(oldest) {
		from++
	}
	for to > from && events[to-1].Timestamp.After(newest) {
		to--
	}
	if from > 0 {
		rej.TooOldEnd = from
	}
	if to < len(events) {
		rej.TooNewStart = to
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.streamPath(group, stream)
	if _, err := os.Stat(p); err != nil {
		return rej, fmt.Errorf("log stream %s in %s: %w", stream, group, ErrStreamNotFound)
	}
	if from == to {
		return rej, nil
	}
	var b strings.Builder
	for _, e := range events[from:to] {
		b.WriteString(FormatLine(e))
	}
	w, err := logfile.OpenRaw(p, s.opts.Rotation)
	if err != nil {
		return rej, fmt.Errorf("logstore: %w", err)
	}
	_, werr := w.Write([]byte(b.String()))
	if err := errors.Join(werr, w.Close()); err != nil {
		return rej, fmt.Errorf("logstore: write %s: %w", p, err)
	}
	return rej, nil
}

// FormatLine is an event's line in a stream file: the time, a space and
// the message quoted (so a message may hold newlines), as
// loggroup.FormatEvent reads it.
func FormatLine(e Event) string {
	return e.Timestamp.UTC().Format(time.RFC3339Nano) + " " + strconv.Quote(e.Message) + "\n"
}

// checkBatch applies PutLogEvents' rules for a batch.
func checkBatch(events []Event) error {
	if len(events) == 0 || len(events) > MaxBatchEvents {
		return fmt.Errorf("%w: logEvents has %d events; give 1 to %d per call", ErrInvalid, len(events), MaxBatchEvents)
	}
	size := 0
	for i, e := range events {
		n := len(e.Message) + EventOverhead
		if len(e.Message) == 0 {
			return fmt.Errorf("%w: logEvents[%d].message is empty; give every event a message", ErrInvalid, i)
		}
		if len(e.Message) > MaxEventBytes {
			return fmt.Errorf("%w: logEvents[%d].message has %d bytes, more than %d; split the message", ErrInvalid, i, len(e.Message), MaxEventBytes)
		}
		size += n
		if i > 0 && e.Timestamp.Before(events[i-1].Timestamp) {
			return fmt.Errorf("%w: log events in a single PutLogEvents request must be in chronological order; logEvents[%d] is older than logEvents[%d]: sort them by timestamp", ErrInvalid, i, i-1)
		}
	}
	if size > MaxBatchBytes {
		return fmt.Errorf("%w: the batch is %d bytes (messages plus %d bytes per event), more than %d; split the call", ErrInvalid, size, EventOverhead, MaxBatchBytes)
	}
	if span := events[len(events)-1].Timestamp.Sub(events[0].Timestamp); span > MaxBatchSpan {
		return fmt.Errorf("%w: the batch of log events in a single PutLogEvents request cannot span more than 24 hours; it spans %s: split the call", ErrInvalid, span)
	}
	return nil
}

// Streams lists the store's streams (implements loggroup.Source), sorted
// by group and stream.
func (s *Store) Streams() []loggroup.StreamInfo {
	groups, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return nil
	}
	var out []loggroup.StreamInfo
	for _, g := range groups {
		group, err := url.PathUnescape(g.Name())
		if !g.IsDir() || err != nil {
			continue
		}
		files, err := os.ReadDir(filepath.Join(s.opts.Dir, g.Name()))
		if err != nil {
			continue
		}
		for _, f := range files {
			base, ok := strings.CutSuffix(f.Name(), ".log")
			stream, err := url.PathUnescape(base)
			if !ok || err != nil || f.IsDir() {
				continue
			}
			out = append(out, loggroup.StreamInfo{Group: group, Stream: stream,
				Paths: loggroup.RotatedPaths(filepath.Join(s.opts.Dir, g.Name(), f.Name())), Format: loggroup.FormatEvent})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Stream < out[j].Stream
	})
	return out
}

// Interface guards.
var _ loggroup.Source = (*Store)(nil)
