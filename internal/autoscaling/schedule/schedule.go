// Package schedule implements the scheduled actions of an Auto Scaling group
// (PutScheduledUpdateGroupAction): when each action runs and which actions
// are due in a window of time.
//
// An action either runs once at StartTime (no Recurrence) or on a 5-field
// Unix cron recurrence evaluated in the action's time zone (UTC by default).
// As AWS documents for PutScheduledUpdateGroupAction, when both Recurrence
// and StartTime are given the action runs at StartTime and then on the
// recurrence; StartTime and EndTime bound the recurrence. EndTime is
// inclusive: an occurrence exactly at EndTime still runs.
//
// Daylight saving time. The recurrence names wall-clock times in the time
// zone. A wall-clock time that does not exist (02:30 on a spring-forward day
// in America/New_York) runs at the first instant after the gap (03:00 EDT),
// as Unix cron runs jobs of a skipped hour: a daily scale-out is delayed,
// never lost. Several skipped times collapse into that one run. A wall-clock
// time that occurs twice (01:30 on a fall-back day) runs once, at its first
// occurrence (01:30 EDT). AWS does not document either case.
package schedule

import (
	"fmt"
	"sort"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
)

// Action is one scheduled action of an Auto Scaling group.
type Action struct {
	// Name is the scheduled action's name, 1 to 255 characters.
	Name string
	// Recurrence is a 5-field Unix cron expression
	// "Minute Hour DayOfMonth Month DayOfWeek" (ranges, lists, steps such as
	// */15, the names JAN-DEC and SUN-SAT), or "" for a one-time action
	// that runs at StartTime.
	Recurrence string
	// TimeZone is the IANA name of the zone the recurrence is read in;
	// "" means UTC.
	TimeZone string
	// StartTime, when set, is when the action first runs; EndTime, when
	// set, is the last instant a recurring action may run.
	StartTime, EndTime time.Time
	// MinSize, MaxSize and DesiredCapacity are the sizes the action sets on
	// the group; nil leaves a size unchanged. At least one must be set.
	MinSize, MaxSize, DesiredCapacity *int
}

// Fired is one run of an action.
type Fired struct {
	// Action is the action that runs.
	Action Action
	// At is when it runs.
	At time.Time
}

// Validate checks the action with AWS's rules: a name of 1 to 255
// characters; at least one of MinSize, MaxSize and DesiredCapacity; sizes
// not negative; MinSize ≤ DesiredCapacity ≤ MaxSize and MinSize ≤ MaxSize
// for those given; a recurrence that parses; a known time zone; StartTime
// for a one-time action; EndTime after StartTime. It returns a fielderr.List
// naming each bad field, or nil.
func (a Action) Validate() error {
	var errs fielderr.List
	if n := len(a.Name); n < 1 || n > 255 {
		errs.Add("Name", a.Name, "must have 1 to 255 characters", "name the scheduled action, e.g. \"scale-out-weekdays\"")
	}
	if a.MinSize == nil && a.MaxSize == nil && a.DesiredCapacity == nil {
		errs.Add("MinSize", nil, "is missing, as are MaxSize and DesiredCapacity",
			"set at least one of MinSize, MaxSize and DesiredCapacity")
	}
	for _, sz := range []struct {
		name string
		v    *int
	}{{"MinSize", a.MinSize}, {"MaxSize", a.MaxSize}, {"DesiredCapacity", a.DesiredCapacity}} {
		if sz.v != nil && *sz.v < 0 {
			errs.Add(sz.name, *sz.v, "is negative", "use 0 or more")
		}
	}
	if a.MinSize != nil && a.MaxSize != nil && *a.MinSize > *a.MaxSize {
		errs.Add("MinSize", *a.MinSize, fmt.Sprintf("is greater than MaxSize %d", *a.MaxSize),
			"lower MinSize or raise MaxSize")
	}
	if a.DesiredCapacity != nil {
		if a.MinSize != nil && *a.DesiredCapacity < *a.MinSize {
			errs.Add("DesiredCapacity", *a.DesiredCapacity, fmt.Sprintf("is less than MinSize %d", *a.MinSize),
				"use a DesiredCapacity from MinSize to MaxSize")
		}
		if a.MaxSize != nil && *a.DesiredCapacity > *a.MaxSize {
			errs.Add("DesiredCapacity", *a.DesiredCapacity, fmt.Sprintf("is greater than MaxSize %d", *a.MaxSize),
				"use a DesiredCapacity from MinSize to MaxSize")
		}
	}
	if a.Recurrence != "" {
		if _, err := parseCron(a.Recurrence); err != nil {
			if fe, ok := err.(*fielderr.Error); ok {
				errs = append(errs, fe)
			}
		}
	} else if a.StartTime.IsZero() {
		errs.Add("StartTime", nil, "is missing for a one-time action (no Recurrence)",
			"set StartTime to when the action runs, or set a Recurrence")
	}
	if _, err := location(a.TimeZone); err != nil {
		errs.Add("TimeZone", a.TimeZone, "is not a known IANA time zone",
			`use a name from the IANA time zone database, e.g. "America/New_York", or "" for UTC`)
	}
	if !a.StartTime.IsZero() && !a.EndTime.IsZero() && !a.EndTime.After(a.StartTime) {
		errs.Add("EndTime", a.EndTime.UTC().Format(time.RFC3339),
			"is not after StartTime "+a.StartTime.UTC().Format(time.RFC3339),
			"set EndTime after StartTime, or leave it unset")
	}
	return errs.Err()
}

