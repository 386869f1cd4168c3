package loggroup

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/logfilter"
)

// MetricFilter turns a log group's matching lines into metric values.
type MetricFilter struct {
	// Name names the filter; it is unique within its group.
	Name string
	// Group is the log group the filter reads.
	Group string
	// Pattern selects the lines; nil matches all.
	Pattern *logfilter.Pattern
	// Transformation is the metric the lines feed.
	Transformation logfilter.Transformation
}

// Emitted is one metric datum: the statistic set of one (filter,
// dimensions) pair over one second.
type Emitted struct {
	// Filter is the metric filter's name and Group its log group.
	Filter, Group string
	// Namespace and Name name the metric.
	Namespace, Name string
	// Dimensions are the datum's dimensions (nil for none).
	Dimensions map[string]string
	// Unit is the transformation's unit.
	Unit string
	// Timestamp is the start of the second the values are from.
	Timestamp time.Time
	// Sum is the sum of the values and Count how many there were.
	Sum, Count float64
	// Values are the second's values themselves, for exact minimum,
	// maximum and percentiles.
	Values []float64
}

// FollowerOptions configure a Follower.
type FollowerOptions struct {
	// Source lists the streams.
	Source Source
	// StateDir holds the follower's read positions
	// (metric-filters.json); empty keeps them in memory only.
	StateDir string
	// Now is the clock (default time.Now); it stamps DefaultValue
	// datums.
	Now func() time.Time
	// Logger receives problems reading streams or saving positions.
	Logger *slog.Logger
	// Emit receives each poll's datums, in a stable order. It runs
	// inside Poll and must not call the Follower's methods.
	Emit func([]Emitted)
	// Tick drives Run's polls (default: a ticker of PollInterval).
	Tick <-chan time.Time
}

// PollInterval is how often Run reads new lines.
const PollInterval = time.Second

// stateFile is the name of the positions file in StateDir.
const stateFile = "metric-filters.json"

// savedState is the positions file's content.
type savedState struct {
	// Groups are the log groups that were followed: their streams that
	// have no position yet are new and read from their beginning.
	Groups []string `json:"groups"`
	// Streams are the read positions.
	Streams []savedStream `json:"streams"`
}

type savedStream struct {
	Group    string   `json:"group"`
	Stream   string   `json:"stream"`
	Position position `json:"position"`
}

// Follower applies metric filters to the lines written to their log
// groups, reading each stream from where it stopped; it persists its
// read positions so a restart neither counts a line twice nor skips one
// (but for a crash between emitting a poll's datums and saving its
// positions, which counts that poll's lines again). A group's streams are
// read from their end when a filter first follows the group (AWS counts
// only events written after a metric filter is created), and from their
// beginning when they appear later. Its methods are safe for concurrent
// use.
type Follower struct {
	opts FollowerOptions
	log  *slog.Logger

	// mu guards the fields that follow.
	mu      sync.Mutex
	filters []MetricFilter
	loaded  bool
	groups  map[string]bool
	follows map[[2]string]*follow
	saved   []byte // the positions file's content as last written
}

// NewFollower returns a Follower; it reads nothing until Poll or Run.
func NewFollower(opts FollowerOptions) *Follower {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Emit == nil {
		opts.Emit = func([]Emitted) {}
	}
	return &Follower{opts: opts, log: log, groups: make(map[string]bool), follows: make(map[[2]string]*follow)}
}

// SetFilters replaces the metric filters, from the next poll on. Check
// each filter's Transformation with Validate first; a filter whose lines
// yield no value (a missing field, a value that is not a number) emits
// nothing for them.
func (f *Follower) SetFilters(filters []MetricFilter) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = slices.Clone(filters)
}

