package logfilter

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// jsonExpr is a node of a JSON pattern's expression.
type jsonExpr interface {
	eval(doc any) bool
}

type jsonAnd struct{ l, r jsonExpr }

func (e jsonAnd) eval(doc any) bool { return e.l.eval(doc) && e.r.eval(doc) }

type jsonOr struct{ l, r jsonExpr }

func (e jsonOr) eval(doc any) bool { return e.l.eval(doc) || e.r.eval(doc) }

// step is one step of a selector: a key, or an index when key is empty.
type step struct {
	key   string
	index int
}

// selector is a parsed $.a.b[0].
type selector struct {
	name  string // canonical text
	steps []step
}

// lookup follows the selector through a decoded document.
func (sel selector) lookup(doc any) (any, bool) {
	v := doc
	for _, st := range sel.steps {
		if st.key != "" {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[st.key]; !ok {
				return nil, false
			}
			continue
		}
		a, ok := v.([]any)
		if !ok || st.index >= len(a) {
			return nil, false
		}
		v = a[st.index]
	}
	return v, true
}

// test is the kind of a JSON condition.
type test int

const (
	testCompare test = iota
	testNull
	testNotExists
	testTrue
	testFalse
)

type jsonCond struct {
	sel  selector
	test test
	op   op
	val  value
}

func (c jsonCond) eval(doc any) bool {
	v, ok := c.sel.lookup(doc)
	switch c.test {
	case testNotExists:
		return !ok
	case testNull:
		return ok && v == nil
	case testTrue:
		b, isBool := v.(bool)
		return ok && isBool && b
	case testFalse:
		b, isBool := v.(bool)
		return ok && isBool && !b
	}
	if !ok {
		return false
	}
	switch x := v.(type) {
	case string:
		if c.val.kind == valNumber && c.op != opEq && c.op != opNe {
			return false
		}
		if c.val.kind == valNumber {
			eq := x == c.val.text
			return eq == (c.op == opEq)
		}
		return compare(x, c.op, c.val)
	case json.Number:
		return compare(string(x), c.op, c.val)
	case bool:
		if c.val.kind == valNumber {
			return false
		}
		return compare(strconv.FormatBool(x), c.op, c.val)
	}
	// null, objects and arrays match only the * wildcard.
	return c.val.kind == valString && c.val.text == "*" && c.op == opEq && v != nil
}

// jsonText is a value's text for Match.Fields.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// matchJSON decodes line and evaluates e.
func matchJSON(e jsonExpr, sels []selector, line string) (Match, bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "{") {
		return Match{}, false
	}
	d := json.NewDecoder(strings.NewReader(t))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return Match{}, false
	}
	if !e.eval(doc) {
		return Match{}, false
	}
	m := Match{Fields: make(map[string]string, len(sels))}
	for _, sel := range sels {
		if v, ok := sel.lookup(doc); ok {
			m.Fields[sel.name] = jsonText(v)
		}
	}
	return m, true
}

// parseJSON parses { expr }.
func parseJSON(s *scanner) (jsonExpr, []selector, error) {
	open := s.pos
	s.pos++ // {
	var sels []selector
	e, err := parseOr(s, &sels)
	if err != nil {
		return nil, nil, err
	}
	s.skipSpace()
	if !s.accept("}") {
		if s.eof() {
			return nil, nil, s.errorf(open, "JSON pattern is not closed; end it with }")
		}
		return nil, nil, s.errorf(s.pos, "unexpected %q; join conditions with && or ||, or close the pattern with }", s.peek())
	}
	s.skipSpace()
	if !s.eof() {
		return nil, nil, s.errorf(s.pos, "text after the closing }; a JSON pattern is one { ... } block")
	}
	return e, sels, nil
}

func parseOr(s *scanner, sels *[]selector) (jsonExpr, error) {
	l, err := parseAnd(s, sels)
	if err != nil {
		return nil, err
	}
	for {
		s.skipSpace()
		if !s.accept("||") {
			return l, nil
		}
		r, err := parseAnd(s, sels)
		if err != nil {
			return nil, err
		}
		l = jsonOr{l, r}
	}
}

