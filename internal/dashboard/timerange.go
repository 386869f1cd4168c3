package dashboard

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
)

// notBefore starts the problem of a start that is not before its end.
const notBefore = "is not before the end"

// DefaultRange is how far back a dashboard looks when its body names no
// start.
const DefaultRange = 3 * time.Hour

// durationPattern matches an ISO 8601 duration with a leading minus, as
// dashboards write relative times: "-PT3H", "-P1D", "-P1W", "-PT15M",
// "-P1DT12H".
//
// Regular expressions are compiled on first use rather than at every
// start of the binary (each instance shim, each CLI command).
var durationPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^-P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)
})

// Lengths of the calendar units of a relative time, as CloudWatch counts
// them.
var durationUnits = [...]time.Duration{
	365 * 24 * time.Hour, // Y
	30 * 24 * time.Hour,  // M (months)
	7 * 24 * time.Hour,   // W
	24 * time.Hour,       // D
	time.Hour,            // H
	time.Minute,          // M (minutes)
	time.Second,          // S
}

// ParseRange turns a body's start and end into times. Each is an ISO 8601
// duration before now ("-PT3H", "-P1D") or an RFC 3339 time; an empty
// start is DefaultRange before the end, an empty end is now. The start
// must come before the end.
func ParseRange(start, end string, now time.Time) (time.Time, time.Time, error) {
	var l fielderr.List
	e := now
	if end != "" {
		if t, err := parseTime(end, now); err != nil {
			l.Add("end", end, err.Error(), `use a duration before now such as "-PT1H" or an RFC 3339 time such as "2026-01-02T15:04:05Z"`)
		} else {
			e = t
		}
	}
	s := e.Add(-DefaultRange)
	if start != "" {
		if t, err := parseTime(start, now); err != nil {
			l.Add("start", start, err.Error(), `use a duration before now such as "-PT3H" or "-P1D", or an RFC 3339 time such as "2026-01-02T15:04:05Z"`)
		} else {
			s = t
		}
	}
	if len(l) == 0 && !s.Before(e) {
		l.Add("start", start, fmt.Sprintf(notBefore+" (%s)", e.Format(time.RFC3339)),
			"pick a start earlier than the end")
	}
	if err := l.Err(); err != nil {
		return time.Time{}, time.Time{}, err
	}
	return s, e, nil
}

func parseTime(v string, now time.Time) (time.Time, error) {
	if len(v) > 0 && v[0] == '-' {
		d, err := parseRelative(v)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("is neither a duration before now nor an RFC 3339 time")
	}
	return t, nil
}

// parseRelative returns the length of a relative time such as "-PT3H".
func parseRelative(v string) (time.Duration, error) {
	m := durationPattern().FindStringSubmatch(v)
	if m == nil || v == "-P" || v == "-PT" || v[len(v)-1] == 'T' {
		return 0, fmt.Errorf("is not an ISO 8601 duration")
	}
	var d time.Duration
	for i, unit := range durationUnits {
		part := m[i+1]
		if part == "" {
			continue
		}
		n, err := strconv.ParseFloat(part, 64)
		if err != nil {
			return 0, fmt.Errorf("is not an ISO 8601 duration: %w", err)
		}
		d += time.Duration(n * float64(unit))
	}
	if d <= 0 {
		return 0, fmt.Errorf("is an empty duration")
	}
	return d, nil
}

// checkRange adds the problems of a body's start and end to l. The order
// of the two is checked only when it does not depend on when the dashboard
// is viewed: both relative (an empty end is now), or both RFC 3339 times.
func checkRange(l *fielderr.List, start, end string) {
	_, _, err := ParseRange(start, end, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	list, _ := err.(fielderr.List)
	orderFixed := isRelative(start) == (end == "" || isRelative(end))
	for _, e := range list {
		if e.Path == "start" && strings.HasPrefix(e.Problem, notBefore) && !orderFixed {
			continue
		}
		*l = append(*l, e)
	}
}

func isRelative(v string) bool { return len(v) > 0 && v[0] == '-' }
