package alarm

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limits of a composite alarm's rule from PutCompositeAlarm and "Creating a
// composite alarm": at most 100 referenced alarms, 500 elements (alarm
// functions, TRUE, FALSE and pairs of parentheses) and 10240 characters.
const (
	MaxRuleAlarms   = 100
	MaxRuleElements = 500
	MaxRuleLength   = 10240
)

type exprKind int

const (
	kindFunc exprKind = iota // ALARM(name), OK(name), INSUFFICIENT_DATA(name)
	kindConst
	kindNot
	kindAnd
	kindOr
)

// Expr is a parsed composite alarm rule. Build one with ParseRule.
type Expr struct {
	kind  exprKind
	state State  // kindFunc: the state the function tests
	name  string // kindFunc: the referenced alarm
	value bool   // kindConst
	kids  []*Expr
}

// ParseError is a rule that does not parse: where and why.
type ParseError struct {
	// Offset is the byte offset in the rule where the problem is.
	Offset int
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error formats the problem as "alarm rule: offset N: Msg".
func (e *ParseError) Error() string { return fmt.Sprintf("alarm rule: offset %d: %s", e.Offset, e.Msg) }

type tokKind int

const (
	tokEOF tokKind = iota
	tokLParen
	tokRParen
	tokWord   // an unquoted word: a keyword or an unquoted alarm name
	tokString // a double-quoted alarm name
)

type token struct {
	kind tokKind
	text string
	off  int
}

// ParseRule parses a composite alarm's AlarmRule as AWS writes it:
// ALARM(name), OK(name) and INSUFFICIENT_DATA(name) with the name quoted
// ("name") or not, TRUE, FALSE, NOT, AND, OR and parentheses. Keywords are
// upper case. AWS documents no precedence; madang binds NOT tightest, then
// AND, then OR (so "a OR b AND NOT c" is "a OR (b AND (NOT c))"). A rule
// references at most MaxRuleAlarms distinct alarms, has at most
// MaxRuleElements elements and MaxRuleLength characters.
func ParseRule(rule string) (*Expr, error) {
	if len(rule) > MaxRuleLength {
		return nil, &ParseError{Offset: MaxRuleLength, Msg: fmt.Sprintf("the rule has %d characters, over the %d limit; split it into composite alarms that reference each other", len(rule), MaxRuleLength)}
	}
	toks, err := lex(rule)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	if p.peek().kind == tokEOF {
		return nil, &ParseError{Offset: 0, Msg: `the rule is empty; reference an alarm, e.g. ALARM("cpu-high"), or write TRUE or FALSE`}
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t, "AND, OR or the end of the rule")
	}
	if p.elements > MaxRuleElements {
		return nil, &ParseError{Offset: 0, Msg: fmt.Sprintf("the rule has %d elements (alarm functions, TRUE, FALSE and pairs of parentheses), over the %d limit; split it into composite alarms", p.elements, MaxRuleElements)}
	}
	if refs := e.Refs(); len(refs) > MaxRuleAlarms {
		return nil, &ParseError{Offset: 0, Msg: fmt.Sprintf("the rule references %d alarms, over the %d limit; split it into composite alarms that reference each other", len(refs), MaxRuleAlarms)}
	}
	return e, nil
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, &ParseError{Offset: i, Msg: `the quoted alarm name is not closed; end it with "`}
			}
			toks = append(toks, token{tokString, s[i+1 : i+1+end], i})
			i += end + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()\"", rune(s[j])) {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j], i})
			i = j
		}
	}
	return append(toks, token{tokEOF, "", len(s)}), nil
}

type parser struct {
	toks     []token
	pos      int
	elements int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) unexpected(t token, want string) error {
	if t.kind == tokEOF {
		return &ParseError{Offset: t.off, Msg: fmt.Sprintf("the rule ends early; expected %s", want)}
	}
	what := strconv.Quote(t.text)
	if t.kind == tokString {
		what = "the quoted name " + strconv.Quote(t.text)
	}
	msg := fmt.Sprintf("unexpected %s; expected %s", what, want)
	if up := strings.ToUpper(t.text); t.kind == tokWord && up != t.text && isKeyword(up) {
		msg += fmt.Sprintf("; keywords are upper case: write %s", up)
	}
	return &ParseError{Offset: t.off, Msg: msg}
}

func isKeyword(w string) bool {
	switch w {
	case "AND", "OR", "NOT", "TRUE", "FALSE", "ALARM", "OK", "INSUFFICIENT_DATA":
		return true
	}
	return false
}

func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tokWord && t.text == w
}

