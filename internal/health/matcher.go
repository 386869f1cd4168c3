package health

import (
	"fmt"
	"strconv"
	"strings"
)

// Matcher is the set of HTTP status codes that count as a passing health
// check, AWS's Matcher.HttpCode. The zero Matcher matches 200, AWS's
// default.
type Matcher struct {
	// ranges are inclusive [lo, hi] pairs in the order written.
	ranges []codeRange
}

type codeRange struct{ lo, hi int }

// Status codes a Matcher may name, as AWS allows for HTTP checks.
const (
	minMatcherCode = 200
	maxMatcherCode = 499
)

// ParseMatcher parses AWS's matcher syntax: a code ("200"), a list
// ("200,202") or a range ("200-299"), or a list of codes and ranges. Codes
// must be 200–499.
func ParseMatcher(s string) (Matcher, error) {
	if strings.TrimSpace(s) == "" {
		return Matcher{}, fmt.Errorf("matcher %q is empty; use a code such as \"200\", a list \"200,202\" or a range \"200-299\"", s)
	}
	var m Matcher
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return Matcher{}, fmt.Errorf("matcher %q has an empty entry; separate codes with single commas, e.g. \"200,202\"", s)
		}
		loS, hiS, isRange := strings.Cut(part, "-")
		lo, err := parseMatcherCode(s, loS)
		if err != nil {
			return Matcher{}, err
		}
		hi := lo
		if isRange {
			if hi, err = parseMatcherCode(s, hiS); err != nil {
				return Matcher{}, err
			}
			if hi < lo {
				return Matcher{}, fmt.Errorf("matcher %q: range %q runs backwards; write the low code first, e.g. \"%d-%d\"", s, part, hi, lo)
			}
		}
		m.ranges = append(m.ranges, codeRange{lo, hi})
	}
	return m, nil
}

func parseMatcherCode(matcher, code string) (int, error) {
	code = strings.TrimSpace(code)
	n, err := strconv.Atoi(code)
	if err != nil {
		return 0, fmt.Errorf("matcher %q: %q is not an HTTP status code; use codes such as \"200\" or ranges such as \"200-299\"", matcher, code)
	}
	if n < minMatcherCode || n > maxMatcherCode {
		return 0, fmt.Errorf("matcher %q: code %d is outside %d–%d; health checks may only expect codes %d–%d", matcher, n, minMatcherCode, maxMatcherCode, minMatcherCode, maxMatcherCode)
	}
	return n, nil
}

// MustParseMatcher is ParseMatcher for constant matchers; it panics on a
// bad one.
func MustParseMatcher(s string) Matcher {
	m, err := ParseMatcher(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Match reports whether code counts as a passing check.
func (m Matcher) Match(code int) bool {
	if len(m.ranges) == 0 {
		return code == 200
	}
	for _, r := range m.ranges {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// String returns the matcher in AWS's syntax, e.g. "200,202" or "200-299".
func (m Matcher) String() string {
	if len(m.ranges) == 0 {
		return "200"
	}
	var b strings.Builder
	for i, r := range m.ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(r.lo))
		if r.hi != r.lo {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(r.hi))
		}
	}
	return b.String()
}

// Equal reports whether m and o are written the same way.
func (m Matcher) Equal(o Matcher) bool { return m.String() == o.String() }

// MarshalText encodes the matcher in AWS's syntax.
func (m Matcher) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses AWS's syntax, as [ParseMatcher].
func (m *Matcher) UnmarshalText(b []byte) error {
	v, err := ParseMatcher(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}
