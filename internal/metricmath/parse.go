package metricmath

import (
	"fmt"
	"strconv"
	"strings"
)

// SyntaxError is what Parse returns for an expression it cannot read:
// where the problem is and what it is, with the fix when there is one.
type SyntaxError struct {
	// Offset is the byte offset in the expression where the problem is
	// (for ASCII expressions, the character offset).
	Offset int
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error returns "offset N: msg".
func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// Expr is a parsed metric math expression.
type Expr struct {
	src  string
	root node
}

// maxDepth bounds the nesting of an expression's operations and calls, so
// that a pathological one is an error rather than a deep recursion.
// maxNesting bounds the parser's own recursion (parentheses count there
// but not in the expression's depth); it is high enough for the canonical
// form of any expression within maxDepth.
const (
	maxDepth   = 1000
	maxNesting = 4000
)

// Parse parses a metric math expression. Its errors are *SyntaxError.
//
// Grammar, from the loosest binding to the tightest:
//
//	OR ||, AND &&, NOT ! (prefix), comparisons == != < <= > >=,
//	+ -, * /, unary -, ^ (right-associative, so -2^2 is -4 and 2^-1 is 0.5)
//
// Operands are numbers (12, 0.5, 1e3), ids (a lowercase letter, then
// letters, digits and underscores: m1, errorRate), string literals (only as
// the argument of METRICS), function calls, parenthesised expressions and
// arrays [a, b, ...].
//
// CloudWatch asks for function names in capitals; Parse accepts them in any
// case since an id cannot be called. The keywords AND, OR, NOT, REPEAT,
// LINEAR, ASC and DESC must be in capitals, because in lowercase they are
// valid ids. NOT and ! are accepted beyond what the User Guide lists; both
// bind looser than comparisons, so NOT m1 > 5 is NOT (m1 > 5).
func Parse(expr string) (*Expr, error) {
	p := &parser{src: expr}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, &SyntaxError{0, "the expression is empty: write one such as m1/m2*100"}
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, &SyntaxError{p.tok.off, fmt.Sprintf("unexpected %s after a complete expression: add an operator before it or remove it", p.tok.describe())}
	}
	if n := tooDeep(root, 1); n != nil {
		return nil, &SyntaxError{n.offset(), fmt.Sprintf("the expression nests operations and calls more than %d deep: split it into several expressions", maxDepth)}
	}
	if err := check(root, false); err != nil {
		return nil, err
	}
	return &Expr{src: expr, root: root}, nil
}

// tooDeep returns the first node below n deeper than maxDepth, n being at
// depth d, or nil.
func tooDeep(n node, d int) node {
	if d > maxDepth {
		return n
	}
	var kids []node
	switch n := n.(type) {
	case *unary:
		kids = []node{n.x}
	case *binary:
		kids = []node{n.l, n.r}
	case *call:
		kids = n.args
	case *array:
		kids = n.elems
	}
	for _, k := range kids {
		if deep := tooDeep(k, d+1); deep != nil {
			return deep
		}
	}
	return nil
}

// String returns the expression in a canonical form that Parse reads back
// to the same expression: every binary operation in parentheses, function
// names in capitals, && || ! written AND OR NOT.
func (e *Expr) String() string {
	var b strings.Builder
	e.root.write(&b)
	return b.String()
}

// Source returns the text the expression was parsed from.
func (e *Expr) Source() string { return e.src }

// Refs returns the ids the expression references directly, each once, in
// the order they first appear. Ids reached through METRICS() are not
// included; see UsesMetrics.
func (e *Expr) Refs() []string {
	var ids []string
	seen := map[string]bool{}
	walk(e.root, func(n node) {
		if r, ok := n.(*ref); ok && !seen[r.id] {
			seen[r.id] = true
			ids = append(ids, r.id)
		}
	})
	return ids
}

// refOffsets returns the offset of the first use of each referenced id.
func (e *Expr) refOffsets() map[string]int {
	offs := map[string]int{}
	walk(e.root, func(n node) {
		if r, ok := n.(*ref); ok {
			if _, dup := offs[r.id]; !dup {
				offs[r.id] = r.off
			}
		}
	})
	return offs
}

// UsesMetrics reports whether the expression calls METRICS().
func (e *Expr) UsesMetrics() bool {
	uses := false
	walk(e.root, func(n node) {
		if c, ok := n.(*call); ok && c.name == "METRICS" {
			uses = true
		}
	})
	return uses
}

