package console

import (
	"fmt"
	"html/template"
	"sort"
	"strings"
)

// architecture is what the diagram draws: load balancers forward to
// target groups, target groups hold instances, Auto Scaling groups own
// instances.
type architecture struct {
	LoadBalancers []archLB
	TargetGroups  []archTG
	// Instances are the live (not terminated) instances, in order; the
	// instances of an Auto Scaling group are next to each other.
	Instances []archInstance
	// Groups are the Auto Scaling groups, drawn around their instances.
	Groups []archASG
}

// archASG is an Auto Scaling group and its capacity.
type archASG struct {
	Name               string
	InService, Desired int
	Min, Max           int
	// Instances are the ids of its (non-terminated) instances.
	Instances []string
}

type archLB struct {
	Name string
	// Listeners are "HTTP:8080" labels.
	Listeners []string
	// Forwards are the target groups the listeners' actions send to.
	Forwards []string
}

type archTG struct {
	Name string
	// Targets are the registered targets' ids and health states.
	Targets []archTarget
}

type archTarget struct {
	ID, State, Reason string
}

type archInstance struct {
	ID, Name, State, Group string
}

// Node sizes and gaps of the diagram, in SVG units.
const (
	diagLabelW = 170
	diagColW   = 220
	diagGapX   = 90
	diagNodeH  = 46
	diagGapY   = 14
	diagMargin = 16
)

type diagNode struct {
	x, y  int
	class string
	title string
	sub   string
	href  string
	tip   string
}

