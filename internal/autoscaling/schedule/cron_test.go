package schedule

import (
	"strings"
	"testing"
)

func bitsOf(vs ...int) uint64 {
	var b uint64
	for _, v := range vs {
		b |= 1 << uint(v)
	}
	return b
}

func rangeBits(lo, hi, step int) uint64 {
	var b uint64
	for v := lo; v <= hi; v += step {
		b |= 1 << uint(v)
	}
	return b
}

func TestParseCronValid(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want cronSpec
	}{
		{"every minute", "* * * * *", cronSpec{
			minute: rangeBits(0, 59, 1), hour: rangeBits(0, 23, 1), dom: rangeBits(1, 31, 1),
			month: rangeBits(1, 12, 1), dow: rangeBits(0, 6, 1), domStar: true, dowStar: true}},
		{"AWS example", "30 0 1 1,6,12 *", cronSpec{
			minute: bitsOf(30), hour: bitsOf(0), dom: bitsOf(1), month: bitsOf(1, 6, 12),
			dow: rangeBits(0, 6, 1), dowStar: true}},
		{"steps and names", "*/15 9-17 * JAN-mar mon-FRI", cronSpec{
			minute: bitsOf(0, 15, 30, 45), hour: rangeBits(9, 17, 1), dom: rangeBits(1, 31, 1),
			month: bitsOf(1, 2, 3), dow: rangeBits(1, 5, 1), domStar: true}},
		{"range with step", "0-30/10 1-23/11 1-31/15 */5 SUN", cronSpec{
			minute: bitsOf(0, 10, 20, 30), hour: bitsOf(1, 12, 23), dom: bitsOf(1, 16, 31),
			month: bitsOf(1, 6, 11), dow: bitsOf(0)}},
		{"value with step runs to the maximum", "5/20 0 1 * *", cronSpec{
			minute: bitsOf(5, 25, 45), hour: bitsOf(0), dom: bitsOf(1),
			month: rangeBits(1, 12, 1), dow: rangeBits(0, 6, 1), dowStar: true}},
		{"7 is Sunday", "0 0 * * 7", cronSpec{
			minute: bitsOf(0), hour: bitsOf(0), dom: rangeBits(1, 31, 1),
			month: rangeBits(1, 12, 1), dow: bitsOf(0), domStar: true}},
		{"both day fields restricted", "0 12 13 * FRI", cronSpec{
			minute: bitsOf(0), hour: bitsOf(12), dom: bitsOf(13),
			month: rangeBits(1, 12, 1), dow: bitsOf(5)}},
		{"extra white space", "  0\t12  * * *  ", cronSpec{
			minute: bitsOf(0), hour: bitsOf(12), dom: rangeBits(1, 31, 1),
			month: rangeBits(1, 12, 1), dow: rangeBits(0, 6, 1), domStar: true, dowStar: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCron(tt.expr)
			if err != nil {
				t.Fatalf("parseCron(%q): %v", tt.expr, err)
			}
			if got != tt.want {
				t.Errorf("parseCron(%q) = %+v, want %+v", tt.expr, got, tt.want)
			}
		})
	}
}

func TestParseCronInvalid(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want []string // substrings of the error
	}{
		{"too few fields", "0 12 * *", []string{"Recurrence", "4 fields", "five fields"}},
		{"too many fields", "0 0 12 * * ?", []string{"Recurrence", "6 fields"}},
		{"minute out of range", "60 * * * *", []string{"Recurrence.Minute", `"60"`, "out of range 0-59", "use values 0-59"}},
		{"hour out of range", "0 24 * * *", []string{"Recurrence.Hour", "out of range 0-23"}},
		{"day of month zero", "0 0 0 * *", []string{"Recurrence.DayOfMonth", "out of range 1-31"}},
		{"day of month 32", "0 0 32 * *", []string{"Recurrence.DayOfMonth", `"32"`}},
		{"month name unknown", "0 0 * JANUARY *", []string{"Recurrence.Month", "JANUARY", "JAN-DEC"}},
		{"month 13", "0 0 * 13 *", []string{"Recurrence.Month", "out of range 1-12"}},
		{"weekday 8", "0 0 * * 8", []string{"Recurrence.DayOfWeek", "out of range 0-7", "SUN-SAT"}},
		{"question mark", "0 0 ? * MON", []string{"Recurrence.DayOfMonth", `"?"`}},
		{"reversed range", "0 17-9 * * *", []string{"Recurrence.Hour", "start is after its end"}},
		{"zero step", "*/0 * * * *", []string{"Recurrence.Minute", "step"}},
		{"step too big", "0 */25 * * *", []string{"Recurrence.Hour", "step", "1 to 24"}},
		{"empty list item", "0,,5 * * * *", []string{"Recurrence.Minute", "empty list item"}},
		{"negative", "-1 * * * *", []string{"Recurrence.Minute"}},
		{"empty", "", []string{"Recurrence", "0 fields"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseCron(tt.expr)
			if err == nil {
				t.Fatalf("parseCron(%q) = nil error, want one", tt.expr)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("parseCron(%q) error %q does not contain %q", tt.expr, err, w)
				}
			}
		})
	}
}

func TestDayMatches(t *testing.T) {
	tests := []struct {
		name     string
		expr     string
		dom, dow int
		want     bool
	}{
		{"both star", "0 0 * * *", 13, 2, true},
		{"dom only, match", "0 0 13 * *", 13, 2, true},
		{"dom only, other day", "0 0 13 * *", 14, 5, false},
		{"dow only, match", "0 0 * * FRI", 14, 5, true},
		{"dow only, other day", "0 0 * * FRI", 13, 2, false},
		{"either: dom matches", "0 0 13 * FRI", 13, 2, true},
		{"either: dow matches", "0 0 13 * FRI", 20, 5, true},
		{"either: neither", "0 0 13 * FRI", 20, 2, false},
		{"dom step counts as star", "0 0 */2 * MON", 3, 2, false},
		{"dom step counts as star, dow matches", "0 0 */2 * MON", 4, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseCron(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.dayMatches(tt.dom, tt.dow); got != tt.want {
				t.Errorf("dayMatches(%d, %d) for %q = %v, want %v", tt.dom, tt.dow, tt.expr, got, tt.want)
			}
		})
	}
}
