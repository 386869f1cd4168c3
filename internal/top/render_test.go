package top

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSparkline(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		width  int
		want   string
	}{
		{name: "rising", values: []float64{0, 1, 2, 3, 4, 5, 6, 7}, width: 8, want: "▁▂▃▄▅▆▇█"},
		{name: "scales from zero", values: []float64{50, 100}, width: 2, want: "▅█"},
		{name: "short history pads on the left", values: []float64{1, 2}, width: 5, want: "   ▅█"},
		{name: "long history keeps the newest", values: []float64{9, 9, 9, 0, 8}, width: 2, want: "▁█"},
		{name: "all zero", values: []float64{0, 0, 0}, width: 3, want: "▁▁▁"},
		{name: "negative values", values: []float64{-1, 0, 1}, width: 3, want: "▁▅█"},
		{name: "NaN is a gap", values: []float64{1, math.NaN(), 1}, width: 3, want: "█ █"},
		{name: "no values", values: nil, width: 4, want: "    "},
		{name: "zero width", values: []float64{1}, width: 0, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sparkline(tt.values, tt.width)
			if got != tt.want {
				t.Errorf("Sparkline(%v, %d) = %q, want %q", tt.values, tt.width, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n != max(tt.width, 0) {
				t.Errorf("Sparkline is %d cells wide, want %d", n, tt.width)
			}
		})
	}
}

func TestChart(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		series        []Series
		width, height int
		want          string
	}{
		{
			name:   "flat line at the top",
			series: []Series{{Values: []float64{1, 1, 1}}},
			width:  6, height: 2,
			want: "1 ┤⠉⠉⠉\n" +
				"  └───",
		},
		{
			name:   "rising by index",
			series: []Series{{Values: []float64{0, 1}}},
			width:  9, height: 3,
			want: "1 ┤   ⣀⡴⠚\n" +
				"0 ┤⣀⡴⠚⠁  \n" +
				"  └──────",
		},
		{
			name: "times label the x-axis",
			series: []Series{{Times: []time.Time{t0, t0.Add(time.Minute)}, Values: []float64{2, 2}},
				{Times: []time.Time{t0.Add(30 * time.Second)}, Values: []float64{0}}},
			width: 24, height: 3,
			want: "2 ┤⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉\n" +
				"0 ┤          ⢀          \n" +
				"   12:00:00     12:01:00",
		},
		{
			name:   "no data",
			series: []Series{{Values: []float64{math.NaN()}}},
			width:  14, height: 2,
			want: "1 ┤  no data  \n" +
				"  └───────────",
		},
		{name: "too small", series: []Series{{Values: []float64{1}}}, width: 3, height: 1, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Chart(tt.series, tt.width, tt.height)
			if got != tt.want {
				t.Errorf("Chart =\n%s\nwant\n%s\n(%q)", got, tt.want, got)
			}
		})
	}
}

func TestChartFitsItsBox(t *testing.T) {
	series := []Series{{Values: []float64{3, 1, 4, 1, 5, 9, 2, 6}}, {Values: []float64{-2, 7, 1, 8}}}
	for _, size := range []struct {
		name string
		w, h int
	}{{"small", 12, 3}, {"medium", 40, 10}, {"wide", 120, 6}} {
		t.Run(size.name, func(t *testing.T) {
			lines := strings.Split(Chart(series, size.w, size.h), "\n")
			if len(lines) != size.h {
				t.Errorf("%d lines, want %d", len(lines), size.h)
			}
			for _, l := range lines {
				if n := utf8.RuneCountInString(l); n > size.w {
					t.Errorf("line %q is %d cells, over %d", l, n, size.w)
				}
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		name string
		v    float64
		want string
	}{
		{name: "whole", v: 42, want: "42"},
		{name: "one decimal", v: 4.25, want: "4.2"},
		{name: "small", v: 0.125, want: "0.12"},
		{name: "hundreds round", v: 250.4, want: "250"},
		{name: "thousands", v: 12500, want: "12.5k"},
		{name: "millions", v: 3.4e6, want: "3.4M"},
		{name: "billions", v: 2e9, want: "2.0G"},
		{name: "NaN", v: math.NaN(), want: "–"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatValue(tt.v); got != tt.want {
				t.Errorf("formatValue(%v) = %q, want %q", tt.v, got, tt.want)
			}
		})
	}
}

func TestFormatBytesAndAge(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{name: "bytes", got: formatBytes(512), want: "512 B"},
		{name: "mebibytes", got: formatBytes(1536 << 10), want: "1.5 MiB"},
		{name: "gibibytes", got: formatBytes(3 << 30), want: "3.0 GiB"},
		{name: "seconds", got: formatAge(42 * time.Second), want: "42s"},
		{name: "minutes", got: formatAge(5 * time.Minute), want: "5m"},
		{name: "hours", got: formatAge(3 * time.Hour), want: "3h"},
		{name: "days", got: formatAge(72 * time.Hour), want: "3d"},
		{name: "future", got: formatAge(-time.Second), want: "0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestWrapAndMarkdown(t *testing.T) {
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{name: "wraps at spaces", got: wrapText("one two three four", 9), want: []string{"one two", "three", "four"}},
		{name: "keeps line breaks", got: wrapText("a\n\nb", 5), want: []string{"a", "", "b"}},
		{name: "cuts long words", got: wrapText("abcdefgh", 3), want: []string{"abc", "def", "gh"}},
		{name: "markdown", got: wrapText(plainMarkdown("# Title\n* **bold** [link](http://x) `code`"), 40),
			want: []string{"Title", "• bold link code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Join(tt.got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestBigText(t *testing.T) {
	tests := []struct {
		name  string
		s     string
		width int
	}{
		{name: "digits", s: "1024", width: 15},
		{name: "decimal", s: "4.2", width: 9},
		{name: "suffix", s: "3.4M", width: 15},
		{name: "unknown rune", s: "x", width: 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bigWidth(tt.s); got != tt.width {
				t.Errorf("bigWidth(%q) = %d, want %d", tt.s, got, tt.width)
			}
			if tt.width < 1<<30 {
				for _, l := range bigText(tt.s) {
					if n := utf8.RuneCountInString(l); n != tt.width {
						t.Errorf("line %q is %d wide, want %d", l, n, tt.width)
					}
				}
			}
		})
	}
}
