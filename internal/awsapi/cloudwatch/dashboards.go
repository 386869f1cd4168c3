package cloudwatch

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	cw "github.com/madang-dev/madang/internal/cloudwatch"
	"github.com/madang-dev/madang/internal/dashboard"
	"github.com/madang-dev/madang/internal/fielderr"
)

const listDashboardsPage = 1000

// dashboardNameChars are the characters of CloudWatch's rule for
// dashboard names; validDashboardName adds its length, 1 to 255 (a
// counted repetition would compile into 255 copies of the class at every
// start of the binary).
var dashboardNameChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// validDashboardName reports whether name follows CloudWatch's rule for
// dashboard names.
func validDashboardName(name string) bool {
	return len(name) <= 255 && dashboardNameChars.MatchString(name)
}

func (s *Service) putDashboard(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name, body := in.String("DashboardName"), in.String("DashboardBody")
	if !validDashboardName(name) {
		return nil, protocol.Errorf("InvalidParameterInput", "The value for field DashboardName '%s' must contain only alphanumeric characters, '-' and '_', 1 to 255 of them", name)
	}
	if _, err := dashboard.Parse([]byte(body)); err != nil {
		return nil, protocol.Errorf("InvalidParameterInput", "The field DashboardBody is not valid: %s", validationMessages(err))
	}
	if d, ok := s.mon.Dashboard(name); ok {
		if err := notOwned("dashboard", name, d.Owner); err != nil {
			return nil, err
		}
	}
	if _, err := s.resources.PutResource(ctx, cw.KindDashboard, &cw.DashboardSpec{Name: name, Body: body}); err != nil {
		mapped := cwError(err)
		if pe, ok := mapped.(*protocol.Error); ok && pe.Code == "InvalidParameterValue" {
			return nil, protocol.Errorf("InvalidParameterInput", "%s", pe.Message)
		}
		return nil, mapped
	}
	return map[string]any{"DashboardValidationMessages": []any{}}, nil
}

// validationMessages words a dashboard body's problems as CloudWatch's
// DashboardValidationMessages do: "dataPath: message", one per problem.
func validationMessages(err error) string {
	var l fielderr.List
	if !errors.As(err, &l) {
		return err.Error()
	}
	parts := make([]string, 0, len(l))
	for _, e := range l {
		path := "/" + strings.NewReplacer(".", "/", "[", "/", "]", "").Replace(e.Path)
		msg := strings.TrimSpace(strings.Join([]string{e.Value, e.Problem}, " "))
		if e.Fix != "" {
			msg += " (" + e.Fix + ")"
		}
		parts = append(parts, "dataPath "+path+": "+msg)
	}
	return strings.Join(parts, "; ")
}

func (s *Service) getDashboard(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	name := call.Input.String("DashboardName")
	d, ok := s.mon.Dashboard(name)
	if !ok {
		return nil, protocol.Errorf("DashboardNotFoundError", "Dashboard %s does not exist", name)
	}
	b, err := d.Spec.BodyJSON()
	if err != nil {
		return nil, err
	}
	return map[string]any{"DashboardName": d.Spec.Name, "DashboardArn": d.ARN, "DashboardBody": string(b)}, nil
}

func (s *Service) listDashboards(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	prefix := in.String("DashboardNamePrefix")
	var sel []cw.Dashboard
	for _, d := range s.mon.Dashboards() {
		if strings.HasPrefix(d.Spec.Name, prefix) {
			sel = append(sel, d)
		}
	}
	sel, next, err := page(sel, in.String("NextToken"), listDashboardsPage)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(sel))
	for _, d := range sel {
		b, _ := d.Spec.BodyJSON()
		out = append(out, map[string]any{"DashboardName": d.Spec.Name, "DashboardArn": d.ARN, "LastModified": d.UpdatedAt, "Size": len(b)})
	}
	resp := map[string]any{"DashboardEntries": out}
	if next != "" {
		resp["NextToken"] = next
	}
	return resp, nil
}

func (s *Service) deleteDashboards(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	names := call.Input.Strings("DashboardNames")
	var missing []string
	for _, n := range names {
		d, ok := s.mon.Dashboard(n)
		if !ok {
			missing = append(missing, n)
			continue
		}
		if err := notOwned("dashboard", n, d.Owner); err != nil {
			return nil, err
		}
	}
	if len(missing) > 0 {
		return nil, protocol.Errorf("DashboardNotFoundError", "The specified dashboard does not exist: %s; nothing was deleted", strings.Join(missing, ", "))
	}
	for _, n := range names {
		if err := s.resources.DeleteResource(ctx, cw.KindDashboard, n); err != nil {
			return nil, cwError(err)
		}
	}
	return map[string]any{}, nil
}
