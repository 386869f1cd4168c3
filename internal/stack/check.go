package stack

import (
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/fielderr"
)

// check applies defaults to every resource of s, validates each one,
// checks the references between them and resolves relative paths,
// reporting problems to p.
func (p *parser) check(s *Stack) {
	p.checkName(s)

	imageNames := make([]string, len(s.Images))
	for i := range s.Images {
		im := &s.Images[i]
		path := fielderr.Index("images", i)
		p.reportAll(path, im.Validate())
		p.reportAll(path, im.ResolveSource(s.Dir))
		imageNames[i] = im.Name
	}
	p.unique("images", "image", imageNames)
	images := newNameSet(imageNames)

	templateNames := make([]string, len(s.LaunchTemplates))
	for i := range s.LaunchTemplates {
		lt := &s.LaunchTemplates[i]
		path := fielderr.Index("launchTemplates", i)
		lt.ApplyDefaults()
		p.reportAll(path, lt.Validate())
		p.ref(path+".image", lt.Image, "an image", "images", images)
		templateNames[i] = lt.Name
	}
	p.unique("launchTemplates", "launch template", templateNames)
	templates := newNameSet(templateNames)

	groupNames := make([]string, len(s.Instances))
	for i := range s.Instances {
		g := &s.Instances[i]
		path := fielderr.Index("instances", i)
		g.ApplyDefaults()
		p.reportAll(path, g.Validate())
		p.ref(path+".launchTemplate", g.LaunchTemplate, "a launch template", "launchTemplates", templates)
		groupNames[i] = g.Name
	}
	p.unique("instances", "instance group", groupNames)
	groups := newNameSet(groupNames)

	tgNames := make([]string, len(s.TargetGroups))
	for i := range s.TargetGroups {
		tg := &s.TargetGroups[i]
		path := fielderr.Index("targetGroups", i)
		tg.ApplyDefaults()
		p.reportAll(path, tg.Validate())
		for j, t := range tg.Targets {
			p.ref(fielderr.Index(path+".targets", j)+".instances", t.Instances, "an instance group", "instances", groups)
		}
		tgNames[i] = tg.Name
	}
	p.unique("targetGroups", "target group", tgNames)
	tgs := newNameSet(tgNames)

	lbNames := make([]string, len(s.LoadBalancers))
	for i := range s.LoadBalancers {
		lb := &s.LoadBalancers[i]
		path := fielderr.Index("loadBalancers", i)
		lb.ApplyDefaults()
		p.reportAll(path, lb.Validate())
		forEachAction(lb, path, func(apath string, a *elb.ActionSpec) {
			p.ref(apath+".targetGroup", a.TargetGroup, "a target group", "targetGroups", tgs)
			if a.Forward != nil {
				for k, w := range a.Forward.TargetGroups {
					p.ref(fielderr.Index(apath+".forward.targetGroups", k)+".name", w.Name, "a target group", "targetGroups", tgs)
				}
			}
			if a.Static != nil && strings.TrimSpace(a.Static.Root) != "" {
				abs, err := compute.ResolveDir(s.Dir, a.Static.Root)
				if err != nil {
					p.report(fielderr.New(apath+".static.root", a.Static.Root, err.Error(),
						"give an existing directory to serve, absolute or relative to the stack file"))
				} else {
					a.Static.Root = abs
				}
			}
		})
		lbNames[i] = lb.Name
	}
	p.unique("loadBalancers", "load balancer", lbNames)
	p.portClashes(s.LoadBalancers)
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

// forEachAction calls f for every action of lb with its path.
func forEachAction(lb *elb.LoadBalancerSpec, path string, f func(path string, a *elb.ActionSpec)) {
	for i := range lb.Listeners {
		l := &lb.Listeners[i]
		lpath := fielderr.Index(path+".listeners", i)
		for j := range l.DefaultActions {
			f(fielderr.Index(lpath+".defaultActions", j), &l.DefaultActions[j])
		}
		for j := range l.Rules {
			rpath := fielderr.Index(lpath+".rules", j)
			for k := range l.Rules[j].Actions {
				f(fielderr.Index(rpath+".actions", k), &l.Rules[j].Actions[k])
			}
		}
	}
}

// portClashes reports listeners of different load balancers that would
// bind the same port on overlapping addresses (the same address, or a
// wildcard address such as 0.0.0.0 and any other).
func (p *parser) portClashes(lbs []elb.LoadBalancerSpec) {
	type bound struct {
		addr netip.Addr
		lb   int
		path string
	}
	type port struct {
		byAddr   map[netip.Addr]bound
		first    *bound // any listener on the port
		wildcard *bound // a listener on 0.0.0.0 or ::
	}
	ports := make(map[int]*port)
	for i := range lbs {
		addr, err := netip.ParseAddr(lbs[i].Address)
		if err != nil {
			continue // reported by Validate
		}
		own := make(map[int]bool)
		for j, l := range lbs[i].Listeners {
			if l.Port < 1 || l.Port > 65535 || own[l.Port] {
				continue // reported by Validate
			}
			own[l.Port] = true
			b := bound{addr, i, fielderr.Index(fielderr.Index("loadBalancers", i)+".listeners", j)}
			pt := ports[l.Port]
			if pt == nil {
				pt = &port{byAddr: make(map[netip.Addr]bound)}
				ports[l.Port] = pt
			}
			var clash *bound
			if other, ok := pt.byAddr[addr]; ok {
				clash = &other
			} else if pt.wildcard != nil {
				clash = pt.wildcard
			} else if addr.IsUnspecified() && pt.first != nil {
				clash = pt.first
			}
			if clash != nil {
				p.report(fielderr.New(b.path+".port", l.Port,
					"clashes with "+clash.path+" (load balancer "+strconv.Quote(lbs[clash.lb].Name)+" on "+clash.addr.String()+")",
					"use another port, or give the load balancers different addresses"))
				continue
			}
			pt.byAddr[addr] = b
			if pt.first == nil {
				pt.first = &b
			}
			if addr.IsUnspecified() {
				pt.wildcard = &b
			}
		}
	}
}
