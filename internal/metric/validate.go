package metric

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// CloudWatch's limits on PutMetricData.
const (
	// MaxNameLen is the longest namespace, metric name or dimension name.
	MaxNameLen = 255
	// MaxDimensionValueLen is the longest dimension value.
	MaxDimensionValueLen = 1024
	// MaxDimensions is the most dimensions a metric may have.
	MaxDimensions = 30
	// MaxValues is the most entries in a datum's Values (and Counts).
	MaxValues = 150
	// MaxAge is how old a datum's timestamp may be.
	MaxAge = 14 * 24 * time.Hour
	// MaxAhead is how far in the future a datum's timestamp may be.
	MaxAhead = 2 * time.Hour
	// ReservedPrefix starts the namespaces kept for AWS's own metrics.
	ReservedPrefix = "AWS/"
)

// The bounds CloudWatch puts on a value: magnitude at most 2^360 and, if
// not 0, at least 8.515920e-109.
var (
	maxMagnitude = math.Ldexp(1, 360)
	minMagnitude = 8.515920e-109
)

// Error codes, as CloudWatch's API returns them.
const (
	// CodeInvalidValue is InvalidParameterValue: a parameter is out of
	// range or malformed.
	CodeInvalidValue = "InvalidParameterValue"
	// CodeMissing is MissingParameter: a required parameter is absent.
	CodeMissing = "MissingParameter"
	// CodeCombination is InvalidParameterCombination: parameters that
	// exclude each other were given together.
	CodeCombination = "InvalidParameterCombination"
)

// Error is a validation error in CloudWatch's terms: the API code, the
// parameter it is about and a message that says what is wrong and how to
// fix it.
type Error struct {
	// Code is CloudWatch's error code, e.g. "InvalidParameterValue".
	Code string
	// Field is the parameter's path, e.g.
	// "MetricData.member.3.Dimensions.member.31".
	Field string
	// Message says what is wrong, with the value and the fix.
	Message string
}

// Error implements error: "Code: Field: Message".
func (e *Error) Error() string {
	if e.Field == "" {
		return e.Code + ": " + e.Message
	}
	return e.Code + ": " + e.Field + ": " + e.Message
}

// WithFieldPrefix returns err with prefix (e.g. "MetricData.member.3")
// put before the Field of the *Error it wraps; other errors come back
// unchanged.
func WithFieldPrefix(err error, prefix string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	f := prefix
	if e.Field != "" {
		f = prefix + "." + e.Field
	}
	return &Error{Code: e.Code, Field: f, Message: e.Message}
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidValue, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate checks d as PutMetricData does, at time now (the zero
// Timestamp means now). Namespaces starting with "AWS/" are allowed: the
// collectors of madang's own services use them. Fields are relative to
// the datum ("Dimensions.member.2.Value"); WithFieldPrefix adds the
// request's "MetricData.member.N".
func (d Datum) Validate(now time.Time) error {
	if err := validateNamespace(d.Namespace); err != nil {
		return err
	}
	if err := validateName("MetricName", d.Name, MaxNameLen); err != nil {
		return err
	}
	if err := validateDimensions(d.Dimensions); err != nil {
		return err
	}
	if err := d.validateValues(); err != nil {
		return err
	}
	if !KnownUnit(d.Unit) {
		return invalid("Unit", "unit %q is not a CloudWatch unit; use one of %s", d.Unit, strings.Join(units[:], ", "))
	}
	if d.StorageResolution != 0 && d.StorageResolution != 1 && d.StorageResolution != 60 {
		return invalid("StorageResolution", "storage resolution %d is not valid; use 1 (high resolution) or 60 (standard)", d.StorageResolution)
	}
	if !d.Timestamp.IsZero() {
		if age := now.Sub(d.Timestamp); age > MaxAge {
			return invalid("Timestamp", "timestamp %s is %s old, more than the 14 days CloudWatch accepts; send data younger than 14 days",
				d.Timestamp.UTC().Format(time.RFC3339), age.Round(time.Second))
		}
		if ahead := d.Timestamp.Sub(now); ahead > MaxAhead {
			return invalid("Timestamp", "timestamp %s is %s in the future, more than the 2 hours CloudWatch accepts; check the sender's clock",
				d.Timestamp.UTC().Format(time.RFC3339), ahead.Round(time.Second))
		}
	}
	return nil
}

// ValidateCustom is Validate plus the rule for data sent by users:
// namespaces starting with "AWS/" are reserved.
func (d Datum) ValidateCustom(now time.Time) error {
	if strings.HasPrefix(d.Namespace, ReservedPrefix) {
		return invalid("Namespace", "namespace %q starts with %q, which is reserved for AWS metrics; choose another namespace, e.g. %q",
			d.Namespace, ReservedPrefix, strings.TrimPrefix(d.Namespace, ReservedPrefix))
	}
	return d.Validate(now)
}

// namespaceChar reports whether r may appear in a namespace: letters,
// digits and . - _ / # : and space.
func namespaceChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune(".-_/#: ", r)
}

func validateNamespace(ns string) error {
	if ns == "" {
		return &Error{Code: CodeMissing, Field: "Namespace", Message: "namespace is required; give one such as \"MyApp\""}
	}
	if len(ns) > MaxNameLen {
		return invalid("Namespace", "namespace is %d characters, more than %d; shorten it", len(ns), MaxNameLen)
	}
	if ns[0] == ':' {
		return invalid("Namespace", "namespace %q starts with ':'; start it with a letter or digit", ns)
	}
	for i, r := range ns {
		if !namespaceChar(r) {
			return invalid("Namespace", "namespace %q has %q at byte %d; use only letters, digits, spaces and . - _ / # :", ns, r, i)
		}
	}
	return nil
}

func validateName(field, s string, maxLen int) error {
	if s == "" {
		return &Error{Code: CodeMissing, Field: field, Message: field + " is required and may not be empty"}
	}
	if len(s) > maxLen {
		return invalid(field, "%s is %d characters, more than %d; shorten it", field, len(s), maxLen)
	}
	return nil
}

func validateDimensions(dims []Dimension) error {
	if len(dims) > MaxDimensions {
		return invalid(fmt.Sprintf("Dimensions.member.%d", MaxDimensions+1),
			"%d dimensions, more than the %d CloudWatch allows; drop some", len(dims), MaxDimensions)
	}
	field := func(i int, part string) string { return fmt.Sprintf("Dimensions.member.%d.%s", i+1, part) }
	for i, d := range dims {
		if d.Name == "" || len(d.Name) > MaxNameLen {
			return validateName(field(i, "Name"), d.Name, MaxNameLen)
		}
		if d.Value == "" || len(d.Value) > MaxDimensionValueLen {
			return validateName(field(i, "Value"), d.Value, MaxDimensionValueLen)
		}
		for j := range i {
			if dims[j].Name == d.Name {
				return invalid(field(i, "Name"), "dimension %q is also dimension %d; give each name once", d.Name, j+1)
			}
		}
	}
	return nil
}

// CheckValue checks one value as CloudWatch does: finite, magnitude at
// most 2^360 and either 0 or at least 8.515920e-109.
func CheckValue(field string, v float64) error {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return invalid(field, "value %v is not a finite number; send a finite value", v)
	case a > maxMagnitude:
		return invalid(field, "value %g is larger in magnitude than 2^360; scale it (e.g. change the unit)", v)
	case a != 0 && a < minMagnitude:
		return invalid(field, "value %g is smaller in magnitude than 8.515920e-109 (and not 0); send 0 or scale it", v)
	}
	return nil
}

