package logfilter

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// scanner walks a pattern, remembering offsets for errors.
type scanner struct {
	src string
	pos int
	// regexes are the offsets of the regular expressions read.
	regexes []int
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.pos]
}

func (s *scanner) skipSpace() {
	for !s.eof() && isSpace(s.src[s.pos]) {
		s.pos++
	}
}

// accept consumes tok if the input continues with it.
func (s *scanner) accept(tok string) bool {
	if strings.HasPrefix(s.src[s.pos:], tok) {
		s.pos += len(tok)
		return true
	}
	return false
}

// acceptWord consumes the keyword w (any case) when it is followed by a
// space, the end or a delimiter.
func (s *scanner) acceptWord(w string) bool {
	end := s.pos + len(w)
	if end > len(s.src) || !strings.EqualFold(s.src[s.pos:end], w) {
		return false
	}
	if end < len(s.src) && !isSpace(s.src[end]) && !strings.ContainsRune("})],&|", rune(s.src[end])) {
		return false
	}
	s.pos = end
	return true
}

func (s *scanner) errorf(off int, format string, args ...any) error {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// quoted reads a double-quoted string at s.pos (which holds the opening
// quote); \" and \\ are escapes.
func (s *scanner) quoted() (string, error) {
	start := s.pos
	s.pos++
	var b strings.Builder
	for !s.eof() {
		c := s.src[s.pos]
		switch {
		case c == '\\' && s.pos+1 < len(s.src):
			b.WriteByte(s.src[s.pos+1])
			s.pos += 2
		case c == '"':
			s.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
			s.pos++
		}
	}
	return "", s.errorf(start, "quoted string is not closed; add the closing \"")
}

// regex reads a %regex% at s.pos (which holds the opening %).
func (s *scanner) regex() (*regexp.Regexp, error) {
	start := s.pos
	end := strings.IndexByte(s.src[start+1:], '%')
	if end < 0 {
		return nil, s.errorf(start, "regular expression is not closed; end it with %%")
	}
	expr := s.src[start+1 : start+1+end]
	if expr == "" {
		return nil, s.errorf(start, "regular expression %%%% is empty; write one between the %% signs")
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, s.errorf(start+1, "regular expression %q: %v; use Go regexp (RE2) syntax", expr, err)
	}
	s.pos = start + 2 + end
	s.regexes = append(s.regexes, start)
	return re, nil
}

// op is a comparison operator.
type op int

const (
	opEq op = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var opNames = [...]string{"=", "!=", "<", "<=", ">", ">="}

// scanOp reads a comparison operator.
func (s *scanner) scanOp() (op, bool) {
	for _, o := range []struct {
		tok string
		op  op
	}{{"!=", opNe}, {"<=", opLe}, {">=", opGe}, {"=", opEq}, {"<", opLt}, {">", opGt}} {
		if s.accept(o.tok) {
			return o.op, true
		}
	}
	return 0, false
}

// valueKind is what a comparison's right-hand side is.
type valueKind int

const (
	valNumber valueKind = iota
	valString           // exact or wildcard string
	valRegex
)

// value is a comparison's right-hand side.
type value struct {
	kind valueKind
	text string // as written (strings: without quotes)
	num  float64
	re   *regexp.Regexp
}

// numberLiteral is the syntax of a number in a pattern.
//
// Regular expressions are compiled on first use rather than at every
// start of the binary (each instance shim, each CLI command).
var numberLiteral = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$`)
})

// parseNumber parses text as a pattern number.
func parseNumber(text string) (float64, bool) {
	if !numberLiteral().MatchString(text) {
		return 0, false
	}
	f, err := strconv.ParseFloat(text, 64)
	return f, err == nil
}

// scanValue reads a value: "quoted", %regex%, or a bare word ending at a
// space or one of the delimiters in stop.
func (s *scanner) scanValue(stop string) (value, error) {
	switch s.peek() {
	case '"':
		t, err := s.quoted()
		return value{kind: valString, text: t}, err
	case '%':
		re, err := s.regex()
		if err != nil {
			return value{}, err
		}
		return value{kind: valRegex, re: re, text: "%" + re.String() + "%"}, nil
	}
	start := s.pos
	for !s.eof() {
		c := s.src[s.pos]
		if isSpace(c) || strings.IndexByte(stop, c) >= 0 || strings.HasPrefix(s.src[s.pos:], "&&") || strings.HasPrefix(s.src[s.pos:], "||") {
			break
		}
		s.pos++
	}
	t := s.src[start:s.pos]
	if t == "" {
		return value{}, s.errorf(start, "missing value after the operator; write a number, a \"string\" or a %%regex%%")
	}
	if n, ok := parseNumber(t); ok {
		return value{kind: valNumber, text: t, num: n}, nil
	}
	return value{kind: valString, text: t}, nil
}

// checkOp rejects ordering operators on non-numbers.
func (s *scanner) checkOp(off int, o op, v value) error {
	if o != opEq && o != opNe && v.kind != valNumber {
		return s.errorf(off, "operator %s needs a number, got %s; compare strings and regular expressions with = or !=", opNames[o], v.text)
	}
	return nil
}

// compare evaluates `field o v` on a field's text; numeric tells whether
// the field is known to be a number (JSON) or may be one (text).
func compare(field string, o op, v value) bool {
	switch v.kind {
	case valNumber:
		f, err := strconv.ParseFloat(field, 64)
		if err != nil {
			switch o {
			case opEq:
				return field == v.text
			case opNe:
				return field != v.text
			}
			return false
		}
		switch o {
		case opEq:
			return f == v.num
		case opNe:
			return f != v.num
		case opLt:
			return f < v.num
		case opLe:
			return f <= v.num
		case opGt:
			return f > v.num
		case opGe:
			return f >= v.num
		}
	case valString:
		eq := glob(v.text, field)
		if o == opNe {
			return !eq
		}
		return eq
	case valRegex:
		eq := v.re.MatchString(field)
		if o == opNe {
			return !eq
		}
		return eq
	}
	return false
}

// glob matches s against pattern, in which * matches any run of
// characters.
func glob(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}
