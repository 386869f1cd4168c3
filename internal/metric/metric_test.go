package metric

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestIDKeyCanonical(t *testing.T) {
	tests := []struct {
		name      string
		a, b      ID
		wantEqual bool
	}{
		{"order of dimensions does not matter",
			ID{"NS", "M", []Dimension{{"A", "1"}, {"B", "2"}}},
			ID{"NS", "M", []Dimension{{"B", "2"}, {"A", "1"}}}, true},
		{"different value", ID{"NS", "M", []Dimension{{"A", "1"}}}, ID{"NS", "M", []Dimension{{"A", "2"}}}, false},
		{"separators cannot collide", ID{"N:S", "M", nil}, ID{"N", "S:M", nil}, false},
		{"no dimensions vs empty", ID{"NS", "M", nil}, ID{"NS", "M", []Dimension{}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Key() == tt.b.Key(); got != tt.wantEqual {
				t.Errorf("Key equal = %v, want %v (%q vs %q)", got, tt.wantEqual, tt.a.Key(), tt.b.Key())
			}
		})
	}
	id := ID{"NS", "M", []Dimension{{"B", "2"}, {"A", "1"}}}
	c := id.Canonical()
	if c.Dimensions[0].Name != "A" || id.Dimensions[0].Name != "B" {
		t.Errorf("Canonical = %v, original %v: want sorted copy, original untouched", c, id)
	}
	if v, ok := id.Dim("A"); !ok || v != "1" {
		t.Errorf("Dim(A) = %q, %v", v, ok)
	}
	if _, ok := id.Dim("C"); ok {
		t.Error("Dim(C) found")
	}
}

func f(v float64) *float64 { return &v }

func TestValidate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := Datum{ID: ID{Namespace: "MyApp", Name: "Latency"}, Value: f(1)}
	with := func(mod func(*Datum)) Datum { d := ok; mod(&d); return d }
	manyDims := make([]Dimension, 31)
	for i := range manyDims {
		manyDims[i] = Dimension{Name: strings.Repeat("d", i+1), Value: "v"}
	}
	tests := []struct {
		name      string
		d         Datum
		custom    bool
		wantCode  string
		wantField string
	}{
		{"valid value", ok, false, "", ""},
		{"valid values with counts", with(func(d *Datum) { d.Value = nil; d.Values = []float64{1, 2}; d.Counts = []float64{1, 0} }), false, "", ""},
		{"valid stat set", with(func(d *Datum) { d.Value = nil; d.StatisticValues = &StatSet{3, 6, 1, 3} }), false, "", ""},
		{"AWS namespace allowed for own collectors", with(func(d *Datum) { d.Namespace = "AWS/EC2" }), false, "", ""},
		{"AWS namespace refused for custom data", with(func(d *Datum) { d.Namespace = "AWS/EC2" }), true, CodeInvalidValue, "Namespace"},
		{"missing namespace", with(func(d *Datum) { d.Namespace = "" }), false, CodeMissing, "Namespace"},
		{"namespace bad char", with(func(d *Datum) { d.Namespace = "My$App" }), false, CodeInvalidValue, "Namespace"},
		{"namespace too long", with(func(d *Datum) { d.Namespace = strings.Repeat("a", 256) }), false, CodeInvalidValue, "Namespace"},
		{"missing name", with(func(d *Datum) { d.Name = "" }), false, CodeMissing, "MetricName"},
		{"31 dimensions", with(func(d *Datum) { d.Dimensions = manyDims }), false, CodeInvalidValue, "Dimensions.member.31"},
		{"duplicate dimension", with(func(d *Datum) { d.Dimensions = []Dimension{{"A", "1"}, {"A", "2"}} }), false, CodeInvalidValue, "Dimensions.member.2.Name"},
		{"empty dimension value", with(func(d *Datum) { d.Dimensions = []Dimension{{"A", ""}} }), false, CodeMissing, "Dimensions.member.1.Value"},
		{"dimension value too long", with(func(d *Datum) { d.Dimensions = []Dimension{{"A", strings.Repeat("v", 1025)}} }), false, CodeInvalidValue, "Dimensions.member.1.Value"},
		{"no value", with(func(d *Datum) { d.Value = nil }), false, CodeMissing, "Value"},
		{"value and stat set", with(func(d *Datum) { d.StatisticValues = &StatSet{1, 1, 1, 1} }), false, CodeCombination, "StatisticValues"},
		{"NaN", with(func(d *Datum) { d.Value = f(math.NaN()) }), false, CodeInvalidValue, "Value"},
		{"too large", with(func(d *Datum) { d.Value = f(math.Ldexp(1, 361)) }), false, CodeInvalidValue, "Value"},
		{"too small", with(func(d *Datum) { d.Value = f(1e-110) }), false, CodeInvalidValue, "Value"},
		{"151 values", with(func(d *Datum) { d.Value = nil; d.Values = make([]float64, 151) }), false, CodeInvalidValue, "Values"},
		{"counts length", with(func(d *Datum) { d.Value = nil; d.Values = []float64{1}; d.Counts = []float64{1, 2} }), false, CodeCombination, "Counts"},
		{"negative count", with(func(d *Datum) { d.Value = nil; d.Values = []float64{1}; d.Counts = []float64{-1} }), false, CodeInvalidValue, "Counts.member.1"},
		{"stat set zero count", with(func(d *Datum) { d.Value = nil; d.StatisticValues = &StatSet{0, 0, 0, 0} }), false, CodeInvalidValue, "StatisticValues.SampleCount"},
		{"stat set min above max", with(func(d *Datum) { d.Value = nil; d.StatisticValues = &StatSet{2, 3, 2, 1} }), false, CodeInvalidValue, "StatisticValues.Minimum"},
		{"unknown unit", with(func(d *Datum) { d.Unit = "Furlongs" }), false, CodeInvalidValue, "Unit"},
		{"known unit", with(func(d *Datum) { d.Unit = "Bytes/Second" }), false, "", ""},
		{"resolution 5", with(func(d *Datum) { d.StorageResolution = 5 }), false, CodeInvalidValue, "StorageResolution"},
		{"too old", with(func(d *Datum) { d.Timestamp = now.Add(-MaxAge - time.Second) }), false, CodeInvalidValue, "Timestamp"},
		{"too far ahead", with(func(d *Datum) { d.Timestamp = now.Add(MaxAhead + time.Second) }), false, CodeInvalidValue, "Timestamp"},
		{"14 days old is fine", with(func(d *Datum) { d.Timestamp = now.Add(-MaxAge) }), false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.custom {
				err = tt.d.ValidateCustom(now)
			} else {
				err = tt.d.Validate(now)
			}
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate = %v, want *Error", err)
			}
			if e.Code != tt.wantCode || e.Field != tt.wantField {
				t.Errorf("Validate = %s / %s (%s), want %s / %s", e.Code, e.Field, e.Message, tt.wantCode, tt.wantField)
			}
		})
	}
	p := WithFieldPrefix(with(func(d *Datum) { d.Name = "" }).Validate(now), "MetricData.member.3")
	if got := p.(*Error).Field; got != "MetricData.member.3.MetricName" {
		t.Errorf("prefixed field = %q", got)
	}
}