// drawArchitecture renders a as an SVG: three columns (load balancers,
// target groups, instances) with edges from listeners to target groups
// and from target groups to their targets, each coloured by health.
func drawArchitecture(l lang, a architecture) template.HTML {
	tgRow := map[string]int{}
	for i, tg := range a.TargetGroups {
		tgRow[tg.Name] = i
	}
	inRow := map[string]int{}
	for i, in := range a.Instances {
		inRow[in.ID] = i
	}
	rows := max(len(a.LoadBalancers), len(a.TargetGroups), len(a.Instances), 1)
	width := diagMargin*2 + 3*diagColW + 2*diagGapX
	if len(a.Groups) > 0 {
		width += diagLabelW // the groups' labels right of their boxes
	}
	height := diagMargin*2 + 28 + rows*(diagNodeH+diagGapY)
	colX := func(c int) int { return diagMargin + c*(diagColW+diagGapX) }
	rowY := func(r int) int { return diagMargin + 28 + r*(diagNodeH+diagGapY) }

	var b strings.Builder
	fmt.Fprintf(&b, `<div class="diagram"><svg class="arch" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		width, height, width, height, template.HTMLEscapeString(l.T("home.title")))
	for c, h := range []string{"nav.loadbalancers", "nav.targetgroups", "nav.instances"} {
		fmt.Fprintf(&b, `<text class="col-title" x="%d" y="%d">%s</text>`, colX(c), diagMargin+14, template.HTMLEscapeString(l.T(h)))
	}
	// Edges first, so nodes are drawn over them.
	for i, lb := range a.LoadBalancers {
		for _, tg := range lb.Forwards {
			r, ok := tgRow[tg]
			if !ok {
				continue
			}
			edge(&b, colX(0)+diagColW, rowY(i)+diagNodeH/2, colX(1), rowY(r)+diagNodeH/2, "edge", "")
		}
	}
	for i, tg := range a.TargetGroups {
		for _, t := range tg.Targets {
			r, ok := inRow[t.ID]
			if !ok {
				continue
			}
			edge(&b, colX(1)+diagColW, rowY(i)+diagNodeH/2, colX(2), rowY(r)+diagNodeH/2, "edge "+healthClass(t.State),
				t.ID+": "+t.State+" "+t.Reason)
		}
	}
	// Auto Scaling groups: a dashed box around their instances' rows,
	// labelled with their capacity.
	for _, g := range a.Groups {
		lo, hi := -1, -1
		for _, id := range g.Instances {
			if r, ok := inRow[id]; ok {
				if lo < 0 || r < lo {
					lo = r
				}
				hi = max(hi, r)
			}
		}
		x := colX(2) - 7
		if lo < 0 {
			continue
		}
		y, h := rowY(lo)-7, (hi-lo+1)*(diagNodeH+diagGapY)-diagGapY+14
		fmt.Fprintf(&b, `<a href="/autoscaling/groups/%s" class="node-link"><g class="node node-asg"><rect x="%d" y="%d" width="%d" height="%d" rx="8"/>`,
			template.HTMLEscapeString(g.Name), x, y, diagColW+14, h)
		fmt.Fprintf(&b, `<text class="title" x="%d" y="%d">%s</text>`, x+diagColW+24, y+18, template.HTMLEscapeString(clip(g.Name, 22)))
		fmt.Fprintf(&b, `<text class="sub" x="%d" y="%d">%s</text>`, x+diagColW+24, y+34,
			template.HTMLEscapeString(fmt.Sprintf("%d/%d InService · %d–%d", g.InService, g.Desired, g.Min, g.Max)))
		b.WriteString(`</g></a>`)
	}
	var nodes []diagNode
	for i, lb := range a.LoadBalancers {
		nodes = append(nodes, diagNode{x: colX(0), y: rowY(i), class: "node node-lb", title: lb.Name,
			sub: strings.Join(lb.Listeners, " · "), href: "/elb/load-balancers/" + lb.Name})
	}
	for i, tg := range a.TargetGroups {
		healthy := 0
		worst := "healthy"
		for _, t := range tg.Targets {
			if t.State == "healthy" {
				healthy++
			}
			worst = worse(worst, t.State)
		}
		if len(tg.Targets) == 0 {
			worst = "unused"
		}
		nodes = append(nodes, diagNode{x: colX(1), y: rowY(i), class: "node node-tg " + healthClass(worst), title: tg.Name,
			sub: fmt.Sprintf("%d/%d healthy", healthy, len(tg.Targets)), href: "/elb/target-groups/" + tg.Name})
	}
	for i, in := range a.Instances {
		health, tip := "", ""
		for _, tg := range a.TargetGroups {
			for _, t := range tg.Targets {
				if t.ID == in.ID {
					if health == "" {
						health = t.State
					} else {
						health = worse(health, t.State)
					}
					tip = strings.TrimSpace(tg.Name + ": " + t.State + " " + t.Reason)
				}
			}
		}
		cls := "node node-instance " + stateClass(in.State)
		if health != "" {
			cls += " " + healthClass(health)
		}
		// A named instance shows its name, its id underneath.
		title, sub := in.ID, in.State
		if in.Name != "" {
			title, sub = in.Name, in.ID+" · "+in.State
		}
		if in.Group != "" && in.Group != in.Name {
			sub += " · " + in.Group
		}
		nodes = append(nodes, diagNode{x: colX(2), y: rowY(i), class: cls, title: title, sub: sub, href: "/ec2/instances/" + in.ID, tip: tip})
	}
	for _, n := range nodes {
		fmt.Fprintf(&b, `<a href="%s" class="node-link"><g class="%s">`, template.HTMLEscapeString(n.href), n.class)
		if n.tip != "" {
			fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(n.tip))
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6"/>`, n.x, n.y, diagColW, diagNodeH)
		fmt.Fprintf(&b, `<text class="title" x="%d" y="%d">%s</text>`, n.x+10, n.y+19, template.HTMLEscapeString(clip(n.title, 28)))
		fmt.Fprintf(&b, `<text class="sub" x="%d" y="%d">%s</text>`, n.x+10, n.y+36, template.HTMLEscapeString(clip(n.sub, 34)))
		b.WriteString(`</g></a>`)
	}
	b.WriteString(`</svg></div>`)
	return template.HTML(b.String())
}

// edge draws a curve from (x1,y1) to (x2,y2).
func edge(b *strings.Builder, x1, y1, x2, y2 int, class, tip string) {
	mid := (x1 + x2) / 2
	fmt.Fprintf(b, `<path class="%s" d="M%d %d C%d %d %d %d %d %d">`, class, x1, y1, mid, y1, mid, y2, x2, y2)
	if tip != "" {
		fmt.Fprintf(b, `<title>%s</title>`, template.HTMLEscapeString(tip))
	}
	b.WriteString(`</path>`)
}

// healthClass is the diagram's class of a target health state.
func healthClass(state string) string {
	switch state {
	case "healthy", "unhealthy", "initial", "draining", "unused", "unavailable":
		return state
	}
	return "unknown"
}

// worse returns the worse of two target health states.
func worse(a, b string) string {
	rank := map[string]int{"healthy": 0, "initial": 1, "draining": 2, "unused": 3, "unavailable": 4, "unhealthy": 5}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// sortedNames returns the keys of a set in order.
func sortedNames(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
