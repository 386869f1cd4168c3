package top

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// sparkRunes are the eight heights of a sparkline cell, lowest first.
var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws values as a one-line bar chart exactly width cells wide,
// the newest value at the right edge: only the last width values are
// shown and a shorter history is padded with spaces on the left. Heights
// scale from zero (or the smallest value, when one is negative) to the
// largest value; NaN draws as a space.
func Sparkline(values []float64, width int) string {
	if width <= 0 {
		return ""
	}
	if len(values) > width {
		values = values[len(values)-width:]
	}
	lo, hi := bounds([][]float64{values})
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", width-len(values)))
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b.WriteByte(' ')
			continue
		}
		i := int(math.Round((v - lo) / (hi - lo) * float64(len(sparkRunes)-1)))
		b.WriteRune(sparkRunes[min(max(i, 0), len(sparkRunes)-1)])
	}
	return b.String()
}

// bounds returns the range a chart of the values spans: from zero, or the
// smallest value when one is negative, to the largest value, never empty.
func bounds(series [][]float64) (lo, hi float64) {
	lo, hi = 0, math.Inf(-1)
	for _, vs := range series {
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(hi, -1) || hi < lo {
		hi = lo
	}
	if hi == lo {
		hi = lo + 1
	}
	return lo, hi
}

// brailleBits are the dot bits of a braille cell, indexed [row][column]
// for its 4×2 dots.
var brailleBits = [4][2]rune{{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}}

// chartCell is one cell of a chart's plot area: its braille dots and the
// series that set a dot last (-1 for none).
type chartCell struct {
	dots   rune
	series int
}

// chart is a chart laid out in cells: the y-axis labels of each plot line,
// the plot cells and the x-axis line under them.
type chart struct {
	labelWidth int
	labels     []string
	cells      [][]chartCell
	xAxis      string
}

// Chart draws series as a braille line chart width cells wide and height
// lines tall: a y-axis with the top, middle and bottom values on the left,
// and under the plot an x-axis with the first and last times. Points are
// placed by time (by index when a series has no times) and joined by
// lines. Series with no values draw nothing; a chart with no values at all
// says "no data".
func Chart(series []Series, width, height int) string {
	c := layoutChart(series, width, height)
	if c == nil {
		return ""
	}
	var b strings.Builder
	for i, row := range c.cells {
		b.WriteString(c.labels[i])
		for _, cell := range row {
			b.WriteRune(cellRune(cell))
		}
		b.WriteByte('\n')
	}
	b.WriteString(c.xAxis)
	return b.String()
}

func cellRune(c chartCell) rune {
	if c.dots == 0 {
		return ' '
	}
	return 0x2800 + c.dots
}

// layoutChart computes a chart's cells; nil when width or height leave no
// room for a plot.
func layoutChart(series []Series, width, height int) *chart {
	values := make([][]float64, len(series))
	for i, s := range series {
		values[i] = s.Values
	}
	lo, hi := bounds(values)
	top, mid, bottom := formatValue(hi), formatValue((lo+hi)/2), formatValue(lo)
	plotH := height - 1
	if plotH < 3 {
		mid = "" // no line of its own
	}
	labelWidth := max(len(top), len(mid), len(bottom)) + 2
	plotW := width - labelWidth
	if plotW < 2 || plotH < 1 {
		return nil
	}
	c := &chart{labelWidth: labelWidth, labels: make([]string, plotH), cells: make([][]chartCell, plotH)}
	for i := range c.cells {
		c.cells[i] = make([]chartCell, plotW)
		for j := range c.cells[i] {
			c.cells[i][j].series = -1
		}
		label := ""
		switch i {
		case 0:
			label = top
		case plotH - 1:
			label = bottom
		case (plotH - 1) / 2:
			label = mid
		}
		tick := "┤"
		if label == "" {
			tick = "│"
		}
		c.labels[i] = strings.Repeat(" ", labelWidth-2-len(label)) + label + " " + tick
	}

	t0, t1, timed := timeSpan(series)
	dotsW, dotsH := plotW*2, plotH*4
	drawn := false
	for si, s := range series {
		px, py := -1, -1
		for k, v := range s.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				px = -1
				continue
			}
			var fx float64
			switch {
			case timed && k < len(s.Times) && t1.After(t0):
				fx = float64(s.Times[k].Sub(t0)) / float64(t1.Sub(t0))
			case len(s.Values) > 1:
				fx = float64(k) / float64(len(s.Values)-1)
			default:
				fx = 1
			}
			x := int(math.Round(fx * float64(dotsW-1)))
			y := dotsH - 1 - int(math.Round((v-lo)/(hi-lo)*float64(dotsH-1)))
			if px < 0 {
				c.dot(x, y, si)
			} else {
				c.line(px, py, x, y, si)
			}
			px, py, drawn = x, y, true
		}
	}
	if !drawn {
		msg := "no data"
		row := c.cells[(plotH-1)/2]
		start := max((plotW-len(msg))/2, 0)
		c.labels[(plotH-1)/2] += strings.Repeat(" ", start) + msg
		c.cells[(plotH-1)/2] = row[:max(plotW-start-len(msg), 0)]
	}

	axis := strings.Repeat(" ", labelWidth-1) + "└" + strings.Repeat("─", plotW)
	if timed && t1.After(t0) {
		first, last := t0.Format("15:04:05"), t1.Format("15:04:05")
		if t1.Sub(t0) >= 24*time.Hour {
			first, last = t0.Format("01-02 15:04"), t1.Format("01-02 15:04")
		}
		if plotW >= len(first)+len(last)+2 {
			axis = strings.Repeat(" ", labelWidth) + first + strings.Repeat(" ", plotW-len(first)-len(last)) + last
		}
	}
	c.xAxis = axis
	return c
}

// timeSpan returns the earliest and latest time of the series, and
// whether any series has times.
func timeSpan(series []Series) (t0, t1 time.Time, ok bool) {
	for _, s := range series {
		for _, t := range s.Times {
			if !ok || t.Before(t0) {
				t0 = t
			}
			if !ok || t.After(t1) {
				t1 = t
			}
			ok = true
		}
	}
	return t0, t1, ok
}

func (c *chart) dot(x, y, series int) {
	row, col := y/4, x/2
	if row < 0 || row >= len(c.cells) || col < 0 || col >= len(c.cells[row]) {
		return
	}
	c.cells[row][col].dots |= brailleBits[y%4][x%2]
	c.cells[row][col].series = series
}

// line sets the dots from (x0, y0) to (x1, y1) (Bresenham's algorithm).
func (c *chart) line(x0, y0, x1, y1, series int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		c.dot(x0, y0, series)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// formatValue shows a number in at most about six characters: 0.25, 42.5,
// 1.2k, 3.4M.
func formatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "–"
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', 1, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	case a >= 100 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// formatBytes shows a byte count with a binary unit: 512 B, 1.5 MiB.
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, suffix := float64(n), []string{"KiB", "MiB", "GiB", "TiB"}
	i := -1
	for v >= unit && i < len(suffix)-1 {
		v /= unit
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + suffix[i]
}

// bar draws fraction (0–1) as a bar of width cells: filled, then light.
func bar(fraction float64, width int) (filled, empty string) {
	if math.IsNaN(fraction) {
		fraction = 0
	}
	n := int(math.Round(math.Min(math.Max(fraction, 0), 1) * float64(width)))
	return strings.Repeat("█", n), strings.Repeat("░", width-n)
}

// formatAge shows how long ago something happened: 42s, 5m, 3h, 2d.
func formatAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	default:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
}