func TestParseStatistic(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		in       string
		wantErr  bool
		kind     Kind
		p        float64
		lo, hi   float64
		percent  bool
		extended bool
	}{
		{in: "Average", kind: KindAverage},
		{in: "SampleCount", kind: KindSampleCount},
		{in: "average", wantErr: true},
		{in: "p99", kind: KindPercentile, p: 99, extended: true},
		{in: "p99.99", kind: KindPercentile, p: 99.99, extended: true},
		{in: "P50", kind: KindPercentile, p: 50, extended: true},
		{in: "p100", kind: KindPercentile, p: 100, extended: true},
		{in: "p101", wantErr: true},
		{in: "p", wantErr: true},
		{in: "p-1", wantErr: true},
		{in: "tm90", kind: KindTrimmedMean, lo: 0, hi: 90, percent: true, extended: true},
		{in: "TM(10%:90%)", kind: KindTrimmedMean, lo: 10, hi: 90, percent: true, extended: true},
		{in: "TM(:95%)", kind: KindTrimmedMean, lo: 0, hi: 95, percent: true, extended: true},
		{in: "TM(150:1000)", kind: KindTrimmedMean, lo: 150, hi: 1000, extended: true},
		{in: "TM(150:)", kind: KindTrimmedMean, lo: 150, hi: inf, extended: true},
		{in: "TM(10%:1000)", wantErr: true},
		{in: "TM(90%:10%)", wantErr: true},
		{in: "TM(:)", wantErr: true},
		{in: "IQM", kind: KindTrimmedMean, lo: 25, hi: 75, percent: true, extended: true},
		{in: "wm98", kind: KindWinsorizedMean, lo: 0, hi: 98, percent: true, extended: true},
		{in: "WM(10%:90%)", kind: KindWinsorizedMean, lo: 10, hi: 90, percent: true, extended: true},
		{in: "tc90", kind: KindTrimmedCount, lo: 0, hi: 90, percent: true, extended: true},
		{in: "TS(5%:95%)", kind: KindTrimmedSum, lo: 5, hi: 95, percent: true, extended: true},
		{in: "PR(:300)", kind: KindPercentileRank, lo: math.Inf(-1), hi: 300, extended: true},
		{in: "PR(100:2000)", kind: KindPercentileRank, lo: 100, hi: 2000, extended: true},
		{in: "PR(10%:20%)", wantErr: true},
		{in: "pr90", wantErr: true},
		{in: "Median", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := ParseStatistic(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseStatistic(%q) = %+v, want error", tt.in, s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lo, hi, pct := s.Bounds()
			if s.Kind() != tt.kind || s.Percentile() != tt.p || lo != tt.lo || hi != tt.hi || pct != tt.percent || s.Extended() != tt.extended {
				t.Errorf("ParseStatistic(%q) = %+v", tt.in, s)
			}
			if s.String() != tt.in {
				t.Errorf("String = %q, want %q", s.String(), tt.in)
			}
		})
	}
}

func TestUnits(t *testing.T) {
	u := Units()
	if len(u) != 27 || u[len(u)-1] != "None" {
		t.Fatalf("Units = %v", u)
	}
	u[0] = "x"
	if Units()[0] != "Seconds" {
		t.Error("Units shares its slice")
	}
}
