package controller

import (
	"fmt"
	"strconv"
	"time"

	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/proxy"
	"github.com/madang-dev/madang/internal/route"
)

// compileListener converts a stored listener spec into the data plane's
// form: the targetGroup shorthand becomes a one-group forward, defaults
// are filled (weight 1, group stickiness off), and status codes and
// durations become numbers. The spec was validated when it was applied;
// errors here name a value the validation let through.
func compileListener(l elb.ListenerSpec) (proxy.Listener, error) {
	out := proxy.Listener{Port: l.Port}
	for i, r := range l.Rules {
		rc := route.RuleConfig{Priority: r.Priority}
		for _, c := range r.Conditions {
			rc.Conditions = append(rc.Conditions, compileCondition(c))
		}
		acts, err := compileActions(r.Actions)
		if err != nil {
			return proxy.Listener{}, fmt.Errorf("listener %d rule %d (priority %d): %w", l.Port, i+1, r.Priority, err)
		}
		rc.Actions = acts
		out.Rules = append(out.Rules, rc)
	}
	acts, err := compileActions(l.DefaultActions)
	if err != nil {
		return proxy.Listener{}, fmt.Errorf("listener %d default actions: %w", l.Port, err)
	}
	out.DefaultActions = acts
	return out, nil
}

func compileCondition(c elb.ConditionSpec) route.Condition {
	rc := route.Condition{Field: c.Field, Values: c.Values, HTTPHeaderName: c.HTTPHeaderName}
	for _, kv := range c.QueryString {
		rc.QueryString = append(rc.QueryString, route.KeyValue{Key: kv.Key, Value: kv.Value})
	}
	return rc
}

func compileActions(specs []elb.ActionSpec) ([]route.Action, error) {
	out := make([]route.Action, 0, len(specs))
	for j, a := range specs {
		ra, err := compileAction(a)
		if err != nil {
			return nil, fmt.Errorf("action %d (%s): %w", j+1, a.Type, err)
		}
		out = append(out, ra)
	}
	return out, nil
}

func compileAction(a elb.ActionSpec) (route.Action, error) {
	ra := route.Action{Type: a.Type}
	switch a.Type {
	case elb.ActionForward:
		f := &route.Forward{}
		if a.TargetGroup != "" {
			f.TargetGroups = append(f.TargetGroups, route.WeightedTargetGroup{Name: a.TargetGroup, Weight: elb.DefaultTargetGroupWeight})
		}
		if a.Forward != nil {
			for _, w := range a.Forward.TargetGroups {
				weight := elb.DefaultTargetGroupWeight
				if w.Weight != nil {
					weight = *w.Weight
				}
				f.TargetGroups = append(f.TargetGroups, route.WeightedTargetGroup{Name: w.Name, Weight: weight})
			}
			if st := a.Forward.Stickiness; st != nil && st.Enabled {
				f.Stickiness = time.Duration(st.DurationSeconds) * time.Second
			}
		}
		ra.Forward = f
	case elb.ActionRedirect:
		if a.Redirect == nil {
			return ra, fmt.Errorf("redirect settings are missing: add redirect.statusCode")
		}
		rd := a.Redirect
		code := 0
		switch rd.StatusCode {
		case "HTTP_301":
			code = 301
		case "HTTP_302":
			code = 302
		default:
			return ra, fmt.Errorf("redirect.statusCode %q is not valid: use HTTP_301 or HTTP_302", rd.StatusCode)
		}
		ra.Redirect = &route.Redirect{Protocol: rd.Protocol, Host: rd.Host, Port: rd.Port, Path: rd.Path, Query: rd.Query, StatusCode: code}
	case elb.ActionFixedResponse:
		if a.FixedResponse == nil {
			return ra, fmt.Errorf("fixedResponse settings are missing: add fixedResponse.statusCode")
		}
		fr := a.FixedResponse
		code, err := strconv.Atoi(fr.StatusCode)
		if err != nil {
			return ra, fmt.Errorf("fixedResponse.statusCode %q is not a number: use a 2XX, 4XX or 5XX code", fr.StatusCode)
		}
		ra.FixedResponse = &route.FixedResponse{StatusCode: code, ContentType: fr.ContentType, MessageBody: fr.MessageBody}
	case elb.ActionStatic:
		if a.Static == nil {
			return ra, fmt.Errorf("static settings are missing: add static.root")
		}
		s := a.Static
		ra.Static = &route.Static{Root: s.Root, StripPrefix: s.StripPrefix, Index: s.Index, MaxAgeSeconds: s.MaxAgeSeconds}
	default:
		return ra, fmt.Errorf("action type %q is not supported: use forward, redirect, fixed-response or static", a.Type)
	}
	return ra, nil
}
