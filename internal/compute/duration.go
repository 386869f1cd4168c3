package compute

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns the Go duration string, e.g. "1m30s".
func (d Duration) String() string { return time.Duration(d).String() }

// ParseDuration parses a Go duration string ("250ms", "5s", "1m30s") or a
// bare number of seconds ("5", "1.5").
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("parse duration: empty; write a duration such as 5s or 250ms")
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		return secondsToDuration(secs, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("parse duration %q: write a duration such as 5s, 250ms or 1m30s, or a number of seconds", s)
	}
	return Duration(d), nil
}

func secondsToDuration(secs float64, text string) (Duration, error) {
	if math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > float64(math.MaxInt64)/float64(time.Second) {
		return 0, fmt.Errorf("parse duration %q: out of range", text)
	}
	return Duration(math.Round(secs * float64(time.Second))), nil
}

// UnmarshalYAML accepts a duration string or a bare number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("parse duration: expected a single value such as 5s, not a list or mapping")
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML encodes d as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalJSON accepts a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("parse duration: %w", err)
		}
	} else {
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("parse duration: expected a string such as \"5s\" or a number of seconds: %w", err)
		}
		v, err := secondsToDuration(f, string(b))
		if err != nil {
			return err
		}
		*d = v
		return nil
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON encodes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// Interface guards.
var (
	_ yaml.Unmarshaler = (*Duration)(nil)
	_ yaml.Marshaler   = Duration(0)
	_ json.Unmarshaler = (*Duration)(nil)
	_ json.Marshaler   = Duration(0)
	_ fmt.Stringer     = Duration(0)
)
