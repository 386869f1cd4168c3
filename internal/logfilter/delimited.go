package logfilter

import "strings"

// dcond is one condition on a space-delimited field.
type dcond struct {
	op  op
	val value
}

// dfield is one field of a space-delimited pattern.
type dfield struct {
	ellipsis bool
	name     string
	// anyOf holds alternatives (||) of conditions that must all hold
	// (&&); empty means the field matches anything.
	anyOf [][]dcond
}

func (f dfield) ok(text string) bool {
	if len(f.anyOf) == 0 {
		return true
	}
	for _, all := range f.anyOf {
		hold := true
		for _, c := range all {
			if !compare(text, c.op, c.val) {
				hold = false
				break
			}
		}
		if hold {
			return true
		}
	}
	return false
}

// delimPattern is a space-delimited pattern.
type delimPattern struct {
	fields []dfield
}

func (p *delimPattern) names() []string {
	var out []string
	for _, f := range p.fields {
		if !f.ellipsis {
			out = append(out, "$"+f.name)
		}
	}
	return out
}

// match binds the line's fields to the pattern's, trying the ways an
// ellipsis can stretch from shortest to longest.
func (p *delimPattern) match(line string) (Match, bool) {
	words := splitFields(line)
	bound := make([]int, len(p.fields)) // word index bound to each field
	failed := make(map[[2]int]bool)
	var try func(pi, wi int) bool
	try = func(pi, wi int) bool {
		if pi == len(p.fields) {
			return wi == len(words)
		}
		key := [2]int{pi, wi}
		if failed[key] {
			return false
		}
		f := p.fields[pi]
		if f.ellipsis {
			for n := wi; n <= len(words); n++ {
				if try(pi+1, n) {
					return true
				}
			}
		} else if wi < len(words) && f.ok(words[wi]) {
			bound[pi] = wi
			if try(pi+1, wi+1) {
				return true
			}
		}
		failed[key] = true
		return false
	}
	if !try(0, 0) {
		return Match{}, false
	}
	m := Match{Fields: make(map[string]string)}
	for i, f := range p.fields {
		if !f.ellipsis {
			if _, dup := m.Fields["$"+f.name]; !dup {
				m.Fields["$"+f.name] = words[bound[i]]
			}
		}
	}
	return m, true
}

// splitFields splits a line into space-delimited fields: runs of
// non-space characters, with "quoted" and [bracketed] runs (which may
// hold spaces) taken as one field without their quotes or brackets.
func splitFields(line string) []string {
	var out []string
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case isSpace(c):
			i++
		case c == '"':
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' && j+1 < len(line) {
					j++
				}
				j++
			}
			out = append(out, line[i+1:min(j, len(line))])
			i = j + 1
		case c == '[':
			j := strings.IndexByte(line[i:], ']')
			if j < 0 {
				j = len(line) - i
			}
			out = append(out, line[i+1:i+j])
			i += j + 1
		default:
			j := i
			for j < len(line) && !isSpace(line[j]) {
				j++
			}
			out = append(out, line[i:j])
			i = j
		}
	}
	return out
}

// parseDelimited parses [field, field = value, ..., field > 3].
func parseDelimited(s *scanner) (*delimPattern, error) {
	open := s.pos
	s.pos++ // [
	p := &delimPattern{}
	for {
		s.skipSpace()
		if s.eof() {
			return nil, s.errorf(open, "space-delimited pattern is not closed; end it with ]")
		}
		if s.peek() == ']' && len(p.fields) == 0 {
			return nil, s.errorf(s.pos, "space-delimited pattern names no fields; list them, as in [ip, user, status]")
		}
		f, err := parseDField(s)
		if err != nil {
			return nil, err
		}
		p.fields = append(p.fields, f)
		s.skipSpace()
		if s.accept("]") {
			break
		}
		if !s.accept(",") {
			if s.eof() {
				return nil, s.errorf(open, "space-delimited pattern is not closed; end it with ]")
			}
			return nil, s.errorf(s.pos, "unexpected %q; separate fields with commas and close the pattern with ]", s.peek())
		}
	}
	s.skipSpace()
	if !s.eof() {
		return nil, s.errorf(s.pos, "text after the closing ]; a space-delimited pattern is one [ ... ] block")
	}
	return p, nil
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

func (s *scanner) name() string {
	b := s.pos
	for !s.eof() && isNameChar(s.peek()) {
		s.pos++
	}
	return s.src[b:s.pos]
}

func parseDField(s *scanner) (dfield, error) {
	if s.accept("...") {
		return dfield{ellipsis: true}, nil
	}
	start := s.pos
	n := s.name()
	if n == "" {
		return dfield{}, s.errorf(start, "expected a field name or ...; names are letters, digits, _ - and .")
	}
	f := dfield{name: n}
	s.skipSpace()
	if s.peek() == ',' || s.peek() == ']' || s.eof() {
		return f, nil
	}
	var all []dcond
	for {
		at := s.pos
		o, ok := s.scanOp()
		if !ok {
			return dfield{}, s.errorf(at, "expected an operator (= != < <= > >=), a comma or ] after field %s", n)
		}
		s.skipSpace()
		v, err := s.scanValue(",]")
		if err != nil {
			return dfield{}, err
		}
		if err := s.checkOp(at, o, v); err != nil {
			return dfield{}, err
		}
		all = append(all, dcond{op: o, val: v})
		s.skipSpace()
		var or bool
		switch {
		case s.accept("&&"):
		case s.accept("||"):
			or = true
		default:
			f.anyOf = append(f.anyOf, all)
			return f, nil
		}
		if or {
			f.anyOf = append(f.anyOf, all)
			all = nil
		}
		s.skipSpace()
		at = s.pos
		if again := s.name(); again != n {
			return dfield{}, s.errorf(at, "condition after && or || names %q, not field %s; conditions joined on one field repeat its name, as in %s = 404 || %s = 410", again, n, n, n)
		}
		s.skipSpace()
	}
}
