package metric

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is the family of a statistic.
type Kind int

// The statistic families CloudWatch knows.
const (
	// KindSampleCount is SampleCount.
	KindSampleCount Kind = iota + 1
	// KindSum is Sum.
	KindSum
	// KindAverage is Average.
	KindAverage
	// KindMinimum is Minimum.
	KindMinimum
	// KindMaximum is Maximum.
	KindMaximum
	// KindPercentile is pNN: the value below which NN % of the samples
	// lie.
	KindPercentile
	// KindTrimmedMean is tmNN / TM(a:b) / IQM: the mean of the samples
	// within the bounds.
	KindTrimmedMean
	// KindWinsorizedMean is wmNN / WM(a:b): the mean with samples outside
	// the bounds moved onto them.
	KindWinsorizedMean
	// KindTrimmedCount is tcNN / TC(a:b): how many samples lie within the
	// bounds.
	KindTrimmedCount
	// KindTrimmedSum is tsNN / TS(a:b): the sum of the samples within the
	// bounds.
	KindTrimmedSum
	// KindPercentileRank is PR(a:b): the percentage of samples within
	// the (absolute) bounds.
	KindPercentileRank
)

// Statistic is a parsed statistic name: one of the five basic statistics
// or an extended one (percentile, trimmed mean, …) that needs the
// distribution of the samples. The zero Statistic is invalid.
type Statistic struct {
	text string
	kind Kind
	// p is the percentile of KindPercentile (0–100).
	p float64
	// lo and hi are the bounds of the range statistics: percentages
	// (0–100) when percent, values otherwise; -Inf/+Inf (or 0/100) when
	// open.
	lo, hi  float64
	percent bool
}

// The basic statistics, ready parsed.
var (
	// SampleCount is the SampleCount statistic.
	SampleCount = Statistic{text: "SampleCount", kind: KindSampleCount}
	// Sum is the Sum statistic.
	Sum = Statistic{text: "Sum", kind: KindSum}
	// Average is the Average statistic.
	Average = Statistic{text: "Average", kind: KindAverage}
	// Minimum is the Minimum statistic.
	Minimum = Statistic{text: "Minimum", kind: KindMinimum}
	// Maximum is the Maximum statistic.
	Maximum = Statistic{text: "Maximum", kind: KindMaximum}
)

// String returns the statistic's name as it was given, e.g. "p99.9" or
// "TM(10%:90%)"; datapoints key their values by it.
func (s Statistic) String() string { return s.text }

// Kind returns the statistic's family.
func (s Statistic) Kind() Kind { return s.kind }

// Extended reports whether s needs the samples' distribution (a
// percentile or a trimmed, winsorized or rank statistic) rather than the
// statistic set alone.
func (s Statistic) Extended() bool { return s.kind >= KindPercentile }

// Percentile returns the percentile (0–100) of a pNN statistic.
func (s Statistic) Percentile() float64 { return s.p }

// Bounds returns the range of a TM/WM/TC/TS/PR statistic: percentages
// (0–100) when percent is true, values otherwise. Open bounds are 0/100
// for percentages and -Inf/+Inf for values. A sample v is in range when
// lo < v <= hi (by rank for percentages).
func (s Statistic) Bounds() (lo, hi float64, percent bool) { return s.lo, s.hi, s.percent }

