package elb

import (
	"slices"

	"github.com/madang-dev/madang/internal/fielderr"
)

// ForEachAction calls f for every action of lb with its path relative to
// the load balancer ("listeners[0].rules[1].actions[0]").
func ForEachAction(lb *LoadBalancerSpec, f func(path string, a *ActionSpec)) {
	for i := range lb.Listeners {
		l := &lb.Listeners[i]
		lpath := fielderr.Index("listeners", i)
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

// ReferencedTargetGroups returns the names of the target groups a load
// balancer's actions forward to, each once, in order of first use.
func ReferencedTargetGroups(s LoadBalancerSpec) []string {
	var out []string
	add := func(n string) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	ForEachAction(&s, func(_ string, a *ActionSpec) {
		add(a.TargetGroup)
		if a.Forward != nil {
			for _, w := range a.Forward.TargetGroups {
				add(w.Name)
			}
		}
	})
	return out
}
