package logs

import (
	"context"
	"slices"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	cw "github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/loggroup"
)

const describePage = 50

func (s *Service) describeLogGroups(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	prefix, pattern := in.String("logGroupNamePrefix"), in.String("logGroupNamePattern")
	if prefix != "" && pattern != "" {
		return nil, protocol.Errorf("InvalidParameterException", "logGroupNamePrefix and logGroupNamePattern are both given; give one of them")
	}
	n, err := limit(in, describePage, describePage)
	if err != nil {
		return nil, err
	}
	filters := s.settings.MetricFilters()
	var sel []*group
	for _, g := range s.groups() {
		if !strings.HasPrefix(g.name, prefix) || (pattern != "" && !strings.Contains(strings.ToLower(g.name), strings.ToLower(pattern))) {
			continue
		}
		if ids := in.Strings("logGroupIdentifiers"); len(ids) > 0 && !slices.ContainsFunc(ids, func(id string) bool {
			return id == g.name || strings.TrimSuffix(id, ":*") == groupARN(call, g.name)
		}) {
			continue
		}
		sel = append(sel, g)
	}
	sel, next, err := page(sel, in.String("nextToken"), n)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(sel))
	for _, g := range sel {
		var stored, created int64
		for _, st := range g.streams {
			stored += loggroup.StoredBytes(st)
			if ev, ok := loggroup.FirstEvent(st); ok && (created == 0 || ev.Timestamp.UnixMilli() < created) {
				created = ev.Timestamp.UnixMilli()
			}
		}
		count := 0
		for _, f := range filters {
			if f.Spec.LogGroup == g.name {
				count++
			}
		}
		arn := groupARN(call, g.name)
		m := map[string]any{"logGroupName": g.name, "arn": arn + ":*", "logGroupArn": arn, "storedBytes": stored,
			"metricFilterCount": count, "logGroupClass": "STANDARD", "creationTime": created}
		if r := g.retention(); r > 0 {
			m["retentionInDays"] = r
		}
		out = append(out, m)
	}
	resp := map[string]any{"logGroups": out}
	if next != "" {
		resp["nextToken"] = next
	}
	return resp, nil
}

func (s *Service) createLogGroup(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name := in.String("logGroupName")
	if !validGroupName(name) {
		return nil, protocol.Errorf("InvalidParameterException", "1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+ (1 to 512 characters)", name)
	}
	if cls := in.String("logGroupClass"); cls != "" && cls != "STANDARD" {
		return nil, protocol.Errorf("InvalidParameterException", "logGroupClass '%s' is not supported by madang; use STANDARD", cls)
	}
	if _, err := s.group(name); err == nil {
		return nil, protocol.Errorf("ResourceAlreadyExistsException", "The specified log group already exists: %s", name)
	}
	if _, err := s.resources.PutResource(ctx, cw.KindLogGroup, &cw.LogGroupSpec{Name: name}); err != nil {
		return nil, logsError(err)
	}
	return map[string]any{}, nil
}