// Run polls at every tick until ctx ends, then returns nil. It polls once
// at the start.
func (f *Follower) Run(ctx context.Context) error {
	tick := f.opts.Tick
	if tick == nil {
		t := time.NewTicker(PollInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		if err := f.Poll(); err != nil {
			f.log.Warn("metric filters: poll", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		}
	}
}

// bucketKey identifies one datum.
type bucketKey struct {
	filter int
	dims   string
	second int64
}

type bucket struct {
	dims       map[string]string
	sum, count float64
	values     []float64
}

// Poll reads the lines written since the last poll, applies the filters
// and emits their datums, then saves the read positions. A stream that
// cannot be read is logged and skipped.
func (f *Follower) Poll() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.loaded {
		f.load()
		f.loaded = true
	}
	byGroup := make(map[string][]int)
	for i, mf := range f.filters {
		byGroup[mf.Group] = append(byGroup[mf.Group], i)
	}
	buckets := make(map[bucketKey]*bucket)
	for _, s := range f.opts.Source.Streams() {
		idx := byGroup[s.Group]
		if len(idx) == 0 {
			continue
		}
		k := [2]string{s.Group, s.Stream}
		fl := f.follows[k]
		if fl == nil {
			fl = &follow{}
			if !f.groups[s.Group] {
				p, err := endPosition(s)
				if err != nil {
					f.log.Warn("metric filters: find the end of a stream", "group", s.Group, "stream", s.Stream, "err", err)
					continue
				}
				fl.pos = &p
			}
			f.follows[k] = fl
		}
		err := fl.advance(s, func(e Event) error {
			for _, i := range idx {
				f.apply(i, e, buckets)
			}
			return nil
		})
		if err != nil {
			f.log.Warn("metric filters: read a stream", "group", s.Group, "stream", s.Stream, "err", err)
		}
	}
	for g := range byGroup {
		f.groups[g] = true
	}
	out := f.datums(buckets)
	if len(out) > 0 {
		f.opts.Emit(out)
	}
	return f.save()
}

// apply feeds event e to filter i.
func (f *Follower) apply(i int, e Event, buckets map[bucketKey]*bucket) {
	mf := f.filters[i]
	m, ok := mf.Pattern.Match(e.Message)
	if !ok {
		return
	}
	v, dims, ok := mf.Transformation.Apply(m)
	if !ok {
		return
	}
	k := bucketKey{filter: i, dims: dimsKey(dims), second: e.Timestamp.Unix()}
	b := buckets[k]
	if b == nil {
		b = &bucket{dims: dims}
		buckets[k] = b
	}
	b.sum += v
	b.count++
	b.values = append(b.values, v)
}

// datums turns buckets into datums, adding DefaultValue datums for
// filters without any.
func (f *Follower) datums(buckets map[bucketKey]*bucket) []Emitted {
	keys := slices.Collect(maps.Keys(buckets))
	slices.SortFunc(keys, func(a, b bucketKey) int {
		return cmp.Or(cmp.Compare(a.filter, b.filter), cmp.Compare(a.second, b.second), strings.Compare(a.dims, b.dims))
	})
	var out []Emitted
	has := make(map[int]bool)
	for _, k := range keys {
		b := buckets[k]
		d := f.datum(k.filter, time.Unix(k.second, 0).UTC(), b.dims, b.sum, b.count)
		d.Values = b.values
		out = append(out, d)
		has[k.filter] = true
	}
	now := f.opts.Now().Truncate(time.Second).UTC()
	for i, mf := range f.filters {
		if d := mf.Transformation.DefaultValue; d != nil && !has[i] {
			dv := f.datum(i, now, nil, *d, 1)
			dv.Values = []float64{*d}
			out = append(out, dv)
		}
	}
	return out
}

func (f *Follower) datum(i int, ts time.Time, dims map[string]string, sum, count float64) Emitted {
	mf := f.filters[i]
	t := mf.Transformation
	return Emitted{Filter: mf.Name, Group: mf.Group, Namespace: t.MetricNamespace, Name: t.MetricName,
		Dimensions: dims, Unit: t.Unit, Timestamp: ts, Sum: sum, Count: count}
}

// dimsKey is a canonical text of dims.
func dimsKey(dims map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(dims)) {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(dims[k])
		b.WriteByte(0)
	}
	return b.String()
}

// load reads the saved positions; a missing or unreadable file starts
// afresh (unreadable ones are logged).
func (f *Follower) load() {
	if f.opts.StateDir == "" {
		return
	}
	path := filepath.Join(f.opts.StateDir, stateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var st savedState
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		f.log.Warn("metric filters: saved read positions are unreadable; counting from the streams' ends", "path", path, "err", err)
		return
	}
	for _, g := range st.Groups {
		f.groups[g] = true
	}
	for _, s := range st.Streams {
		p := s.Position
		f.follows[[2]string{s.Group, s.Stream}] = &follow{pos: &p}
	}
}

// save writes the positions atomically: a temporary file renamed over
// the old one.
func (f *Follower) save() error {
	if f.opts.StateDir == "" {
		return nil
	}
	st := savedState{Groups: slices.Sorted(maps.Keys(f.groups))}
	for k, fl := range f.follows {
		if fl.pos != nil {
			st.Streams = append(st.Streams, savedStream{Group: k[0], Stream: k[1], Position: *fl.pos})
		}
	}
	slices.SortFunc(st.Streams, func(a, b savedStream) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Stream, b.Stream))
	})
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("loggroup: encode read positions: %w", err)
	}
	b = append(b, '\n')
	if bytes.Equal(b, f.saved) {
		return nil
	}
	if err := os.MkdirAll(f.opts.StateDir, 0o755); err != nil {
		return fmt.Errorf("loggroup: StateDir %q: %w; make it a writable directory", f.opts.StateDir, err)
	}
	tmp, err := os.CreateTemp(f.opts.StateDir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("loggroup: StateDir %q: %w; make it a writable directory", f.opts.StateDir, err)
	}
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("loggroup: write read positions to %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(f.opts.StateDir, stateFile)); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("loggroup: save read positions in %s: %w", f.opts.StateDir, err)
	}
	f.saved = b
	return nil
}
