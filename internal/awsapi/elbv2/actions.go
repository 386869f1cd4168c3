package elbv2

import (
	"strconv"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/elb"
)

// actionSpecs reads an Actions list into madang's actions, ordered by
// Order as ELBv2 orders them.
func (ix *index) actionSpecs(list []protocol.Struct) ([]elb.ActionSpec, error) {
	if len(list) == 0 {
		return nil, validationError("At least one action must be given")
	}
	ordered := make([]protocol.Struct, len(list))
	copy(ordered, list)
	for i := 1; i < len(ordered); i++ {
		for j := i; j > 0 && ordered[j].IntOr("Order", int64(j+1)) < ordered[j-1].IntOr("Order", int64(j)); j-- {
			ordered[j], ordered[j-1] = ordered[j-1], ordered[j]
		}
	}
	var out []elb.ActionSpec
	for _, a := range ordered {
		typ := a.String("Type")
		act := elb.ActionSpec{Type: typ}
		switch typ {
		case "forward":
			if arn := a.String("TargetGroupArn"); arn != "" {
				tg, err := ix.targetGroup(arn)
				if err != nil {
					return nil, err
				}
				act.TargetGroup = tg.Spec.Name
			}
			if fc := a.Struct("ForwardConfig"); fc != nil {
				fw := &elb.ForwardSpec{}
				for _, t := range fc.Structs("TargetGroups") {
					tg, err := ix.targetGroup(t.String("TargetGroupArn"))
					if err != nil {
						return nil, err
					}
					w := elb.WeightedTargetGroup{Name: tg.Spec.Name}
					if t.Has("Weight") {
						n := int(t.Int("Weight"))
						w.Weight = &n
					}
					fw.TargetGroups = append(fw.TargetGroups, w)
				}
				if st := fc.Struct("TargetGroupStickinessConfig"); st != nil {
					fw.Stickiness = &elb.GroupStickinessSpec{Enabled: st.Bool("Enabled"), DurationSeconds: int(st.Int("DurationSeconds"))}
				}
				// A forward with one target group and no weights is the
				// short form; both given must agree, as on AWS.
				if act.TargetGroup != "" && len(fw.TargetGroups) == 1 && fw.TargetGroups[0].Name == act.TargetGroup && fw.Stickiness == nil {
					fw = nil
				} else if act.TargetGroup != "" {
					return nil, protocol.Errorf("InvalidLoadBalancerAction", "You cannot specify both a target group ARN and a forward config with other target groups")
				}
				act.Forward = fw
			}
			if act.TargetGroup == "" && act.Forward == nil {
				return nil, protocol.Errorf("InvalidLoadBalancerAction", "A forward action needs a TargetGroupArn or a ForwardConfig")
			}
		case "redirect":
			rc := a.Struct("RedirectConfig")
			if rc == nil {
				return nil, protocol.Errorf("InvalidLoadBalancerAction", "A redirect action needs a RedirectConfig")
			}
			act.Redirect = &elb.RedirectSpec{Protocol: rc.String("Protocol"), Host: rc.String("Host"), Port: rc.String("Port"),
				Path: rc.String("Path"), Query: rc.String("Query"), StatusCode: rc.String("StatusCode")}
		case "fixed-response":
			fc := a.Struct("FixedResponseConfig")
			if fc == nil {
				return nil, protocol.Errorf("InvalidLoadBalancerAction", "A fixed-response action needs a FixedResponseConfig")
			}
			act.FixedResponse = &elb.FixedResponseSpec{StatusCode: fc.String("StatusCode"), ContentType: fc.String("ContentType"), MessageBody: fc.String("MessageBody")}
		default:
			return nil, protocol.Errorf("InvalidLoadBalancerAction", "Action type '%s' is not supported by madang; use forward, redirect or fixed-response", typ)
		}
		out = append(out, act)
	}
	return out, nil
}