// or := and ("OR" and)*
func (p *parser) or() (*Expr, error) {
	return p.binary(kindOr, "OR", p.and)
}

// and := not ("AND" not)*
func (p *parser) and() (*Expr, error) {
	return p.binary(kindAnd, "AND", p.not)
}

func (p *parser) binary(kind exprKind, word string, operand func() (*Expr, error)) (*Expr, error) {
	first, err := operand()
	if err != nil {
		return nil, err
	}
	kids := []*Expr{first}
	for p.isWord(word) {
		p.next()
		e, err := operand()
		if err != nil {
			return nil, err
		}
		kids = append(kids, e)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &Expr{kind: kind, kids: kids}, nil
}

// not := "NOT" not | primary
func (p *parser) not() (*Expr, error) {
	if p.isWord("NOT") {
		p.next()
		e, err := p.not()
		if err != nil {
			return nil, err
		}
		return &Expr{kind: kindNot, kids: []*Expr{e}}, nil
	}
	return p.primary()
}

const operandWant = `ALARM(name), OK(name), INSUFFICIENT_DATA(name), TRUE, FALSE, NOT or "("`

// primary := "(" or ")" | TRUE | FALSE | FUNC "(" name ")"
func (p *parser) primary() (*Expr, error) {
	t := p.next()
	switch {
	case t.kind == tokLParen:
		p.elements++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, p.unexpected(c, fmt.Sprintf(`AND, OR or ")" to close the "(" at offset %d`, t.off))
		}
		return e, nil
	case t.kind == tokWord && (t.text == "TRUE" || t.text == "FALSE"):
		p.elements++
		return &Expr{kind: kindConst, value: t.text == "TRUE"}, nil
	case t.kind == tokWord && (t.text == "ALARM" || t.text == "OK" || t.text == "INSUFFICIENT_DATA"):
		p.elements++
		if o := p.next(); o.kind != tokLParen {
			return nil, p.unexpected(o, fmt.Sprintf(`"(" after %s; write %s("alarm-name")`, t.text, t.text))
		}
		n := p.next()
		if n.kind != tokWord && n.kind != tokString {
			return nil, p.unexpected(n, fmt.Sprintf(`an alarm name in %s(...); write %s("alarm-name")`, t.text, t.text))
		}
		if strings.TrimSpace(n.text) == "" {
			return nil, &ParseError{Offset: n.off, Msg: fmt.Sprintf(`the alarm name in %s(...) is empty; name the alarm, e.g. %s("cpu-high")`, t.text, t.text)}
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, p.unexpected(c, fmt.Sprintf(`")" to close %s(; quote a name with spaces: %s("my alarm")`, t.text, t.text))
		}
		return &Expr{kind: kindFunc, state: State(t.text), name: n.text}, nil
	}
	return nil, p.unexpected(t, operandWant)
}