func parseAnd(s *scanner, sels *[]selector) (jsonExpr, error) {
	l, err := parseUnary(s, sels)
	if err != nil {
		return nil, err
	}
	for {
		s.skipSpace()
		if !s.accept("&&") {
			return l, nil
		}
		r, err := parseUnary(s, sels)
		if err != nil {
			return nil, err
		}
		l = jsonAnd{l, r}
	}
}

func parseUnary(s *scanner, sels *[]selector) (jsonExpr, error) {
	s.skipSpace()
	if s.peek() == '(' {
		open := s.pos
		s.pos++
		e, err := parseOr(s, sels)
		if err != nil {
			return nil, err
		}
		s.skipSpace()
		if !s.accept(")") {
			return nil, s.errorf(open, "parenthesis is not closed; add the matching )")
		}
		return e, nil
	}
	return parseCond(s, sels)
}

func parseCond(s *scanner, sels *[]selector) (jsonExpr, error) {
	sel, err := parseSelector(s)
	if err != nil {
		return nil, err
	}
	found := false
	for _, x := range *sels {
		found = found || x.name == sel.name
	}
	if !found {
		*sels = append(*sels, sel)
	}
	s.skipSpace()
	c := jsonCond{sel: sel}
	switch {
	case s.acceptWord("IS"):
		s.skipSpace()
		switch {
		case s.acceptWord("NULL"):
			c.test = testNull
		case s.acceptWord("TRUE"):
			c.test = testTrue
		case s.acceptWord("FALSE"):
			c.test = testFalse
		default:
			return nil, s.errorf(s.pos, "IS must be followed by NULL, TRUE or FALSE")
		}
		return c, nil
	case s.acceptWord("NOT"):
		s.skipSpace()
		if !s.acceptWord("EXISTS") {
			return nil, s.errorf(s.pos, "NOT must be followed by EXISTS")
		}
		c.test = testNotExists
		return c, nil
	}
	at := s.pos
	o, ok := s.scanOp()
	if !ok {
		return nil, s.errorf(at, "expected an operator (= != < <= > >=) or IS NULL, IS TRUE, IS FALSE, NOT EXISTS after %s", sel.name)
	}
	s.skipSpace()
	v, err := s.scanValue("})(")
	if err != nil {
		return nil, err
	}
	if err := s.checkOp(at, o, v); err != nil {
		return nil, err
	}
	c.op, c.val = o, v
	return c, nil
}

// parseSelector reads $.a.b[0].
func parseSelector(s *scanner) (selector, error) {
	start := s.pos
	if !s.accept("$") {
		return selector{}, s.errorf(start, "expected a selector such as $.field; JSON conditions start with $.")
	}
	var sel selector
	var name bytes.Buffer
	name.WriteByte('$')
	for !s.eof() {
		switch s.peek() {
		case '.':
			s.pos++
			b := s.pos
			for !s.eof() && isKeyChar(s.peek()) {
				s.pos++
			}
			if b == s.pos {
				return selector{}, s.errorf(b, "missing field name after \".\" in the selector; write $.name")
			}
			k := s.src[b:s.pos]
			sel.steps = append(sel.steps, step{key: k})
			name.WriteByte('.')
			name.WriteString(k)
			continue
		case '[':
			s.pos++
			b := s.pos
			for !s.eof() && s.peek() >= '0' && s.peek() <= '9' {
				s.pos++
			}
			i, err := strconv.Atoi(s.src[b:s.pos])
			if err != nil || !s.accept("]") {
				return selector{}, s.errorf(b, "array index must be a number in brackets, as in $.list[0]")
			}
			sel.steps = append(sel.steps, step{index: i})
			name.WriteString("[" + strconv.Itoa(i) + "]")
			continue
		}
		break
	}
	if len(sel.steps) == 0 {
		return selector{}, s.errorf(start, "selector $ names no field; write $.field")
	}
	sel.name = name.String()
	return sel, nil
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '@' || c == ':'
}