// ParseStatistic parses a statistic name as CloudWatch accepts it:
// SampleCount, Sum, Average, Minimum, Maximum (exact case); pNN and
// pNN.NN (0–100); tmNN, wmNN, tcNN, tsNN (the shorthand for the range
// from 0 % to NN %); TM, WM, TC, TS with two bounds in parentheses, both
// percentages ("TM(10%:90%)") or both values ("TM(150:1000)"), either
// may be left out ("TM(:95%)"); IQM (TM(25%:75%)); PR with value bounds
// ("PR(:300)", "PR(100:2000)"). The prefixes of the extended statistics
// are accepted in lower or upper case (p99 and P99).
func ParseStatistic(s string) (Statistic, error) {
	switch s {
	case "SampleCount":
		return SampleCount, nil
	case "Sum":
		return Sum, nil
	case "Average":
		return Average, nil
	case "Minimum":
		return Minimum, nil
	case "Maximum":
		return Maximum, nil
	}
	if strings.EqualFold(s, "IQM") {
		return Statistic{text: s, kind: KindTrimmedMean, lo: 25, hi: 75, percent: true}, nil
	}
	low := strings.ToLower(s)
	for _, f := range []struct {
		prefix string
		kind   Kind
	}{
		{"tm", KindTrimmedMean}, {"wm", KindWinsorizedMean}, {"tc", KindTrimmedCount},
		{"ts", KindTrimmedSum}, {"pr", KindPercentileRank}, {"p", KindPercentile},
	} {
		rest, ok := strings.CutPrefix(low, f.prefix)
		if !ok {
			continue
		}
		st := Statistic{text: s, kind: f.kind}
		if strings.HasPrefix(rest, "(") {
			if f.kind == KindPercentile {
				break
			}
			return parseRange(st, s, rest)
		}
		if f.kind == KindPercentileRank {
			break
		}
		p, err := parsePercent(rest)
		if err != nil {
			return Statistic{}, statErr(s, err.Error())
		}
		if f.kind == KindPercentile {
			st.p = p
			return st, nil
		}
		st.lo, st.hi, st.percent = 0, p, true
		return st, nil
	}
	return Statistic{}, statErr(s, "not a statistic; use SampleCount, Sum, Average, Minimum, Maximum or an extended statistic such as p99, tm90, TM(10%:90%), IQM, wm98, tc90, ts90 or PR(:300)")
}

func statErr(s, msg string) error {
	return &Error{Code: CodeInvalidValue, Field: "Statistics", Message: fmt.Sprintf("statistic %q: %s", s, msg)}
}

// parsePercent parses NN or NN.NN in 0–100.
func parsePercent(t string) (float64, error) {
	if t == "" || strings.ContainsAny(t, "eE+-_ ") {
		return 0, fmt.Errorf("%q is not a percentage; write a number from 0 to 100 such as 99 or 99.9", t)
	}
	if i := strings.IndexByte(t, '.'); i >= 0 && len(t)-i-1 > 10 {
		return 0, fmt.Errorf("%q has more than 10 decimal places; round it", t)
	}
	p, err := strconv.ParseFloat(t, 64)
	if err != nil || p < 0 || p > 100 {
		return 0, fmt.Errorf("%q is not a percentage from 0 to 100", t)
	}
	return p, nil
}

// parseRange parses "(a:b)" after a range statistic's prefix.
func parseRange(st Statistic, orig, rest string) (Statistic, error) {
	inner, ok := strings.CutSuffix(strings.TrimPrefix(rest, "("), ")")
	lo, hi, ok2 := strings.Cut(inner, ":")
	if !ok || !ok2 {
		return Statistic{}, statErr(orig, "bounds must be written (a:b), e.g. TM(10%:90%) or PR(100:2000)")
	}
	if lo == "" && hi == "" {
		return Statistic{}, statErr(orig, "give at least one bound, e.g. TM(:90%)")
	}
	pct := strings.HasSuffix(lo, "%") || strings.HasSuffix(hi, "%")
	if pct {
		if st.kind == KindPercentileRank {
			return Statistic{}, statErr(orig, "PR takes value bounds, not percentages, e.g. PR(:300)")
		}
		if (lo != "" && !strings.HasSuffix(lo, "%")) || (hi != "" && !strings.HasSuffix(hi, "%")) {
			return Statistic{}, statErr(orig, "both bounds must be percentages or both values, e.g. TM(10%:90%) or TM(150:1000)")
		}
		st.percent, st.lo, st.hi = true, 0, 100
		var err error
		if lo != "" {
			if st.lo, err = parsePercent(strings.TrimSuffix(lo, "%")); err != nil {
				return Statistic{}, statErr(orig, err.Error())
			}
		}
		if hi != "" {
			if st.hi, err = parsePercent(strings.TrimSuffix(hi, "%")); err != nil {
				return Statistic{}, statErr(orig, err.Error())
			}
		}
	} else {
		st.lo, st.hi = math.Inf(-1), math.Inf(1)
		for _, b := range []struct {
			t string
			v *float64
		}{{lo, &st.lo}, {hi, &st.hi}} {
			if b.t == "" {
				continue
			}
			v, err := strconv.ParseFloat(b.t, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return Statistic{}, statErr(orig, fmt.Sprintf("bound %q is not a number", b.t))
			}
			*b.v = v
		}
	}
	if st.lo >= st.hi {
		return Statistic{}, statErr(orig, "the lower bound must be below the upper bound")
	}
	return st, nil
}