// Refs returns the distinct names of the alarms the rule references,
// sorted.
func (e *Expr) Refs() []string {
	seen := map[string]bool{}
	var walk func(*Expr)
	walk = func(x *Expr) {
		if x.kind == kindFunc {
			seen[x.name] = true
		}
		for _, k := range x.kids {
			walk(k)
		}
	}
	walk(e)
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// String writes the rule in canonical form: names quoted, one space around
// operators, and parentheses only where precedence needs them. ParseRule
// reads it back to an equal rule (unless quoting unquoted names took it
// past MaxRuleLength).
func (e *Expr) String() string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

func (e *Expr) prec() int {
	switch e.kind {
	case kindOr:
		return 1
	case kindAnd:
		return 2
	case kindNot:
		return 3
	}
	return 4
}

func (e *Expr) write(b *strings.Builder) {
	switch e.kind {
	case kindFunc:
		// Names cannot contain '"' (the rule syntax has no escapes), so
		// quoting them verbatim reads back as the same name.
		fmt.Fprintf(b, "%s(\"%s\")", e.state, e.name)
	case kindConst:
		if e.value {
			b.WriteString("TRUE")
		} else {
			b.WriteString("FALSE")
		}
	case kindNot:
		b.WriteString("NOT ")
		e.writeKid(b, e.kids[0], e.prec())
	case kindAnd, kindOr:
		op := " AND "
		if e.kind == kindOr {
			op = " OR "
		}
		for i, k := range e.kids {
			if i > 0 {
				b.WriteString(op)
			}
			e.writeKid(b, k, e.prec()+1)
		}
	}
}

// writeKid writes k, in parentheses when it binds looser than min.
func (e *Expr) writeKid(b *strings.Builder, k *Expr, min int) {
	if k.prec() < min {
		b.WriteString("(")
		k.write(b)
		b.WriteString(")")
		return
	}
	k.write(b)
}

// tri is a three-valued truth: a function on an alarm whose state is not
// known is unknown.
type tri int

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

// eval evaluates e over states; unknown names an alarm missing from states.
func (e *Expr) eval(states map[string]State) tri {
	switch e.kind {
	case kindFunc:
		s, ok := states[e.name]
		if !ok || !s.valid() {
			return triUnknown
		}
		if s == e.state {
			return triTrue
		}
		return triFalse
	case kindConst:
		if e.value {
			return triTrue
		}
		return triFalse
	case kindNot:
		switch e.kids[0].eval(states) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUnknown
	}
	// AND is false if any operand is, OR true if any is; otherwise an
	// unknown operand makes the result unknown.
	decisive, other := triFalse, triTrue
	if e.kind == kindOr {
		decisive, other = triTrue, triFalse
	}
	result := other
	for _, k := range e.kids {
		switch k.eval(states) {
		case decisive:
			return decisive
		case triUnknown:
			result = triUnknown
		}
	}
	return result
}

// why collects the functions that make e evaluate to want: for a true AND
// all its operands, for a true OR the first true one, and the converse for
// false. Each is added to out once, in rule order.
func (e *Expr) why(states map[string]State, want bool, out *[]*Expr) {
	wantTri := triFalse
	if want {
		wantTri = triTrue
	}
	switch e.kind {
	case kindFunc:
		if e.eval(states) == wantTri {
			for _, f := range *out {
				if f.name == e.name && f.state == e.state {
					return
				}
			}
			*out = append(*out, e)
		}
	case kindNot:
		e.kids[0].why(states, !want, out)
	case kindAnd, kindOr:
		all := (e.kind == kindAnd) == want // every operand has the wanted value
		for _, k := range e.kids {
			if k.eval(states) != wantTri {
				continue
			}
			k.why(states, want, out)
			if !all {
				return
			}
		}
	}
}

// EvaluateComposite returns the composite alarm's state at now: ALARM when
// the rule is true, otherwise OK. AWS puts a composite alarm in
// INSUFFICIENT_DATA only when it is created ("this initial time after
// creation is the only time that the alarm can be in INSUFFICIENT_DATA
// state"), so referenced alarms in INSUFFICIENT_DATA are just alarms in
// that state: ALARM(x) is false for them and INSUFFICIENT_DATA(x) true. An
// alarm missing from states (deleted, or not yet known to the caller) is
// unknown: the rule is decided without it where it can be (FALSE AND …,
// TRUE OR …), and otherwise the result is INSUFFICIENT_DATA naming it —
// madang's choice, as AWS rejects rules that name alarms that do not exist.
// The reason names the alarms whose states decided the rule.
func EvaluateComposite(e *Expr, states map[string]State, prev State, now time.Time) Result {
	prev = prev.orInitial()
	if e == nil {
		return Result{State: prev, Reason: "Unchecked: the composite alarm has no rule"}
	}
	var state State
	var reason string
	data := ReasonData{TriggeringAlarms: []TriggeringAlarm{}}
	switch e.eval(states) {
	case triUnknown:
		var unknown []string
		for _, n := range e.Refs() {
			if s, ok := states[n]; !ok || !s.valid() {
				unknown = append(unknown, strconv.Quote(n))
			}
		}
		state = InsufficientData
		reason = fmt.Sprintf("Insufficient Data: the rule references unknown %s %s.", plural(len(unknown), "alarm", "alarms"), strings.Join(unknown, ", "))
	default:
		want := e.eval(states) == triTrue
		state = OK
		if want {
			state = Alarm
		}
		var fns []*Expr
		e.why(states, want, &fns)
		var parts []string
		seen := map[string]bool{}
		for _, f := range fns {
			if seen[f.name] {
				continue
			}
			seen[f.name] = true
			data.TriggeringAlarms = append(data.TriggeringAlarms, TriggeringAlarm{Name: f.name, State: states[f.name]})
			parts = append(parts, fmt.Sprintf("%s is in %s", strconv.Quote(f.name), states[f.name]))
		}
		verdict := "FALSE"
		if want {
			verdict = "TRUE"
		}
		if len(parts) == 0 {
			reason = fmt.Sprintf("The rule is %s.", verdict)
		} else {
			reason = fmt.Sprintf("The rule is %s: %s.", verdict, strings.Join(parts, ", "))
		}
	}
	return Result{State: state, Reason: reason, ReasonData: data, Changed: state != prev}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