// The syntax tree.
type (
	node interface {
		offset() int
		write(b *strings.Builder)
	}
	// num is a number literal.
	num struct {
		off int
		v   float64
	}
	// ref is an id: a metric query's or an earlier expression's result.
	ref struct {
		off int
		id  string
	}
	// str is a string literal, the argument of METRICS.
	str struct {
		off int
		s   string
	}
	// keyword is a bare capitalised word that is an argument of a function:
	// REPEAT and LINEAR for FILL, the statistic and order for SORT.
	keyword struct {
		off  int
		name string
	}
	// unary is -x or NOT x.
	unary struct {
		off int
		op  string
		x   node
	}
	// binary is l op r; off is the operator's offset.
	binary struct {
		off  int
		op   string
		l, r node
	}
	// call is NAME(args); name is in capitals.
	call struct {
		off  int
		name string
		args []node
	}
	// array is [a, b, ...].
	array struct {
		off   int
		elems []node
	}
)

func (n *num) offset() int     { return n.off }
func (n *ref) offset() int     { return n.off }
func (n *str) offset() int     { return n.off }
func (n *keyword) offset() int { return n.off }
func (n *unary) offset() int   { return n.off }
func (n *binary) offset() int  { return n.off }
func (n *call) offset() int    { return n.off }
func (n *array) offset() int   { return n.off }

func (n *num) write(b *strings.Builder)     { b.WriteString(strconv.FormatFloat(n.v, 'g', -1, 64)) }
func (n *ref) write(b *strings.Builder)     { b.WriteString(n.id) }
func (n *str) write(b *strings.Builder)     { b.WriteString(`"` + n.s + `"`) }
func (n *keyword) write(b *strings.Builder) { b.WriteString(n.name) }
func (n *unary) write(b *strings.Builder) {
	if n.op == "NOT" {
		// In parentheses: NOT binds looser than the operators around it.
		b.WriteString("(NOT ")
		n.x.write(b)
		b.WriteByte(')')
		return
	}
	b.WriteString(n.op)
	n.x.write(b)
}
func (n *binary) write(b *strings.Builder) {
	b.WriteByte('(')
	if u, ok := n.l.(*unary); ok && u.op == "-" && n.op == "^" {
		// ^ binds tighter than unary minus: (-2)^2 needs its parentheses.
		b.WriteByte('(')
		u.write(b)
		b.WriteByte(')')
	} else {
		n.l.write(b)
	}
	b.WriteString(" " + n.op + " ")
	n.r.write(b)
	b.WriteByte(')')
}
func (n *call) write(b *strings.Builder) {
	b.WriteString(n.name + "(")
	writeList(b, n.args)
	b.WriteByte(')')
}
func (n *array) write(b *strings.Builder) {
	b.WriteByte('[')
	writeList(b, n.elems)
	b.WriteByte(']')
}

func writeList(b *strings.Builder, ns []node) {
	for i, n := range ns {
		if i > 0 {
			b.WriteString(", ")
		}
		n.write(b)
	}
}

// walk calls f on n and every node below it, parents first.
func walk(n node, f func(node)) {
	f(n)
	switch n := n.(type) {
	case *unary:
		walk(n.x, f)
	case *binary:
		walk(n.l, f)
		walk(n.r, f)
	case *call:
		for _, a := range n.args {
			walk(a, f)
		}
	case *array:
		for _, e := range n.elems {
			walk(e, f)
		}
	}
}

// check rejects strings and keywords outside the argument positions that
// take them, and checks every call's arguments against its function.
// asArg says n is directly an argument of a call that has accepted it.
func check(n node, asArg bool) error {
	switch n := n.(type) {
	case *str:
		if !asArg {
			return &SyntaxError{n.off, fmt.Sprintf("a string (%q) is only valid as the argument of METRICS: write METRICS(%q)", n.s, n.s)}
		}
	case *keyword:
		if !asArg {
			return &SyntaxError{n.off, fmt.Sprintf("%s is only valid as an argument of %s", n.name, keywordUse(n.name))}
		}
	case *unary:
		return check(n.x, false)
	case *binary:
		if err := check(n.l, false); err != nil {
			return err
		}
		return check(n.r, false)
	case *array:
		for _, e := range n.elems {
			if err := check(e, false); err != nil {
				return err
			}
		}
	case *call:
		spec, _ := lookup(n.name)
		if len(n.args) < spec.min || len(n.args) > spec.max {
			return &SyntaxError{n.off, fmt.Sprintf("%s takes %s, got %d: write %s", n.name, arity(spec), len(n.args), spec.usage)}
		}
		for i, a := range n.args {
			ok, err := spec.literalArg(n, i, a)
			if err != nil {
				return err
			}
			if err := check(a, ok); err != nil {
				return err
			}
		}
	}
	return nil
}