func (s *Service) deleteLogGroup(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	name := groupName(call.Input)
	g, err := s.group(name)
	if err != nil {
		return nil, err
	}
	if err := notOwned("log group", name, g.owner()); err != nil {
		return nil, err
	}
	if !g.apiOnly() {
		return nil, protocol.Errorf("InvalidOperationException", "Log group %s holds the logs of madang's instances, load balancers or daemon; it goes away with them (its retention still applies)", name)
	}
	// The group's metric filters go with it, as in CloudWatch Logs.
	for _, f := range s.settings.MetricFilters() {
		if f.Spec.LogGroup != name {
			continue
		}
		if err := notOwned("metric filter", f.Spec.Name, f.Owner); err != nil {
			return nil, err
		}
		if err := s.resources.DeleteResource(ctx, cw.KindMetricFilter, f.Spec.Name); err != nil {
			return nil, logsError(err)
		}
	}
	if g.setting != nil {
		if err := s.resources.DeleteResource(ctx, cw.KindLogGroup, name); err != nil {
			return nil, logsError(err)
		}
	}
	if err := s.streams.DeleteGroup(name); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (s *Service) putRetentionPolicy(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name := groupName(in)
	days := int(in.Int("retentionInDays"))
	if err := loggroup.ValidateRetention(days); err != nil || days == 0 {
		return nil, protocol.Errorf("InvalidParameterException", "1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: %v", days, loggroup.RetentionDays())
	}
	return s.setRetention(ctx, name, days)
}

func (s *Service) deleteRetentionPolicy(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.setRetention(ctx, groupName(call.Input), 0)
}

// setRetention stores a group's retention (0: never expire).
func (s *Service) setRetention(ctx context.Context, name string, days int) (map[string]any, error) {
	g, err := s.group(name)
	if err != nil {
		return nil, err
	}
	if err := notOwned("log group", name, g.owner()); err != nil {
		return nil, err
	}
	if g.retention() == days {
		return map[string]any{}, nil
	}
	if _, err := s.resources.PutResource(ctx, cw.KindLogGroup, &cw.LogGroupSpec{Name: name, RetentionInDays: days}); err != nil {
		return nil, logsError(err)
	}
	return map[string]any{}, nil
}

func (s *Service) putMetricFilter(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name, groupN := in.String("filterName"), groupName(in)
	if _, err := s.group(groupN); err != nil {
		return nil, err
	}
	for _, f := range s.settings.MetricFilters() {
		if f.Spec.Name != name {
			continue
		}
		if err := notOwned("metric filter", name, f.Owner); err != nil {
			return nil, err
		}
		if f.Spec.LogGroup != groupN {
			return nil, protocol.Errorf("InvalidParameterException", "A metric filter named '%s' exists already on log group %s; madang's metric filter names are unique across log groups: give this one another name", name, f.Spec.LogGroup)
		}
	}
	spec := cw.MetricFilterSpec{Name: name, LogGroup: groupN, FilterPattern: in.String("filterPattern")}
	for _, t := range in.Structs("metricTransformations") {
		ts := cw.TransformationSpec{MetricName: t.String("metricName"), MetricNamespace: t.String("metricNamespace"),
			MetricValue: t.String("metricValue"), Unit: t.String("unit"), Dimensions: t.StringMap("dimensions")}
		if len(ts.Dimensions) == 0 {
			ts.Dimensions = nil
		}
		if t.Has("defaultValue") {
			v := t.Float("defaultValue")
			ts.DefaultValue = &v
		}
		spec.MetricTransformations = append(spec.MetricTransformations, ts)
	}
	if _, err := s.resources.PutResource(ctx, cw.KindMetricFilter, &spec); err != nil {
		return nil, logsError(err)
	}
	return map[string]any{}, nil
}

func (s *Service) describeMetricFilters(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	groupN, prefix := in.String("logGroupName"), in.String("filterNamePrefix")
	metricName, ns := in.String("metricName"), in.String("metricNamespace")
	switch {
	case prefix != "" && groupN == "":
		return nil, protocol.Errorf("InvalidParameterException", "filterNamePrefix needs logGroupName; give the log group too")
	case (metricName == "") != (ns == ""):
		return nil, protocol.Errorf("InvalidParameterException", "metricName and metricNamespace go together; give both or neither")
	}
	n, err := limit(in, describePage, describePage)
	if err != nil {
		return nil, err
	}
	var sel []cw.MetricFilter
	for _, f := range s.settings.MetricFilters() {
		if (groupN != "" && f.Spec.LogGroup != groupN) || !strings.HasPrefix(f.Spec.Name, prefix) {
			continue
		}
		if metricName != "" && !slices.ContainsFunc(f.Spec.MetricTransformations, func(t cw.TransformationSpec) bool {
			return t.MetricName == metricName && t.MetricNamespace == ns
		}) {
			continue
		}
		sel = append(sel, f)
	}
	sel, next, err := page(sel, in.String("nextToken"), n)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(sel))
	for _, f := range sel {
		ts := make([]any, 0, len(f.Spec.MetricTransformations))
		for _, t := range f.Spec.MetricTransformations {
			m := map[string]any{"metricName": t.MetricName, "metricNamespace": t.MetricNamespace, "metricValue": t.MetricValue}
			if t.DefaultValue != nil {
				m["defaultValue"] = *t.DefaultValue
			}
			if t.Unit != "" {
				m["unit"] = t.Unit
			}
			if len(t.Dimensions) > 0 {
				m["dimensions"] = t.Dimensions
			}
			ts = append(ts, m)
		}
		out = append(out, map[string]any{"filterName": f.Spec.Name, "filterPattern": f.Spec.FilterPattern,
			"logGroupName": f.Spec.LogGroup, "metricTransformations": ts})
	}
	resp := map[string]any{"metricFilters": out}
	if next != "" {
		resp["nextToken"] = next
	}
	return resp, nil
}

func (s *Service) deleteMetricFilter(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name, groupN := in.String("filterName"), in.String("logGroupName")
	for _, f := range s.settings.MetricFilters() {
		if f.Spec.Name != name || f.Spec.LogGroup != groupN {
			continue
		}
		if err := notOwned("metric filter", name, f.Owner); err != nil {
			return nil, err
		}
		if err := s.resources.DeleteResource(ctx, cw.KindMetricFilter, name); err != nil {
			return nil, logsError(err)
		}
		return map[string]any{}, nil
	}
	return nil, protocol.Errorf("ResourceNotFoundException", "The specified metric filter does not exist: %s on %s", name, groupN)
}
