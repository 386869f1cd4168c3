package stack

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/kind"
)

// check applies defaults to every resource of s, validates each one,
// checks the references between them and resolves relative paths,
// reporting problems to p.
func (p *parser) check(s *Stack) {
	p.checkName(s)
	type refAt struct {
		path string
		ref  kind.Ref
	}
	var refs []refAt
	names := map[string]nameSet{}
	for _, k := range p.reg.Kinds() {
		in := k.Info()
		specs := s.Resources(k)
		all := make([]string, len(specs))
		for i, spec := range specs {
			path := fielderr.Index(in.StackKey, i)
			errs, rs := k.Check(spec, s.Dir)
			p.reportAll(path, errs)
			for _, r := range rs {
				refs = append(refs, refAt{fielderr.Join(path, r.Path), r})
			}
			all[i] = k.Name(spec)
		}
		p.unique(in.StackKey, in.Title, all)
		names[in.Name] = newNameSet(all)
		if v, ok := s.resources[in.Name]; ok {
			p.reportAll(in.StackKey, k.CheckAll(v))
		}
	}
	for _, r := range refs {
		k, ok := p.reg.Get(r.ref.Kind)
		if !ok || r.ref.AllowUnstored {
			continue
		}
		if p.existing != nil && r.ref.Name != "" && !names[r.ref.Kind].has[r.ref.Name] && p.existing(r.ref.Kind, r.ref.Name) {
			continue
		}
		p.ref(r.path, r.ref.Name, kind.Article(k.Info().Title), k.Info().StackKey, names[r.ref.Kind])
	}
}

// checkName validates s.Name, or derives it from the directory.
func (p *parser) checkName(s *Stack) {
	if s.Name == "" {
		s.Name = nameFromDir(s.Dir)
		return
	}
	if !compute.ValidName(s.Name) {
		p.report(fielderr.New("name", s.Name, "is not a valid stack name",
			"use 1 to 63 lowercase letters, digits and hyphens, such as \"quickstart\", or leave it out to use the directory's name"))
	}
}

// nameFromDir turns a directory's base name into a valid stack name:
// lowercase, runs of other characters become one hyphen.
func nameFromDir(dir string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(filepath.Base(dir)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
			continue
		}
		hyphen = true
	}
	name := b.String()
	if len(name) > compute.MaxNameLength {
		name = strings.TrimRight(name[:compute.MaxNameLength], "-")
	}
	if name == "" {
		return "default"
	}
	return name
}

// nameSet holds the names of the resources of one kind.
type nameSet struct {
	list []string // in file order, without empty names
	has  map[string]bool
}

func newNameSet(list []string) nameSet {
	s := nameSet{has: make(map[string]bool, len(list))}
	for _, n := range list {
		if n != "" && !s.has[n] {
			s.has[n] = true
			s.list = append(s.list, n)
		}
	}
	return s
}

// unique reports names used twice within one kind.
func (p *parser) unique(section, kind string, all []string) {
	first := make(map[string]int)
	for i, n := range all {
		if n == "" {
			continue
		}
		if j, dup := first[n]; dup {
			p.report(fielderr.New(fielderr.Index(section, i)+".name", n,
				"is already the name of "+fielderr.Index(section, j),
				"give each "+kind+" its own name"))
			continue
		}
		first[n] = i
	}
}

// maxListedNames is how many names a problem lists as alternatives.
const maxListedNames = 10

// ref reports a reference at path to a name that is not among all.
func (p *parser) ref(path, name, what, section string, all nameSet) {
	if name == "" || all.has[name] {
		return
	}
	fix := "define it under " + section + ":"
	// Suggestions cost a distance per name; past the problems an Error
	// shows, they are not worth it.
	if len(p.problems) < maxProblems {
		known := all.list
		if s := fielderr.Suggest(name, known); s != "" {
			fix = "did you mean " + strconv.Quote(s) + "? Or " + fix
		} else if len(known) > 0 && len(known) <= maxListedNames {
			fix = "use one of " + strings.Join(known, ", ") + ", or " + fix
		}
	}
	p.report(fielderr.New(path, name, "is not "+what+" of this stack", fix))
}
