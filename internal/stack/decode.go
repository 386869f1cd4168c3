package stack

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/kind"
)

// maxNodes bounds how many YAML nodes one stack file may decode to, so a
// file whose aliases expand exponentially fails fast instead of eating
// memory.
const maxNodes = 100_000

// maxProblems bounds how many problems one Error lists.
const maxProblems = 100

// maxMergeDepth bounds nested "<<" merge keys.
const maxMergeDepth = 16

// position is a 1-based line and column in the stack file; zero when
// unknown.
type position struct{ line, col int }

func nodePos(n *yaml.Node) position { return position{n.Line, n.Column} }

// located is a problem and where it is.
type located struct {
	pos position
	err *fielderr.Error
}

// parser decodes one stack file strictly and collects its problems.
type parser struct {
	file string
	reg  *kind.Registry
	// existing, if set, reports resources outside the stack that its
	// references may name (see ParseWith).
	existing func(kind, name string) bool
	// pos maps field paths ("loadBalancers[0].listeners[1].port") to the
	// position of their key (or of the list item).
	pos      map[string]position
	problems []located
	// badPaths are the paths the decoder could not fill; validation
	// problems at or under them are noise and are dropped.
	badPaths map[string]bool
	nodes    int
	// fields caches structFields per type.
	fields map[reflect.Type][]field
}

// problem records e at pos.
func (p *parser) problem(pos position, e *fielderr.Error) {
	p.problems = append(p.problems, located{pos, e})
}

// decodeProblem records a decoding problem at node n for path.
func (p *parser) decodeProblem(n *yaml.Node, path, value, problem, fix string) {
	p.markBad(path)
	p.problem(nodePos(n), &fielderr.Error{Path: path, Value: value, Problem: problem, Fix: fix})
}

// report records a validation problem whose Path is relative to the file's
// root, at the position of the deepest part of the path that exists in the
// file.
func (p *parser) report(e *fielderr.Error) {
	for path := e.Path; ; path = parent(path) {
		if p.badPaths[path] {
			return
		}
		if path == "" {
			break
		}
	}
	p.problem(p.at(e.Path), e)
}

// markBad records that path could not be decoded.
func (p *parser) markBad(path string) {
	if p.badPaths == nil {
		p.badPaths = make(map[string]bool)
	}
	p.badPaths[path] = true
}

// reportAll reports each problem of errs with its path prefixed.
func (p *parser) reportAll(prefix string, errs fielderr.List) {
	for _, e := range errs {
		p.report(e.Prefixed(prefix))
	}
}

// parent cuts the last field or index off a path: "a[0].b" → "a[0]" →
// "a" → "".
func parent(path string) string {
	if i := strings.LastIndexAny(path, ".["); i > 0 {
		return path[:i]
	}
	return ""
}

// at returns the position of path, or of its deepest ancestor in the file.
func (p *parser) at(path string) position {
	for {
		if pos, ok := p.pos[path]; ok {
			return pos
		}
		if path == "" {
			return position{}
		}
		path = parent(path)
	}
}

// err returns the problems in file order as an *Error, or nil.
func (p *parser) err() error {
	if len(p.problems) == 0 {
		return nil
	}
	slices.SortStableFunc(p.problems, func(a, b located) int {
		return cmp.Or(cmp.Compare(a.pos.line, b.pos.line), cmp.Compare(a.pos.col, b.pos.col))
	})
	e := &Error{}
	seen := make(map[string]bool)
	more := 0
	for _, l := range p.problems {
		pr := Problem{File: p.file, Line: l.pos.line, Column: l.pos.col, Err: l.err}
		s := pr.String()
		switch {
		case seen[s]:
		case len(e.Problems) == maxProblems:
			more++
		default:
			seen[s] = true
			e.Problems = append(e.Problems, pr)
		}
	}
	if more > 0 {
		e.Problems = append(e.Problems, Problem{File: p.file, Err: &fielderr.Error{
			Problem: "and " + strconv.Itoa(more) + " more problems",
			Fix:     "fix the ones above first",
		}})
	}
	return e
}