// ValidateAt is Validate for an action being created or updated at now: it
// also refuses a StartTime before now, as AWS does ("If you try to schedule
// your action in the past, Amazon EC2 Auto Scaling returns an error").
func (a Action) ValidateAt(now time.Time) error {
	var errs fielderr.List
	if err := a.Validate(); err != nil {
		if l, ok := err.(fielderr.List); ok {
			errs = l
		}
	}
	if !a.StartTime.IsZero() && a.StartTime.Before(now) {
		errs.Add("StartTime", a.StartTime.UTC().Format(time.RFC3339),
			"is in the past (now is "+now.UTC().Format(time.RFC3339)+")",
			"set a StartTime from now on, or leave it unset for a recurring action")
	}
	return errs.Err()
}

// location resolves an IANA time zone name; "" is UTC. "Local" is refused:
// it is not a zone name and would make the schedule depend on the host.
func location(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf("time zone %q is not an IANA name", name)
	}
	return time.LoadLocation(name)
}

// maxSearchDays bounds the search for the next matching day. The rarest
// satisfiable recurrence, 29 February (with DayOfWeek "*"), recurs within
// eight years; a recurrence such as "0 0 30 2 *" never matches.
const maxSearchDays = 8*366 + 2

// Next returns the first time the action runs strictly after after, and
// false when it never runs again (or is invalid: see Validate). The
// recurrence is read in the action's time zone; see the package comment for
// the daylight saving time rules.
func (a Action) Next(after time.Time) (time.Time, bool) {
	c, ok := a.compile()
	if !ok {
		return time.Time{}, false
	}
	return c.next(after)
}

// compiled is an action with its recurrence parsed and its zone loaded, so
// that a run of Next calls reads neither again.
type compiled struct {
	a    Action
	spec cronSpec
	loc  *time.Location
}

// compile parses the action's recurrence and loads its zone; false when
// either is invalid.
func (a Action) compile() (compiled, bool) {
	c := compiled{a: a}
	if a.Recurrence == "" {
		return c, true
	}
	var err error
	if c.spec, err = parseCron(a.Recurrence); err != nil {
		return c, false
	}
	if c.loc, err = location(a.TimeZone); err != nil {
		return c, false
	}
	return c, true
}

// next is Next for a compiled action.
func (c compiled) next(after time.Time) (time.Time, bool) {
	a := c.a
	if a.Recurrence == "" {
		if a.StartTime.IsZero() || !a.StartTime.After(after) {
			return time.Time{}, false
		}
		return a.StartTime, true
	}
	var t time.Time
	if !a.StartTime.IsZero() && a.StartTime.After(after) {
		t = a.StartTime
	} else {
		var ok bool
		if t, ok = c.spec.next(after, c.loc); !ok {
			return time.Time{}, false
		}
	}
	if !a.EndTime.IsZero() && t.After(a.EndTime) {
		return time.Time{}, false
	}
	return t, true
}