func (d Datum) validateValues() error {
	n := 0
	var given []string
	if d.Value != nil {
		n++
		given = append(given, "Value")
	}
	if d.Values != nil || d.Counts != nil {
		n++
		given = append(given, "Values")
	}
	if d.StatisticValues != nil {
		n++
		given = append(given, "StatisticValues")
	}
	switch {
	case n == 0:
		return &Error{Code: CodeMissing, Field: "Value", Message: "a datum needs one of Value, Values or StatisticValues"}
	case n > 1:
		return &Error{Code: CodeCombination, Field: given[1],
			Message: fmt.Sprintf("%s are mutually exclusive; send only one per datum", strings.Join(given, " and "))}
	}
	switch {
	case d.Value != nil:
		return CheckValue("Value", *d.Value)
	case d.StatisticValues != nil:
		return validateStatSet(*d.StatisticValues)
	}
	if len(d.Values) == 0 {
		return &Error{Code: CodeMissing, Field: "Values", Message: "Counts were given without Values; send the values they count"}
	}
	if len(d.Values) > MaxValues {
		return invalid("Values", "%d values, more than the %d a datum may hold; split them over several data", len(d.Values), MaxValues)
	}
	if d.Counts != nil && len(d.Counts) != len(d.Values) {
		return &Error{Code: CodeCombination, Field: "Counts",
			Message: fmt.Sprintf("%d counts for %d values; give one count per value or none", len(d.Counts), len(d.Values))}
	}
	for i, v := range d.Values {
		if err := CheckValue(fmt.Sprintf("Values.member.%d", i+1), v); err != nil {
			return err
		}
	}
	for i, c := range d.Counts {
		f := fmt.Sprintf("Counts.member.%d", i+1)
		if err := CheckValue(f, c); err != nil {
			return err
		}
		if c < 0 {
			return invalid(f, "count %g is negative; counts are how often a value occurred, 0 or more", c)
		}
	}
	return nil
}

func validateStatSet(s StatSet) error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"SampleCount", s.SampleCount}, {"Sum", s.Sum}, {"Minimum", s.Minimum}, {"Maximum", s.Maximum}} {
		if err := CheckValue("StatisticValues."+f.name, f.v); err != nil {
			return err
		}
	}
	if s.SampleCount <= 0 {
		return invalid("StatisticValues.SampleCount", "sample count %g is not positive; a statistic set describes at least one sample", s.SampleCount)
	}
	if s.Minimum > s.Maximum {
		return invalid("StatisticValues.Minimum", "minimum %g is greater than maximum %g; swap them", s.Minimum, s.Maximum)
	}
	return nil
}