// parseYAML parses data into a node tree and returns the first document's
// content, or nil when there is nothing to decode.
func (p *parser) parseYAML(data []byte) (root *yaml.Node) {
	defer func() {
		// The YAML library is not expected to panic, but a stack file must
		// never take the daemon down.
		if r := recover(); r != nil {
			root = nil
			p.problem(position{}, &fielderr.Error{
				Problem: fmt.Sprintf("the file cannot be parsed as YAML (%v)", r),
				Fix:     "check its syntax",
			})
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.problem(position{}, emptyFile())
		} else {
			p.syntaxError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.syntaxError(err)
		return nil
	default:
		// A trailing "---" with nothing after it is harmless.
		if len(next.Content) > 0 && !isNull(next.Content[0]) {
			p.problem(position{next.Line, next.Column}, &fielderr.Error{
				Problem: "a second YAML document starts here",
				Fix:     "a stack file holds one document; remove the \"---\" line, or move the rest into its own stack file",
			})
		}
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		p.problem(position{}, emptyFile())
		return nil
	}
	return doc.Content[0]
}

func emptyFile() *fielderr.Error {
	return &fielderr.Error{
		Problem: "the stack file is empty",
		Fix:     "declare resources under images:, launchTemplates:, instances:, targetGroups: and loadBalancers:",
	}
}

// syntaxError records a YAML syntax error, with its line when the library
// gives one ("yaml: line 3: mapping values are not allowed ...").
func (p *parser) syntaxError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var pos position
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				pos.line, msg = n, text
			}
		}
	}
	p.problem(pos, &fielderr.Error{
		Problem: "YAML syntax error: " + msg,
		Fix:     "check the indentation (spaces, not tabs) and quote values that contain \": \" or start with a special character",
	})
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// decodeRoot decodes the document's root mapping into s.
func (p *parser) decodeRoot(root *yaml.Node, s *Stack) {
	p.pos = map[string]position{"": nodePos(root)}
	if root.Kind != yaml.MappingNode {
		p.decodeProblem(root, "", describe(root), "the stack file must be a mapping of resource lists",
			"start with top-level keys such as images:, instances:, targetGroups: and loadBalancers:")
		return
	}
	seen := make(map[string]position)
	for _, kv := range p.pairs(root, "", 0) {
		name, ok := p.key(kv.key, "")
		if !ok {
			continue
		}
		if prev, dup := seen[name]; dup && !kv.merged {
			p.decodeProblem(kv.key, name, "", "is set twice (first on line "+strconv.Itoa(prev.line)+")", "keep one of them")
			continue
		}
		seen[name] = nodePos(kv.key)
		if name == "name" {
			p.pos[name] = nodePos(kv.key)
			p.decode(kv.value, reflect.ValueOf(&s.Name).Elem(), name)
			continue
		}
		k, ok := p.reg.ByStackKey(name)
		if !ok {
			names := append([]string{"name"}, p.reg.StackKeys()...)
			fix := "the fields here are " + strings.Join(names, ", ")
			if sg := fielderr.Suggest(name, names); sg != "" {
				fix = "did you mean " + strconv.Quote(sg) + "? The fields here are " + strings.Join(names, ", ")
				p.markBad(sg)
			}
			p.decodeProblem(kv.key, name, strconv.Quote(name), "is not a known field", fix)
			continue
		}
		p.pos[name] = nodePos(kv.key)
		list := reflect.New(reflect.SliceOf(k.SpecType())).Elem()
		p.decode(kv.value, list, name)
		if list.Len() > 0 {
			s.resources[k.Info().Name] = list.Interface()
		}
	}
}

// describe shows a node the way problems show values: a scalar as written
// (quoted when it is text), a collection by its kind.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" {
			return strconv.Quote(n.Value)
		}
		return n.Value
	}
	return "a " + n.Tag
}