// next returns the first instant strictly after after whose wall-clock time
// in loc matches the recurrence.
func (s cronSpec) next(after time.Time, loc *time.Location) (time.Time, bool) {
	local := after.In(loc)
	// afterWall is after's wall clock written as if it were UTC; wall-clock
	// candidates more than a day before it cannot resolve to an instant
	// after after, whatever the zone's transitions.
	afterWall := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), time.UTC)
	// Start a day early: a skipped wall-clock time late on the previous
	// day may resolve to an instant after after.
	day := time.Date(local.Year(), local.Month(), local.Day()-1, 0, 0, 0, 0, time.UTC)
	// With no zone transition within 30 hours of after, a wall-clock time
	// not after afterWall resolves to an instant not after after: skip it
	// without resolving.
	start, end := local.ZoneBounds()
	steady := (start.IsZero() || start.Before(after.Add(-30*time.Hour))) &&
		(end.IsZero() || end.After(after.Add(30*time.Hour)))
	for i := 0; i < maxSearchDays; i, day = i+1, day.AddDate(0, 0, 1) {
		if s.month&(1<<uint(day.Month())) == 0 || !s.dayMatches(day.Day(), int(day.Weekday())) {
			continue
		}
		for h := 0; h < 24; h++ {
			if s.hour&(1<<uint(h)) == 0 {
				continue
			}
			for m := 0; m < 60; m++ {
				if s.minute&(1<<uint(m)) == 0 {
					continue
				}
				wall := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
				if wall.Before(afterWall.Add(-24*time.Hour)) || steady && !wall.After(afterWall) {
					continue
				}
				if t := resolve(wall, loc); t.After(after) {
					return t, true
				}
			}
		}
	}
	return time.Time{}, false
}

// resolve turns a wall-clock time in loc (given as the same clock reading in
// UTC) into an instant: the first of two when the time occurs twice, the
// end of the gap when it does not occur.
func resolve(wall time.Time, loc *time.Location) time.Time {
	_, before := wall.Add(-26 * time.Hour).In(loc).Zone()
	_, later := wall.Add(26 * time.Hour).In(loc).Zone()
	var best time.Time
	found := false
	for _, off := range [2]int{before, later} {
		t := wall.Add(-time.Duration(off) * time.Second)
		if _, got := t.In(loc).Zone(); got == off && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	if found {
		return best
	}
	// The wall-clock time falls in a gap. Read with the earlier offset it
	// lands after the transition; the zone that begins there starts at the
	// end of the gap.
	t := wall.Add(-time.Duration(before) * time.Second).In(loc)
	if start, _ := t.ZoneBounds(); !start.IsZero() && !start.After(t) {
		return start
	}
	return t
}

// Due returns the runs of actions in (last, now], in time order; runs at the
// same instant keep the order of actions. This is what a controller that
// ticks with the previous and the current time applies. Invalid actions
// (see Validate) never run. Every run in the
// window is returned, so a controller that was stopped for long gets each
// missed run; it may keep only the latest run of each action.
func Due(actions []Action, last, now time.Time) []Fired {
	type run struct {
		Fired
		index int
	}
	var runs []run
	for i, a := range actions {
		c, ok := a.compile()
		if !ok {
			continue
		}
		t := last
		for {
			next, ok := c.next(t)
			if !ok || next.After(now) {
				break
			}
			runs = append(runs, run{Fired{Action: a, At: next}, i})
			t = next
		}
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if !runs[i].At.Equal(runs[j].At) {
			return runs[i].At.Before(runs[j].At)
		}
		return runs[i].index < runs[j].index
	})
	if len(runs) == 0 {
		return nil
	}
	out := make([]Fired, len(runs))
	for i, r := range runs {
		out[i] = r.Fired
	}
	return out
}