func keywordUse(name string) string {
	switch name {
	case "REPEAT", "LINEAR":
		return "FILL: write FILL(m1, " + name + ")"
	case "ASC", "DESC":
		return "SORT: write SORT(METRICS(), AVG, " + name + ")"
	}
	return "SORT as its statistic; as a function, call it: " + name + "(m1)"
}

func arity(s funcSpec) string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return strconv.Itoa(n) + " arguments"
	}
	switch {
	case s.min == s.max:
		return plural(s.min)
	case s.max == manyArgs:
		return "at least " + plural(s.min)
	}
	return fmt.Sprintf("%d to %d arguments", s.min, s.max)
}

func (p *parser) isOp(ops ...string) bool {
	if p.tok.kind != tOp && p.tok.kind != tName {
		return false
	}
	for _, o := range ops {
		if p.tok.text == o {
			return true
		}
	}
	return false
}

// binaryLevel parses sub { op sub } for the given operators.
func (p *parser) binaryLevel(sub func() (node, error), canon map[string]string) (node, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := canon[p.tok.text]
		if !ok || p.tok.kind != tOp && p.tok.kind != tName {
			return l, nil
		}
		off := p.tok.off
		if err := p.next(); err != nil {
			return nil, err
		}
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = &binary{off: off, op: op, l: l, r: r}
	}
}

func (p *parser) parseOr() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxNesting {
		return nil, &SyntaxError{p.tok.off, fmt.Sprintf("the expression is nested more than %d deep: split it into several expressions", maxNesting)}
	}
	return p.binaryLevel(p.parseAnd, map[string]string{"OR": "OR", "||": "OR"})
}

func (p *parser) parseAnd() (node, error) {
	return p.binaryLevel(p.parseNot, map[string]string{"AND": "AND", "&&": "AND"})
}

func (p *parser) parseNot() (node, error) {
	if p.isOp("NOT", "!") {
		off := p.tok.off
		if err := p.next(); err != nil {
			return nil, err
		}
		x, err := p.nested(p.parseNot)
		if err != nil {
			return nil, err
		}
		return &unary{off: off, op: "NOT", x: x}, nil
	}
	return p.parseCmp()
}

func (p *parser) parseCmp() (node, error) {
	return p.binaryLevel(p.parseAdd, map[string]string{"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="})
}

func (p *parser) parseAdd() (node, error) {
	return p.binaryLevel(p.parseMul, map[string]string{"+": "+", "-": "-"})
}

func (p *parser) parseMul() (node, error) {
	return p.binaryLevel(p.parseUnary, map[string]string{"*": "*", "/": "/"})
}

// nested runs f one level deeper, failing past maxNesting.
func (p *parser) nested(f func() (node, error)) (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxNesting {
		return nil, &SyntaxError{p.tok.off, fmt.Sprintf("the expression is nested more than %d deep: split it into several expressions", maxNesting)}
	}
	return f()
}

func (p *parser) parseUnary() (node, error) {
	if p.tok.kind == tOp && p.tok.text == "-" {
		off := p.tok.off
		if err := p.next(); err != nil {
			return nil, err
		}
		x, err := p.nested(p.parseUnary)
		if err != nil {
			return nil, err
		}
		return &unary{off: off, op: "-", x: x}, nil
	}
	return p.parsePow()
}

func (p *parser) parsePow() (node, error) {
	l, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tOp && p.tok.text == "^" {
		off := p.tok.off
		if err := p.next(); err != nil {
			return nil, err
		}
		r, err := p.nested(p.parseUnary)
		if err != nil {
			return nil, err
		}
		return &binary{off: off, op: "^", l: l, r: r}, nil
	}
	return l, nil
}

