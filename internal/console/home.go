package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sort"

	"github.com/madang-dev/madang/internal/api/v1"
)

// homePage is the data of the architecture page.
type homePage struct {
	Diagram template.HTML
	Empty   bool
	// Counts are the resources by kind, for the summary cards.
	Counts []count
}

type count struct {
	Label, Href string
	N           int
	// Bad is how many are not well (stopped, unhealthy, in alarm).
	Bad int
}

func (s *Server) mountHome(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.homeData(r.Context(), langOf(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.page(w, r, "home", "home.title", p)
	})
}

// homeData reads the architecture from the API.
func (s *Server) homeData(ctx context.Context, l lang) (homePage, error) {
	lbs, err := s.api.LoadBalancers(ctx)
	if err != nil {
		return homePage{}, err
	}
	tgs, err := s.api.TargetGroups(ctx)
	if err != nil {
		return homePage{}, err
	}
	ins, err := s.api.Instances(ctx)
	if err != nil {
		return homePage{}, err
	}
	asgs, err := s.api.AutoScalingGroups(ctx)
	if err != nil {
		asgs = nil // Auto Scaling may be absent; the rest still draws
	}
	alarms, err := s.api.Alarms(ctx)
	if err != nil {
		alarms = nil
	}
	var a architecture
	for _, lb := range lbs {
		al := archLB{Name: lb.Spec.Name}
		fw := map[string]bool{}
		for _, li := range lb.Spec.Listeners {
			proto := li.Protocol
			if proto == "" {
				proto = "HTTP"
			}
			al.Listeners = append(al.Listeners, fmt.Sprintf("%s:%d", proto, li.Port))
			forwards(li.DefaultActions, fw)
			for _, ru := range li.Rules {
				forwards(ru.Actions, fw)
			}
		}
		al.Forwards = sortedNames(fw)
		a.LoadBalancers = append(a.LoadBalancers, al)
	}
	unhealthy := 0
	for _, tg := range tgs {
		at := archTG{Name: tg.Spec.Name}
		hs, err := s.api.TargetHealth(ctx, tg.Spec.Name)
		if err == nil {
			for _, h := range hs {
				at.Targets = append(at.Targets, archTarget{ID: h.ID, State: h.State, Reason: h.Reason})
				if h.State == "unhealthy" {
					unhealthy++
				}
			}
		}
		a.TargetGroups = append(a.TargetGroups, at)
	}
	// The instances of each Auto Scaling group come together, so that
	// the group's box surrounds them.
	groupOf := map[string]string{}
	for _, g := range asgs {
		ag := archASG{Name: g.Name, InService: g.InService, Desired: g.DesiredCapacity, Min: g.MinSize, Max: g.MaxSize}
		for _, gi := range g.Instances {
			ag.Instances = append(ag.Instances, gi.InstanceID)
			groupOf[gi.InstanceID] = g.Name
		}
		a.Groups = append(a.Groups, ag)
	}
	live, stopped := 0, 0
	var grouped []archInstance
	for _, in := range ins {
		if in.State == v1.StateTerminated {
			continue
		}
		live++
		if in.State != v1.StateRunning {
			stopped++
		}
		ai := archInstance{ID: in.ID, Name: in.Tags["Name"], State: in.State, Group: in.Group}
		if groupOf[in.ID] != "" {
			grouped = append(grouped, ai)
			continue
		}
		a.Instances = append(a.Instances, ai)
	}
	sort.SliceStable(grouped, func(i, j int) bool { return groupOf[grouped[i].ID] < groupOf[grouped[j].ID] })
	a.Instances = append(a.Instances, grouped...)
	inAlarm := 0
	for _, al := range alarms {
		if al.State.State == "ALARM" {
			inAlarm++
		}
	}
	return homePage{
		Diagram: drawArchitecture(l, a),
		Empty:   len(a.LoadBalancers)+len(a.TargetGroups)+len(a.Instances) == 0,
		Counts: []count{
			{Label: "nav.instances", Href: "/ec2/instances", N: live, Bad: stopped},
			{Label: "nav.loadbalancers", Href: "/elb/load-balancers", N: len(lbs)},
			{Label: "nav.targetgroups", Href: "/elb/target-groups", N: len(tgs), Bad: unhealthy},
			{Label: "nav.asgs", Href: "/autoscaling/groups", N: len(asgs)},
			{Label: "nav.alarms", Href: "/cloudwatch/alarms", N: len(alarms), Bad: inAlarm},
		},
	}, nil
}

// forwards adds the target groups that actions forward to.
func forwards(actions []v1.Action, into map[string]bool) {
	for _, ac := range actions {
		if ac.TargetGroup != "" {
			into[ac.TargetGroup] = true
		}
		if ac.Forward != nil {
			for _, t := range ac.Forward.TargetGroups {
				into[t.Name] = true
			}
		}
	}
}
