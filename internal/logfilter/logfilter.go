// Package logfilter parses and evaluates CloudWatch Logs filter patterns,
// the syntax of metric filters, subscription filters, FilterLogEvents and
// Live Tail, and applies a metric filter's MetricTransformation to a
// matching line.
//
// A pattern is one of three kinds, chosen by its first character:
//
//   - Unstructured terms: ERROR, "exact phrase", %regex%. Terms are
//     case-sensitive and match anywhere in the line. Several terms must all
//     match (AND); terms written ?A ?B match when any of them does (OR);
//     -term (or -"phrase") excludes lines holding the term. Plain, ?- and
//     --terms combine: every plain term must match, none of the excluded
//     terms may match and, when there are ?-terms, at least one must match.
//   - JSON, between braces: { $.level = "error" && $.latency > 100 }.
//     Selectors are $.a.b, $.a[0], $.a[0].b; operators = != < <= > >=,
//     && binds tighter than ||, parentheses group; values are numbers,
//     strings ("quoted" or bare, * is a wildcard), %regex%; and the
//     postfix tests IS NULL, NOT EXISTS, IS TRUE, IS FALSE. A line that
//     is not a JSON object never matches a JSON pattern, and a comparison
//     on a field the line lacks is false (NOT EXISTS is the way to ask).
//   - Space-delimited, between brackets: [ip, user, ..., status = 4*,
//     bytes > 1000]. Each name binds one field of the line; "..." binds
//     any number of fields (without it the line must have exactly as many
//     fields as the pattern). A field of the line is a run of characters
//     without spaces, or a "quoted" or [bracketed] run taken as one field
//     without its quotes or brackets, so [13/Oct/2026:10:00:00 +0000] and
//     "GET / HTTP/1.1" are one field each. A name may carry conditions on
//     its field, joined with && and ||: status = 404 || status = 410.
//
// Regular expressions between % signs are Go's regexp (RE2) syntax, a
// superset of the subset AWS accepts (AWS has no groups, for one); they
// match anywhere in the text unless anchored with ^ and $. As in AWS, a
// JSON or space-delimited pattern holds at most MaxRegexes of them.
//
// Unquoted terms may hold any character but space and the double quote
// (AWS asks for quotes around terms with symbols; both forms work here).
//
// Numbers compare as numbers when the field holds a number; = and != with
// a number also compare a non-numeric field's text with the number as
// written. Strings compare exactly, with * matching any run of characters.
package logfilter

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxPatternLength is the longest pattern AWS accepts, in bytes.
const MaxPatternLength = 1024

// MaxRegexes is how many %regex% a JSON or space-delimited pattern may
// hold, as in AWS.
const MaxRegexes = 2

// SyntaxError reports a pattern that does not parse.
type SyntaxError struct {
	// Offset is the byte offset in the pattern where the problem is.
	Offset int
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("logfilter: filter pattern: at offset %d: %s", e.Offset, e.Msg)
}

// Kind is the kind of a pattern.
type Kind int

// Pattern kinds.
const (
	KindAll       Kind = iota // the empty pattern: matches every line
	KindText                  // unstructured terms
	KindJSON                  // { ... }
	KindDelimited             // [ ... ]
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindAll:
		return "all"
	case KindText:
		return "text"
	case KindJSON:
		return "json"
	case KindDelimited:
		return "space-delimited"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Pattern is a parsed filter pattern. It is immutable and safe for
// concurrent use.
type Pattern struct {
	src   string
	kind  Kind
	text  *textPattern
	json  jsonExpr
	sels  []selector
	delim *delimPattern
	// names are the fields the pattern names, as Match.Fields keys them.
	names []string
}

// Match is what a matching line yields.
type Match struct {
	// Fields holds the values of the fields the pattern names: JSON
	// selectors keyed as written in canonical form ("$.latency",
	// "$.a.b[0]"), space-delimited fields keyed "$name". JSON values are
	// their text: strings without quotes, numbers as written, true/false,
	// null, objects and arrays as compact JSON. A field the line lacks is
	// absent.
	Fields map[string]string
}

// Field returns a named field's value; name is "$.sel" or "$name" (a bare
// space-delimited name is accepted too).
func (m Match) Field(name string) (string, bool) {
	if v, ok := m.Fields[name]; ok {
		return v, true
	}
	if !strings.HasPrefix(name, "$") {
		v, ok := m.Fields["$"+name]
		return v, ok
	}
	return "", false
}

// Parse parses a filter pattern. The empty pattern (or only spaces)
// matches every line. Errors are *SyntaxError.
func Parse(pattern string) (*Pattern, error) {
	if len(pattern) > MaxPatternLength {
		return nil, &SyntaxError{Offset: MaxPatternLength, Msg: fmt.Sprintf("pattern is %d bytes long; AWS allows at most %d, so shorten it", len(pattern), MaxPatternLength)}
	}
	p := &Pattern{src: pattern}
	s := &scanner{src: pattern}
	s.skipSpace()
	var err error
	switch {
	case s.eof():
		p.kind = KindAll
	case s.peek() == '{':
		p.kind = KindJSON
		p.json, p.sels, err = parseJSON(s)
		for _, sel := range p.sels {
			p.names = append(p.names, sel.name)
		}
	case s.peek() == '[':
		p.kind = KindDelimited
		p.delim, err = parseDelimited(s)
		if err == nil {
			p.names = p.delim.names()
		}
	default:
		p.kind = KindText
		p.text, err = parseText(s)
	}
	if err != nil {
		return nil, err
	}
	if (p.kind == KindJSON || p.kind == KindDelimited) && len(s.regexes) > MaxRegexes {
		return nil, &SyntaxError{Offset: s.regexes[MaxRegexes], Msg: fmt.Sprintf("pattern holds %d regular expressions; AWS allows at most %d in a JSON or space-delimited pattern, so use wildcards (*) or fewer expressions", len(s.regexes), MaxRegexes)}
	}
	return p, nil
}

// MustParse is Parse for patterns known to be valid; it panics on error.
func MustParse(pattern string) *Pattern {
	p, err := Parse(pattern)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern as it was given to Parse.
func (p *Pattern) String() string { return p.src }

// Kind returns the pattern's kind.
func (p *Pattern) Kind() Kind { return p.kind }

// Names returns the fields the pattern names, keyed as in Match.Fields,
// in the order they first appear.
func (p *Pattern) Names() []string { return append([]string(nil), p.names...) }

// hasName reports whether the pattern names field (as Match.Fields keys it).
func (p *Pattern) hasName(field string) bool {
	for _, n := range p.names {
		if n == field {
			return true
		}
	}
	return false
}

// Match reports whether line matches the pattern and, when it does,
// the values of the fields the pattern names. A nil Pattern matches
// everything.
func (p *Pattern) Match(line string) (Match, bool) {
	if p == nil {
		return Match{}, true
	}
	switch p.kind {
	case KindText:
		return Match{}, p.text.match(line)
	case KindJSON:
		return matchJSON(p.json, p.sels, line)
	case KindDelimited:
		return p.delim.match(line)
	}
	return Match{}, true
}
