package logfilter

import (
	"regexp"
	"strings"
)

// term is one unstructured term.
type term struct {
	text string         // substring to find, when re is nil
	re   *regexp.Regexp // %regex%
}

func (t term) in(line string) bool {
	if t.re != nil {
		return t.re.MatchString(line)
	}
	return strings.Contains(line, t.text)
}

// textPattern is an unstructured pattern: every all-term must be in the
// line, no none-term may be, and one any-term must be (when there are).
type textPattern struct {
	all, any, none []term
}

func (p *textPattern) match(line string) bool {
	for _, t := range p.all {
		if !t.in(line) {
			return false
		}
	}
	for _, t := range p.none {
		if t.in(line) {
			return false
		}
	}
	if len(p.any) == 0 {
		return true
	}
	for _, t := range p.any {
		if t.in(line) {
			return true
		}
	}
	return false
}

// parseText parses unstructured terms.
func parseText(s *scanner) (*textPattern, error) {
	p := &textPattern{}
	for s.skipSpace(); !s.eof(); s.skipSpace() {
		start := s.pos
		list := &p.all
		switch s.peek() {
		case '?':
			list = &p.any
			s.pos++
		case '-':
			if s.pos+1 < len(s.src) && !isSpace(s.src[s.pos+1]) {
				list = &p.none
				s.pos++
			}
		}
		var t term
		switch s.peek() {
		case '"':
			q, err := s.quoted()
			if err != nil {
				return nil, err
			}
			t.text = q
		case '%':
			re, err := s.regex()
			if err != nil {
				return nil, err
			}
			t.re = re
		default:
			b := s.pos
			for !s.eof() && !isSpace(s.src[s.pos]) {
				if c := s.src[s.pos]; c == '"' {
					return nil, s.errorf(s.pos, "quote inside the term %q; put the whole term in double quotes and escape inner quotes with \\\"", s.src[b:s.pos])
				}
				s.pos++
			}
			t.text = s.src[b:s.pos]
			if t.text == "" {
				return nil, s.errorf(start, "%q has no term after it; write the term right after it, as in ?ERROR or -DEBUG", s.src[start:s.pos])
			}
		}
		if !s.eof() && !isSpace(s.peek()) {
			return nil, s.errorf(s.pos, "unexpected %q right after a term; separate terms with spaces", s.peek())
		}
		*list = append(*list, t)
	}
	return p, nil
}
