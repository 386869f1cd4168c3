package loggroup

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/logfilter"
)

// Limits of FilterQuery.Limit, as FilterLogEvents has them.
const (
	DefaultLimit = 10000
	MaxLimit     = 10000
)

// FilterQuery selects log events, as FilterLogEvents does.
type FilterQuery struct {
	// Groups are the log groups to read; empty reads every group.
	Groups []string
	// Streams are the log streams to read (by name, in any of the
	// groups); StreamPrefix selects streams by name prefix, and
	// StreamPrefixes by any of several prefixes (as StartLiveTail's
	// logStreamNamePrefixes). Set Streams or the prefixes, not both;
	// none reads every stream.
	Streams        []string
	StreamPrefix   string
	StreamPrefixes []string
	// Start and End bound the events' timestamps, both inclusive; zero
	// leaves that side open.
	Start, End time.Time
	// Pattern filters the events' messages; nil keeps all.
	Pattern *logfilter.Pattern
	// Limit is the most events one call returns: 1 to MaxLimit, 0 for
	// DefaultLimit.
	Limit int
	// Cursor continues after the last event of an earlier call: pass the
	// next cursor that call returned; empty starts at the beginning.
	Cursor string
}

// validate checks the query and fills in defaults.
func (q FilterQuery) validate() (FilterQuery, error) {
	var errs []error
	if len(q.Streams) > 0 && q.StreamPrefix != "" {
		errs = append(errs, fmt.Errorf("loggroup: Streams %q and StreamPrefix %q are both set; set one of them", q.Streams, q.StreamPrefix))
	}
	if len(q.Streams) > 0 && len(q.StreamPrefixes) > 0 {
		errs = append(errs, fmt.Errorf("loggroup: Streams %q and StreamPrefixes %q are both set; set one of them", q.Streams, q.StreamPrefixes))
	}
	switch {
	case q.Limit < 0 || q.Limit > MaxLimit:
		errs = append(errs, fmt.Errorf("loggroup: Limit %d is out of range; use 1 to %d, or 0 for %d", q.Limit, MaxLimit, DefaultLimit))
	case q.Limit == 0:
		q.Limit = DefaultLimit
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.End.Before(q.Start) {
		errs = append(errs, fmt.Errorf("loggroup: End %s is before Start %s; swap them or leave End zero", q.End.Format(time.RFC3339), q.Start.Format(time.RFC3339)))
	}
	return q, errors.Join(errs...)
}

// selects reports whether the query reads stream s.
func (q FilterQuery) selects(s StreamInfo) bool {
	if len(q.Groups) > 0 && !slices.Contains(q.Groups, s.Group) {
		return false
	}
	if len(q.Streams) > 0 && !slices.Contains(q.Streams, s.Stream) {
		return false
	}
	if len(q.StreamPrefixes) > 0 && !slices.ContainsFunc(q.StreamPrefixes, func(p string) bool { return strings.HasPrefix(s.Stream, p) }) {
		return false
	}
	return strings.HasPrefix(s.Stream, q.StreamPrefix)
}

// keeps reports whether event e passes the time range and the pattern.
func (q FilterQuery) keeps(e Event) bool {
	if !q.Start.IsZero() && e.Timestamp.Before(q.Start) {
		return false
	}
	if !q.End.IsZero() && e.Timestamp.After(q.End) {
		return false
	}
	_, ok := q.Pattern.Match(e.Message)
	return ok
}

// streams returns the streams the query reads, sorted by group and name.
func (q FilterQuery) streams(src Source) []StreamInfo {
	var out []StreamInfo
	for _, s := range src.Streams() {
		if q.selects(s) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b StreamInfo) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Stream, b.Stream))
	})
	return out
}

// eventKey orders events: by time, group and stream, then by position
// among the stream's events of the same time.
type eventKey struct {
	T int64  `json:"t"`
	G string `json:"g"`
	S string `json:"s"`
	N int    `json:"n"`
}

func (a eventKey) compare(b eventKey) int {
	return cmp.Or(cmp.Compare(a.T, b.T), strings.Compare(a.G, b.G), strings.Compare(a.S, b.S), cmp.Compare(a.N, b.N))
}

func encodeCursor(k eventKey) string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string) (*eventKey, error) {
	if c == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	var k eventKey
	if err == nil {
		err = json.Unmarshal(b, &k)
	}
	if err != nil {
		return nil, fmt.Errorf("loggroup: Cursor %q is not a cursor Filter returned: %w; pass the next cursor unchanged, or leave it empty to start over", c, err)
	}
	return &k, nil
}

type keyed struct {
	key eventKey
	ev  Event
}

// Filter returns the events of the query's streams between Start and End
// that match the pattern, oldest first, at most Limit of them, and the
// cursor of the next page ("" when there is none). Events with equal
// timestamps come in group, stream and file order. Each page reads the
// files again, so events written since an earlier page appear in later
// ones when they sort after it.
func Filter(ctx context.Context, src Source, q FilterQuery) ([]Event, string, error) {
	q, err := q.validate()
	if err != nil {
		return nil, "", err
	}
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	var found []keyed
	more := false
	trim := func() {
		slices.SortFunc(found, func(a, b keyed) int { return a.key.compare(b.key) })
		if len(found) > q.Limit {
			found, more = found[:q.Limit], true
		}
	}
	for _, s := range q.streams(src) {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		seen := make(map[int64]int) // events per timestamp so far
		st := stamper{info: s}
		st.emit = func(e Event) error {
			t := e.Timestamp.UnixNano()
			k := eventKey{T: t, G: s.Group, S: s.Stream, N: seen[t]}
			seen[t]++
			if after != nil && k.compare(*after) <= 0 {
				return nil
			}
			if !q.keeps(e) {
				return nil
			}
			found = append(found, keyed{k, e})
			if len(found) >= 2*q.Limit {
				trim()
			}
			return nil
		}
		files := existing(s.Paths)
		for i, f := range files {
			if _, err := scanFile(f.path, 0, i == len(files)-1, st.line); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, "", err
			}
			if len(st.pending) > 0 && i == len(files)-1 {
				if err := st.flush(f.fi.ModTime()); err != nil {
					return nil, "", err
				}
			}
		}
	}
	trim()
	events := make([]Event, len(found))
	for i, k := range found {
		events[i] = k.ev
	}
	next := ""
	if more {
		next = encodeCursor(found[len(found)-1].key)
	}
	return events, next, nil
}
