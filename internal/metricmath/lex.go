package metricmath

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a token of an expression.
type tokKind int

const (
	tEOF tokKind = iota
	tNum
	tName
	tStr
	tOp
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
)

type token struct {
	kind tokKind
	off  int
	text string
	num  float64
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tStr:
		return "string " + strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

type parser struct {
	src   string
	pos   int
	tok   token
	depth int
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isNameByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_'
}

// next reads the next token into p.tok.
func (p *parser) next() error {
	s := p.src
	for p.pos < len(s) && (s[p.pos] == ' ' || s[p.pos] == '\t' || s[p.pos] == '\n' || s[p.pos] == '\r') {
		p.pos++
	}
	start := p.pos
	if start >= len(s) {
		p.tok = token{kind: tEOF, off: start}
		return nil
	}
	c := s[start]
	switch {
	case isDigit(c) || c == '.' && start+1 < len(s) && isDigit(s[start+1]):
		return p.lexNumber()
	case isLetter(c) || c == '_':
		for p.pos < len(s) && isNameByte(s[p.pos]) {
			p.pos++
		}
		p.tok = token{kind: tName, off: start, text: s[start:p.pos]}
		return nil
	case c == '"':
		end := strings.IndexByte(s[start+1:], '"')
		if end < 0 {
			return &SyntaxError{start, "the string is not closed: add a \" at its end"}
		}
		p.pos = start + 1 + end + 1
		p.tok = token{kind: tStr, off: start, text: s[start+1 : start+1+end]}
		return nil
	}
	p.pos++
	single := map[byte]tokKind{'(': tLParen, ')': tRParen, '[': tLBrack, ']': tRBrack, ',': tComma}
	if k, ok := single[c]; ok {
		p.tok = token{kind: k, off: start, text: string(c)}
		return nil
	}
	two := ""
	if start+1 < len(s) {
		two = s[start : start+2]
	}
	switch two {
	case "==", "!=", "<=", ">=", "&&", "||":
		p.pos++
		p.tok = token{kind: tOp, off: start, text: two}
		return nil
	}
	switch c {
	case '+', '-', '*', '/', '^', '<', '>', '!':
		p.tok = token{kind: tOp, off: start, text: string(c)}
		return nil
	case '=':
		return &SyntaxError{start, "= is not an operator: write == to compare"}
	case '&':
		return &SyntaxError{start, "& is not an operator: write && or AND"}
	case '|':
		return &SyntaxError{start, "| is not an operator: write || or OR"}
	}
	r, _ := utf8.DecodeRuneInString(s[start:])
	return &SyntaxError{start, fmt.Sprintf("unexpected character %q: remove it", r)}
}

func (p *parser) lexNumber() error {
	s, start := p.src, p.pos
	for p.pos < len(s) && isDigit(s[p.pos]) {
		p.pos++
	}
	if p.pos < len(s) && s[p.pos] == '.' {
		p.pos++
		for p.pos < len(s) && isDigit(s[p.pos]) {
			p.pos++
		}
	}
	// An exponent only when digits follow, so that 2e is not half a number.
	if p.pos < len(s) && (s[p.pos] == 'e' || s[p.pos] == 'E') {
		q := p.pos + 1
		if q < len(s) && (s[q] == '+' || s[q] == '-') {
			q++
		}
		if q < len(s) && isDigit(s[q]) {
			for q < len(s) && isDigit(s[q]) {
				q++
			}
			p.pos = q
		}
	}
	text := s[start:p.pos]
	if p.pos < len(s) && (isNameByte(s[p.pos]) || s[p.pos] == '.') {
		return &SyntaxError{p.pos, fmt.Sprintf("the number %s runs into %q: put an operator or a space between them", text, s[p.pos])}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) {
		return &SyntaxError{start, fmt.Sprintf("the number %s is out of range: use one within ±1.8e308", text)}
	}
	p.tok = token{kind: tNum, off: start, text: text, num: v}
	return nil
}