// keywords are the capitalised words valid as bare function arguments.
func isKeyword(w string) bool {
	switch w {
	case "REPEAT", "LINEAR", "ASC", "DESC", "AVG", "MIN", "MAX", "SUM":
		return true
	}
	return false
}

func (p *parser) parsePrimary() (node, error) {
	t := p.tok
	switch t.kind {
	case tNum:
		return &num{off: t.off, v: t.num}, p.next()
	case tStr:
		return &str{off: t.off, s: t.text}, p.next()
	case tLParen:
		if err := p.next(); err != nil {
			return nil, err
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, &SyntaxError{p.tok.off, fmt.Sprintf("expected ) to close the ( at offset %d, found %s: add )", t.off, p.tok.describe())}
		}
		return x, p.next()
	case tLBrack:
		if err := p.next(); err != nil {
			return nil, err
		}
		elems, err := p.parseList(tRBrack, "]", t.off)
		if err != nil {
			return nil, err
		}
		if len(elems) == 0 {
			return nil, &SyntaxError{t.off, "the array is empty: list time series in it, as in [m1, m2]"}
		}
		return &array{off: t.off, elems: elems}, nil
	case tName:
		return p.parseName()
	}
	return nil, &SyntaxError{t.off, fmt.Sprintf("expected a number, an id, a function call, ( or [, found %s", t.describe())}
}

func (p *parser) parseName() (node, error) {
	t := p.tok
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind == tLParen {
		name := strings.ToUpper(t.text)
		if _, ok := lookup(name); !ok {
			return nil, &SyntaxError{t.off, unknownFunction(t.text, name)}
		}
		open := p.tok.off
		if err := p.next(); err != nil {
			return nil, err
		}
		args, err := p.parseList(tRParen, ")", open)
		if err != nil {
			return nil, err
		}
		return &call{off: t.off, name: name, args: args}, nil
	}
	c := t.text[0]
	switch {
	case c >= 'a' && c <= 'z':
		return &ref{off: t.off, id: t.text}, nil
	case isKeyword(t.text):
		return &keyword{off: t.off, name: t.text}, nil
	case t.text == "AND" || t.text == "OR" || t.text == "NOT":
		return nil, &SyntaxError{t.off, fmt.Sprintf("expected an operand before %s, found %s", t.text, t.text)}
	}
	if _, ok := lookup(strings.ToUpper(t.text)); ok {
		return nil, &SyntaxError{t.off, fmt.Sprintf("%s is a function: call it, as in %s(m1)", t.text, strings.ToUpper(t.text))}
	}
	fix := "start it with a lowercase letter"
	if isLetter(c) {
		fix = "write " + strings.ToLower(t.text[:1]) + t.text[1:]
	}
	return nil, &SyntaxError{t.off, fmt.Sprintf("%s is not an id: ids start with a lowercase letter (%s)", t.text, fix)}
}

// parseList parses comma-separated expressions up to the closing token,
// which it consumes. The opening token has been consumed.
func (p *parser) parseList(closer tokKind, closeText string, open int) ([]node, error) {
	var list []node
	if p.tok.kind == closer {
		return list, p.next()
	}
	for {
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		list = append(list, x)
		switch p.tok.kind {
		case tComma:
			if err := p.next(); err != nil {
				return nil, err
			}
		case closer:
			return list, p.next()
		default:
			return nil, &SyntaxError{p.tok.off, fmt.Sprintf("expected , or %s to close the one at offset %d, found %s: add %s", closeText, open, p.tok.describe(), closeText)}
		}
	}
}

// unknownFunction says why a function name is not accepted, and what to
// write instead.
func unknownFunction(text, name string) string {
	switch name {
	case "ANOMALY_DETECTION_BAND", "SEARCH", "INSIGHT_RULE_METRIC", "SERVICE_QUOTA", "LAMBDA", "DB_PERF_INSIGHTS":
		return fmt.Sprintf("%s is a CloudWatch function that is not supported here: compute the series another way", name)
	case "NOT":
		return "NOT binds looser than arithmetic and comparisons: put it in parentheses, as in m1 * (NOT m2)"
	case "SQRT":
		return "CloudWatch has no SQRT: write m1 ^ 0.5"
	case "EXP":
		return "CloudWatch has no EXP: write 2.718281828459045 ^ m1"
	}
	return fmt.Sprintf("unknown function %s: use one of %s", text, strings.Join(functionNames(), ", "))
}