// actionShapes renders madang's actions as ELBv2's Actions.
func (ix *index) actionShapes(acts []elb.ActionSpec) []any {
	out := make([]any, 0, len(acts))
	arn := func(name string) string {
		if tg, ok := ix.tgByName[name]; ok {
			return tg.ARN
		}
		return name
	}
	for i, a := range acts {
		m := map[string]any{"Type": a.Type, "Order": int64(i + 1)}
		switch {
		case a.Type == "forward":
			fc := map[string]any{}
			var groups []any
			if a.TargetGroup != "" {
				m["TargetGroupArn"] = arn(a.TargetGroup)
				groups = append(groups, map[string]any{"TargetGroupArn": arn(a.TargetGroup), "Weight": int64(1)})
			}
			if a.Forward != nil {
				for _, w := range a.Forward.TargetGroups {
					weight := int64(1)
					if w.Weight != nil {
						weight = int64(*w.Weight)
					}
					groups = append(groups, map[string]any{"TargetGroupArn": arn(w.Name), "Weight": weight})
				}
				if st := a.Forward.Stickiness; st != nil {
					fc["TargetGroupStickinessConfig"] = map[string]any{"Enabled": st.Enabled, "DurationSeconds": int64(st.DurationSeconds)}
				}
			}
			fc["TargetGroups"] = groups
			m["ForwardConfig"] = fc
		case a.Redirect != nil:
			r := a.Redirect
			m["RedirectConfig"] = map[string]any{"Protocol": r.Protocol, "Host": r.Host, "Port": r.Port, "Path": r.Path, "Query": r.Query, "StatusCode": r.StatusCode}
		case a.FixedResponse != nil:
			f := a.FixedResponse
			fr := map[string]any{"StatusCode": f.StatusCode}
			if f.ContentType != "" {
				fr["ContentType"] = f.ContentType
			}
			if f.MessageBody != "" {
				fr["MessageBody"] = f.MessageBody
			}
			m["FixedResponseConfig"] = fr
		}
		out = append(out, m)
	}
	return out
}

// conditionSpecs reads a RuleConditionList.
func conditionSpecs(list []protocol.Struct) ([]elb.ConditionSpec, error) {
	var out []elb.ConditionSpec
	for _, c := range list {
		field := c.String("Field")
		cs := elb.ConditionSpec{Field: field, Values: c.Strings("Values")}
		cfg := map[string]string{
			"host-header": "HostHeaderConfig", "path-pattern": "PathPatternConfig", "http-header": "HttpHeaderConfig",
			"http-request-method": "HttpRequestMethodConfig", "source-ip": "SourceIpConfig", "query-string": "QueryStringConfig",
		}[field]
		if cfg == "" {
			return nil, validationError("Condition field '%s' is not valid; use host-header, path-pattern, http-header, http-request-method, query-string or source-ip", field)
		}
		if sub := c.Struct(cfg); sub != nil {
			if field == "query-string" {
				for _, kv := range sub.Structs("Values") {
					cs.QueryString = append(cs.QueryString, elb.KeyValue{Key: kv.String("Key"), Value: kv.String("Value")})
				}
			} else {
				if len(cs.Values) > 0 {
					return nil, validationError("Condition '%s': give its values in Values or in %s, not both", field, cfg)
				}
				cs.Values = sub.Strings("Values")
			}
			if field == "http-header" {
				cs.HTTPHeaderName = sub.String("HttpHeaderName")
			}
		}
		out = append(out, cs)
	}
	return out, nil
}

// conditionShapes renders madang's rule conditions.
func conditionShapes(cs []elb.ConditionSpec) []any {
	out := make([]any, 0, len(cs))
	for _, c := range cs {
		vals := make([]any, 0, len(c.Values))
		for _, v := range c.Values {
			vals = append(vals, v)
		}
		m := map[string]any{"Field": c.Field}
		switch c.Field {
		case "host-header":
			m["Values"], m["HostHeaderConfig"] = vals, map[string]any{"Values": vals}
		case "path-pattern":
			m["Values"], m["PathPatternConfig"] = vals, map[string]any{"Values": vals}
		case "http-header":
			m["HttpHeaderConfig"] = map[string]any{"HttpHeaderName": c.HTTPHeaderName, "Values": vals}
		case "http-request-method":
			m["HttpRequestMethodConfig"] = map[string]any{"Values": vals}
		case "source-ip":
			m["SourceIpConfig"] = map[string]any{"Values": vals}
		case "query-string":
			var kvs []any
			for _, kv := range c.QueryString {
				e := map[string]any{"Value": kv.Value}
				if kv.Key != "" {
					e["Key"] = kv.Key
				}
				kvs = append(kvs, e)
			}
			m["QueryStringConfig"] = map[string]any{"Values": kvs}
		}
		out = append(out, m)
	}
	return out
}

// priorityOf reads a rule priority (1–50000).
func priorityOf(v int64) (int, error) {
	if v < 1 || v > 50000 {
		return 0, validationError("1 validation error detected: Value '%s' at 'priority' failed to satisfy constraint: Member must have value between 1 and 50000", strconv.FormatInt(v, 10))
	}
	return int(v), nil
}
