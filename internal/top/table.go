package top

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// column is one column of a table.
type column struct {
	title string
	// width is the column's width; for the flex column, its widest.
	width int
	right bool
	// flex makes the column take the room the others leave (at least
	// minFlex cells).
	flex bool
	// drop orders the columns left out when the table is too wide:
	// 1 first, then 2…; 0 never.
	drop int
}

const (
	minFlex   = 8
	columnGap = 2
)

// layout fits columns into w cells: it leaves out droppable columns, in
// their drop order, until the rest fit, then gives the flex column the
// room left.
func layout(cols []column, w int) []column {
	cols = append([]column(nil), cols...)
	for {
		total := -columnGap
		for _, c := range cols {
			total += columnGap
			if c.flex {
				total += minFlex
			} else {
				total += c.width
			}
		}
		if total <= w {
			for i := range cols {
				if cols[i].flex {
					cols[i].width = min(cols[i].width, minFlex+w-total)
				}
			}
			return cols
		}
		next := -1
		for i, c := range cols {
			if c.drop > 0 && (next < 0 || c.drop < cols[next].drop) {
				next = i
			}
		}
		if next < 0 {
			return cols
		}
		cols = append(cols[:next], cols[next+1:]...)
	}
}

// headerLine writes the columns' titles.
func headerLine(cols []column) string {
	cells := map[string]string{}
	for _, c := range cols {
		cells[c.title] = c.title
	}
	return rowLine(cols, cells)
}

// rowLine writes one row: each column's cell fitted to its width.
func rowLine(cols []column, cells map[string]string) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(strings.Repeat(" ", columnGap))
		}
		v := cells[c.title]
		if c.right {
			v = fitRight(v, c.width)
		} else {
			v = fit(v, c.width)
		}
		b.WriteString(v)
	}
	return strings.TrimRight(b.String(), " ")
}

// find returns the column titled title, or nil when layout left it out.
func find(cols []column, title string) *column {
	for i := range cols {
		if cols[i].title == title {
			return &cols[i]
		}
	}
	return nil
}

// widest is the width of the widest value of field among items, at least
// lo (the title's width) and at most hi.
func widest[T any](items []T, lo, hi int, field func(T) string) int {
	w := lo
	for _, it := range items {
		w = max(w, ansi.StringWidth(field(it)))
	}
	return min(w, hi)
}

// fit cuts s (which may hold colour codes) to w cells, ending a cut with
// "…", and pads it with spaces to w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "…")
		n = ansi.StringWidth(s)
	}
	return s + strings.Repeat(" ", w-n)
}

// fitRight is fit with the text set against the right edge.
func fitRight(s string, w int) string {
	n := ansi.StringWidth(s)
	if n >= w {
		return fit(s, w)
	}
	return strings.Repeat(" ", w-n) + s
}
