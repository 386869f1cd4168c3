package logfilter

import (
	"maps"
	"strings"
	"testing"
)

func ptr(f float64) *float64 { return &f }

func TestValidate(t *testing.T) {
	base := Transformation{MetricName: "Errors", MetricNamespace: "App", MetricValue: "1"}
	with := func(f func(*Transformation)) Transformation {
		tr := base
		f(&tr)
		return tr
	}
	tests := []struct {
		name    string
		pattern string
		tr      Transformation
		wantErr []string // substrings; none means valid
	}{
		{name: "count lines", pattern: "ERROR", tr: base},
		{name: "json value", pattern: `{ $.latency > 0 }`, tr: with(func(t *Transformation) { t.MetricValue = "$.latency"; t.Unit = "Milliseconds" })},
		{name: "delimited value and dimensions", pattern: `[ip, ..., status, bytes]`,
			tr: with(func(t *Transformation) {
				t.MetricValue = "$bytes"
				t.Dimensions = map[string]string{"Status": "$status", "IP": "$ip"}
			})},
		{name: "default value", pattern: "ERROR", tr: with(func(t *Transformation) { t.DefaultValue = ptr(0) })},
		{name: "decimal value", pattern: "ERROR", tr: with(func(t *Transformation) { t.MetricValue = "2.5" })},
		{name: "empty names", pattern: "ERROR", tr: with(func(t *Transformation) { t.MetricName = ""; t.MetricNamespace = " " }),
			wantErr: []string{`MetricName "" is empty`, `MetricNamespace " " is empty`}},
		{name: "reserved characters", pattern: "ERROR", tr: with(func(t *Transformation) { t.MetricName = "a:b"; t.MetricNamespace = "$x" }),
			wantErr: []string{`MetricName "a:b" holds :, * or $`, `MetricNamespace "$x" holds`}},
		{name: "empty value", pattern: "ERROR", tr: with(func(t *Transformation) { t.MetricValue = "" }), wantErr: []string{`MetricValue "" is empty`}},
		{name: "value not a number", pattern: "ERROR", tr: with(func(t *Transformation) { t.MetricValue = "one" }), wantErr: []string{`MetricValue "one" is neither`}},
		{name: "field on text pattern", pattern: "ERROR", tr: with(func(t *Transformation) { t.MetricValue = "$.latency" }), wantErr: []string{"only JSON"}},
		{name: "field not named", pattern: `{ $.level = "error" }`, tr: with(func(t *Transformation) { t.MetricValue = "$.latency" }),
			wantErr: []string{`MetricValue "$.latency" is not named in the filter pattern`}},
		{name: "delimited field not named", pattern: `[a, b]`, tr: with(func(t *Transformation) { t.MetricValue = "$c" }), wantErr: []string{`MetricValue "$c" is not named`}},
		{name: "bad unit", pattern: "ERROR", tr: with(func(t *Transformation) { t.Unit = "Parsecs" }), wantErr: []string{`Unit "Parsecs" is not a CloudWatch unit`}},
		{name: "too many dimensions", pattern: `[a, b, c, d]`,
			tr:      with(func(t *Transformation) { t.Dimensions = map[string]string{"A": "$a", "B": "$b", "C": "$c", "D": "$d"} }),
			wantErr: []string{`Dimensions "4" are more than 3`}},
		{name: "default with dimensions", pattern: `[a, b]`,
			tr:      with(func(t *Transformation) { t.DefaultValue = ptr(0); t.Dimensions = map[string]string{"A": "$a"} }),
			wantErr: []string{`DefaultValue "0" cannot be set on a metric with dimensions`}},
		{name: "dimension not a field", pattern: `[a, b]`, tr: with(func(t *Transformation) { t.Dimensions = map[string]string{"A": "a"} }),
			wantErr: []string{`Dimensions[A] "a" is not a field`}},
		{name: "dimension not named", pattern: `{ $.a = 1 }`, tr: with(func(t *Transformation) { t.Dimensions = map[string]string{"B": "$.b"} }),
			wantErr: []string{`Dimensions[B] "$.b" is not named`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.tr.Validate(MustParse(tc.pattern))
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want errors %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name     string
		pattern  string
		tr       Transformation
		line     string
		want     float64
		wantDims map[string]string
		wantOK   bool
	}{
		{name: "constant", pattern: "ERROR", tr: Transformation{MetricValue: "1"}, line: "ERROR", want: 1, wantOK: true},
		{name: "json field", pattern: `{ $.latency > 0 }`, tr: Transformation{MetricValue: "$.latency"}, line: `{"latency": 12.5}`, want: 12.5, wantOK: true},
		{name: "json field not a number", pattern: `{ $.latency = * }`, tr: Transformation{MetricValue: "$.latency"}, line: `{"latency": "fast"}`, wantOK: false},
		{name: "json field missing", pattern: `{ $.a = 1 || $.latency > 0 }`, tr: Transformation{MetricValue: "$.latency"}, line: `{"a": 1}`, wantOK: false},
		{name: "delimited field and dimension", pattern: `[ip, ..., status, bytes]`,
			tr:   Transformation{MetricValue: "$bytes", Dimensions: map[string]string{"Status": "$status"}},
			line: accessLine, want: 1534, wantDims: map[string]string{"Status": "404"}, wantOK: true},
		{name: "json dimension", pattern: `{ $.level = * && $.latency > 0 }`,
			tr:   Transformation{MetricValue: "1", Dimensions: map[string]string{"Level": "$.level"}},
			line: `{"level":"warn","latency":3}`, want: 1, wantDims: map[string]string{"Level": "warn"}, wantOK: true},
		{name: "dimension missing", pattern: `{ $.level = * || $.latency > 0 }`,
			tr:   Transformation{MetricValue: "1", Dimensions: map[string]string{"Level": "$.level"}},
			line: `{"latency":3}`, wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := MustParse(tc.pattern).Match(tc.line)
			if !ok {
				t.Fatalf("pattern does not match the line")
			}
			v, dims, ok := tc.tr.Apply(m)
			if ok != tc.wantOK || v != tc.want || !maps.Equal(dims, tc.wantDims) {
				t.Errorf("Apply = %v, %v, %v; want %v, %v, %v", v, dims, ok, tc.want, tc.wantDims, tc.wantOK)
			}
		})
	}
}