// decode decodes n into v (addressable) strictly, recording positions and
// problems under path.
func (p *parser) decode(n *yaml.Node, v reflect.Value, path string) {
	p.nodes++
	if p.nodes == maxNodes {
		p.decodeProblem(n, path, "", "the file expands to too many values",
			"stack files are limited to "+strconv.Itoa(maxNodes)+" values; check for aliases (*name) that repeat large parts")
	}
	if p.nodes >= maxNodes {
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return
		}
		n = n.Alias
	}
	if isNull(n) {
		return // leave the zero value: the field is unset
	}
	if v.Type() == reflect.TypeFor[compute.Duration]() {
		if n.Kind != yaml.ScalarNode {
			p.decodeProblem(n, path, describe(n), "is not a duration", "write a duration such as 5s, 250ms or 1m30s, or a number of seconds")
			return
		}
		d, err := compute.ParseDuration(n.Value)
		if err != nil {
			p.decodeProblem(n, path, describe(n), "is not a duration", "write a duration such as 5s, 250ms or 1m30s, or a number of seconds")
			return
		}
		v.Set(reflect.ValueOf(d))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		p.decode(n, nv.Elem(), path)
		v.Set(nv)
	case reflect.Struct:
		p.decodeStruct(n, v, path)
	case reflect.Map:
		p.decodeMap(n, v, path)
	case reflect.Slice:
		p.decodeSlice(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			p.decodeProblem(n, path, describe(n), "must be a single value",
				"write one value on the line; quote it if it contains \": \" or starts with a special character")
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		p.decodeInt(n, v, path)
	case reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&f) != nil {
			p.decodeProblem(n, path, describe(n), "must be a number", "write a number without quotes, such as 80 or 0.25")
			return
		}
		v.SetFloat(f)
	case reflect.Interface:
		// Free-form values (a dashboard body): any YAML.
		var x any
		if err := n.Decode(&x); err != nil {
			p.decodeProblem(n, path, describe(n), "cannot be read", "check the YAML syntax")
			return
		}
		v.Set(reflect.ValueOf(&x).Elem())
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			p.decodeProblem(n, path, describe(n), "must be true or false", "write true or false without quotes")
			return
		}
		v.SetBool(b)
	default:
		// Not reached for madang's types; keep decoding the rest.
		p.decodeProblem(n, path, describe(n), "cannot be decoded", "report this as a bug in madang")
	}
}

func (p *parser) decodeInt(n *yaml.Node, v reflect.Value, path string) {
	var i int64
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" && n.Decode(&i) == nil && !v.OverflowInt(i) {
		v.SetInt(i)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if _, err := strconv.Atoi(strings.TrimSpace(n.Value)); err == nil {
			p.decodeProblem(n, path, describe(n), "is text, not a number", "remove the quotes")
			return
		}
	}
	p.decodeProblem(n, path, describe(n), "must be a whole number", "write a number without quotes, such as 8080")
}

// pair is a key and its value in a mapping; merged says it came from a
// "<<" merge key.
type pair struct {
	key, value *yaml.Node
	merged     bool
}

// pairs lists the entries of mapping n with "<<" merge keys expanded;
// entries written in n win over merged ones, and earlier merge sources win
// over later ones, as YAML specifies.
func (p *parser) pairs(n *yaml.Node, path string, depth int) []pair {
	var explicit, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			for _, src := range mergeSources(val) {
				if src.Kind != yaml.MappingNode || depth >= maxMergeDepth {
					p.decodeProblem(k, path, describe(src), "\"<<\" must merge a mapping", "merge an alias of a mapping, such as <<: *defaults")
					continue
				}
				for _, m := range p.pairs(src, path, depth+1) {
					m.merged = true
					merged = append(merged, m)
				}
			}
			continue
		}
		explicit = append(explicit, pair{key: k, value: val})
	}
	if len(merged) == 0 {
		return explicit
	}
	have := make(map[string]bool)
	for _, e := range explicit {
		have[e.key.Value] = true
	}
	out := explicit
	for _, m := range merged {
		if !have[m.key.Value] {
			have[m.key.Value] = true
			out = append(out, m)
		}
	}
	return out
}

