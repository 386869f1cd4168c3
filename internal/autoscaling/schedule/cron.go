package schedule

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/fielderr"
)

// cronField describes one of the five fields of a recurrence.
type cronField struct {
	name     string
	min, max int
	names    []string // names[i] is the name of value min+i, if the field has names
}

var cronFields = [5]cronField{
	{name: "Minute", min: 0, max: 59},
	{name: "Hour", min: 0, max: 23},
	{name: "DayOfMonth", min: 1, max: 31},
	{name: "Month", min: 1, max: 12, names: []string{
		"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	// 7 is accepted as Sunday, as in Unix cron; it is folded into 0.
	{name: "DayOfWeek", min: 0, max: 7, names: []string{
		"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

// cronSpec is a parsed recurrence: one bit set per field, bit v set when
// value v matches.
type cronSpec struct {
	minute, hour, dom, month, dow uint64
	// domStar and dowStar record that the field began with "*": Unix cron
	// then matches a day on the other day field alone; when neither begins
	// with "*" a day matches if either field matches.
	domStar, dowStar bool
}

// parseCron parses a 5-field Unix cron expression
// "Minute Hour DayOfMonth Month DayOfWeek". Each field is a comma-separated
// list of "*", a value, a range "a-b", optionally followed by a step "/n"
// ("*/15", "1-30/2", "5/10" meaning 5 to the maximum every 10). Month and
// DayOfWeek also take the names JAN-DEC and SUN-SAT, in any case. The
// errors are fielderr errors at path "Recurrence.<field>".
func parseCron(expr string) (cronSpec, error) {
	var s cronSpec
	parts := strings.Fields(expr)
	if len(parts) != 5 {
		return s, fielderr.New("Recurrence", expr,
			fmt.Sprintf("has %d fields, not 5", len(parts)),
			`write five fields "Minute Hour DayOfMonth Month DayOfWeek", e.g. "30 0 1 1,6,12 *"`)
	}
	var bits [5]uint64
	for i, p := range parts {
		b, err := parseCronField(cronFields[i], p)
		if err != nil {
			return s, err
		}
		bits[i] = b
	}
	if bits[4]&(1<<7) != 0 {
		bits[4] = bits[4]&^(1<<7) | 1
	}
	s = cronSpec{
		minute: bits[0], hour: bits[1], dom: bits[2], month: bits[3], dow: bits[4],
		domStar: strings.HasPrefix(parts[2], "*"),
		dowStar: strings.HasPrefix(parts[4], "*"),
	}
	return s, nil
}

func parseCronField(f cronField, text string) (uint64, error) {
	path := "Recurrence." + f.name
	fail := func(value, problem string) error {
		return fielderr.New(path, value, problem, f.fix())
	}
	var bits uint64
	for _, item := range strings.Split(text, ",") {
		if item == "" {
			return 0, fail(text, "has an empty list item")
		}
		rangePart, stepPart, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepPart)
			if err != nil || n < 1 || n > f.max-f.min+1 {
				return 0, fail(item, fmt.Sprintf("has a step that is not a whole number from 1 to %d", f.max-f.min+1))
			}
			step = n
		}
		lo, hi := f.min, f.max
		switch {
		case rangePart == "*":
			if f.name == "DayOfWeek" {
				hi = 6 // "*" is every day once, not Sunday twice
			}
		case strings.Contains(rangePart, "-"):
			a, b, _ := strings.Cut(rangePart, "-")
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, fail(item, err.Error())
			}
			if hi, err = f.value(b); err != nil {
				return 0, fail(item, err.Error())
			}
			if lo > hi {
				return 0, fail(item, "has a range whose start is after its end")
			}
		default:
			v, err := f.value(rangePart)
			if err != nil {
				return 0, fail(item, err.Error())
			}
			lo = v
			switch {
			case !hasStep:
				hi = v
			case f.name == "DayOfWeek":
				hi = 6
			}
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << uint(v)
		}
	}
	return bits, nil
}

// value parses one value of the field: a number in range or, for Month and
// DayOfWeek, a three-letter name.
func (f cronField) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("has %q, which is neither a number nor a name", s)
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("has %d, which is out of range %d-%d", v, f.min, f.max)
	}
	return v, nil
}

func (f cronField) fix() string {
	fix := fmt.Sprintf("use values %d-%d, ranges a-b, lists a,b, steps */n or a-b/n", f.min, f.max)
	if len(f.names) > 0 {
		fix += fmt.Sprintf(", or the names %s-%s", f.names[0], f.names[len(f.names)-1])
	}
	return fix
}

// dayMatches reports whether the day of month dom (1-31) with weekday dow
// (0 = Sunday) matches, with Unix cron's rule for the two day fields.
func (s cronSpec) dayMatches(dom, dow int) bool {
	domOK := s.dom&(1<<uint(dom)) != 0
	dowOK := s.dow&(1<<uint(dow)) != 0
	switch {
	case s.domStar && s.dowStar:
		return true
	case s.domStar:
		return dowOK
	case s.dowStar:
		return domOK
	default:
		return domOK || dowOK
	}
}
