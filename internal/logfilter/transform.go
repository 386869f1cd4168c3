package logfilter

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// MaxDimensions is how many dimensions a metric filter may publish.
const MaxDimensions = 3

// Units are the CloudWatch units a metric may carry.
var units = []string{
	"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
	"Count/Second", "None",
}

// Transformation is a metric filter's MetricTransformation: which metric
// a matching line feeds and with what value.
type Transformation struct {
	// MetricName and MetricNamespace name the metric.
	MetricName, MetricNamespace string
	// MetricValue is a number ("1") or a field the pattern names
	// ("$.latency" for JSON patterns, "$size" for space-delimited ones).
	MetricValue string
	// DefaultValue, when set, is published for periods without matching
	// lines. It cannot be combined with Dimensions.
	DefaultValue *float64
	// Unit is a CloudWatch unit ("Count", "Milliseconds", …); empty is
	// None.
	Unit string
	// Dimensions maps dimension names to fields the pattern names, at
	// most MaxDimensions of them.
	Dimensions map[string]string
}

// Validate checks t against AWS's rules for a metric filter with pattern
// p. Errors name the field, the value and the fix.
func (t Transformation) Validate(p *Pattern) error {
	var errs []error
	bad := func(field, val, why string) {
		errs = append(errs, fmt.Errorf("logfilter: metric transformation: %s %q %s", field, val, why))
	}
	switch {
	case strings.TrimSpace(t.MetricName) == "":
		bad("MetricName", t.MetricName, "is empty; name the metric")
	case len(t.MetricName) > 255:
		bad("MetricName", t.MetricName, "is longer than 255 characters; shorten it")
	case strings.ContainsAny(t.MetricName, ":*$"):
		bad("MetricName", t.MetricName, "holds :, * or $, which AWS does not allow; remove them")
	}
	switch {
	case strings.TrimSpace(t.MetricNamespace) == "":
		bad("MetricNamespace", t.MetricNamespace, "is empty; give the metric's namespace, such as MyApp")
	case len(t.MetricNamespace) > 255:
		bad("MetricNamespace", t.MetricNamespace, "is longer than 255 characters; shorten it")
	case strings.ContainsAny(t.MetricNamespace, ":*$"):
		bad("MetricNamespace", t.MetricNamespace, "holds :, * or $, which AWS does not allow; remove them")
	}
	switch {
	case t.MetricValue == "":
		bad("MetricValue", t.MetricValue, "is empty; use 1 to count matching lines or a field such as $.latency")
	case strings.HasPrefix(t.MetricValue, "$"):
		if why := fieldProblem(p, t.MetricValue); why != "" {
			bad("MetricValue", t.MetricValue, why)
		}
	default:
		if _, ok := parseNumber(t.MetricValue); !ok {
			bad("MetricValue", t.MetricValue, "is neither a number nor a field; use a number such as 1 or a field the pattern names, such as $.latency")
		}
	}
	if t.DefaultValue != nil && (math.IsNaN(*t.DefaultValue) || math.IsInf(*t.DefaultValue, 0)) {
		bad("DefaultValue", strconv.FormatFloat(*t.DefaultValue, 'g', -1, 64), "is not a finite number; use a number such as 0")
	}
	if t.Unit != "" && !slices.Contains(units, t.Unit) {
		bad("Unit", t.Unit, "is not a CloudWatch unit; use one of "+strings.Join(units, ", "))
	}
	if len(t.Dimensions) > MaxDimensions {
		bad("Dimensions", strconv.Itoa(len(t.Dimensions)), fmt.Sprintf("are more than %d dimensions; drop some", MaxDimensions))
	}
	if len(t.Dimensions) > 0 && t.DefaultValue != nil {
		bad("DefaultValue", strconv.FormatFloat(*t.DefaultValue, 'g', -1, 64), "cannot be set on a metric with dimensions; remove DefaultValue or the Dimensions")
	}
	names := make([]string, 0, len(t.Dimensions))
	for k := range t.Dimensions {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := t.Dimensions[k]
		if strings.TrimSpace(k) == "" {
			bad("Dimensions", k, "has an empty dimension name; name it")
		}
		if why := fieldProblem(p, v); why != "" {
			bad("Dimensions["+k+"]", v, why)
		}
	}
	return errors.Join(errs...)
}

// fieldProblem says why ref is not a field of p ("" when it is one).
func fieldProblem(p *Pattern, ref string) string {
	if !strings.HasPrefix(ref, "$") {
		return "is not a field; write $.name for a JSON field or $name for a space-delimited one"
	}
	if p == nil || (p.kind != KindJSON && p.kind != KindDelimited) {
		return "refers to a field, but only JSON { } and space-delimited [ ] patterns name fields; use a number or such a pattern"
	}
	key := ref
	if p.kind == KindJSON {
		sel, err := parseSelector(&scanner{src: ref})
		if err == nil {
			key = sel.name
		}
	}
	if !p.hasName(key) {
		return fmt.Sprintf("is not named in the filter pattern %q; name it in the pattern (%s)", p.src, strings.Join(p.names, ", "))
	}
	return ""
}

// Apply turns a match into the metric's value and dimensions. ok is false
// when a named field is missing or the value is not a number; AWS
// publishes nothing for such a line.
func (t Transformation) Apply(m Match) (value float64, dims map[string]string, ok bool) {
	if strings.HasPrefix(t.MetricValue, "$") {
		s, found := m.Field(t.MetricValue)
		if !found {
			return 0, nil, false
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, nil, false
		}
		value = f
	} else {
		f, isNum := parseNumber(t.MetricValue)
		if !isNum {
			return 0, nil, false
		}
		value = f
	}
	if len(t.Dimensions) > 0 {
		dims = make(map[string]string, len(t.Dimensions))
		for k, ref := range t.Dimensions {
			v, found := m.Field(ref)
			if !found || v == "" {
				return 0, nil, false
			}
			dims[k] = v
		}
	}
	return value, dims, true
}