func mergeSources(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.SequenceNode {
		return []*yaml.Node{n}
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			c = c.Alias
		}
		out = append(out, c)
	}
	return out
}

// field is a YAML field of a struct: its name and its index path (through
// inline structs).
type field struct {
	name  string
	index []int
}

func structFields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") && f.Type.Kind() == reflect.Struct {
			for _, sub := range structFields(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, field{name: name, index: []int{i}})
	}
	return out
}

func (p *parser) checkMapping(n *yaml.Node, path string) bool {
	if n.Kind == yaml.MappingNode {
		return true
	}
	p.decodeProblem(n, path, describe(n), "must be a mapping",
		"write \"field: value\" lines indented under it")
	return false
}

// key returns the text of a mapping key, or reports a key that is not a
// plain scalar.
func (p *parser) key(k *yaml.Node, path string) (string, bool) {
	if k.Kind != yaml.ScalarNode {
		p.decodeProblem(k, path, describe(k), "has a key that is not a plain name", "use plain names as keys")
		return "", false
	}
	return k.Value, true
}

func (p *parser) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if !p.checkMapping(n, path) {
		return
	}
	fields := p.fields[v.Type()]
	if fields == nil {
		fields = structFields(v.Type())
		if p.fields == nil {
			p.fields = make(map[reflect.Type][]field)
		}
		p.fields[v.Type()] = fields
	}
	seen := make(map[string]position)
	for _, kv := range p.pairs(n, path, 0) {
		name, ok := p.key(kv.key, path)
		if !ok {
			continue
		}
		fpath := fielderr.Join(path, name)
		if prev, dup := seen[name]; dup && !kv.merged {
			p.decodeProblem(kv.key, fpath, "", "is set twice (first on line "+strconv.Itoa(prev.line)+")", "keep one of them")
			continue
		}
		seen[name] = nodePos(kv.key)
		i := slices.IndexFunc(fields, func(f field) bool { return f.name == name })
		if i < 0 {
			names := make([]string, len(fields))
			for j, f := range fields {
				names[j] = f.name
			}
			fix := "the fields here are " + strings.Join(names, ", ")
			if s := fielderr.Suggest(name, names); s != "" {
				fix = "did you mean " + strconv.Quote(s) + "? The fields here are " + strings.Join(names, ", ")
				// A misspelt field is not also missing.
				p.markBad(fielderr.Join(path, s))
			}
			p.decodeProblem(kv.key, fpath, strconv.Quote(name), "is not a known field", fix)
			continue
		}
		p.pos[fpath] = nodePos(kv.key)
		p.decode(kv.value, v.FieldByIndex(fields[i].index), fpath)
	}
}

func (p *parser) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if !p.checkMapping(n, path) {
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := make(map[string]position)
	for _, kv := range p.pairs(n, path, 0) {
		name, ok := p.key(kv.key, path)
		if !ok {
			continue
		}
		kpath := fielderr.Join(path, name)
		if prev, dup := seen[name]; dup && !kv.merged {
			p.decodeProblem(kv.key, kpath, "", "is set twice (first on line "+strconv.Itoa(prev.line)+")", "keep one of them")
			continue
		}
		seen[name] = nodePos(kv.key)
		p.pos[kpath] = nodePos(kv.key)
		elem := reflect.New(v.Type().Elem()).Elem()
		p.decode(kv.value, elem, kpath)
		v.SetMapIndex(reflect.ValueOf(name).Convert(v.Type().Key()), elem)
	}
}

func (p *parser) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		fix := "write one item per line, each starting with \"- \""
		if n.Kind == yaml.ScalarNode {
			fix = "write it as a list: [" + n.Value + "], or one item per line starting with \"- \""
		}
		p.decodeProblem(n, path, describe(n), "must be a list", fix)
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, item := range n.Content {
		ipath := fielderr.Index(path, i)
		p.pos[ipath] = nodePos(item)
		elem := reflect.New(v.Type().Elem()).Elem()
		p.decode(item, elem, ipath)
		out = reflect.Append(out, elem)
	}
	v.Set(out)
}
