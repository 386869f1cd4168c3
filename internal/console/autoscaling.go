package console

import (
	"context"
	"net/http"
	"net/url"

	"github.com/madang-dev/madang/internal/api/v1"
)

// mountAutoScaling registers the Auto Scaling pages: the groups, one
// group's tabs as the AWS console's, its actions and its chart series.
func (s *Server) mountAutoScaling(mux *http.ServeMux) {
	mux.HandleFunc("GET /autoscaling/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/autoscaling/groups", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /autoscaling/groups", s.asgGroups)
	mux.HandleFunc("GET /autoscaling/groups/{name}", s.asgGroup)
	mux.HandleFunc("GET /autoscaling/groups/{name}/series", s.asgSeries)
	mux.HandleFunc("POST /autoscaling/groups/{name}/desired-capacity", s.asgSetDesired)
	mux.HandleFunc("POST /autoscaling/groups/{name}/lifecycle-action", s.asgCompleteLifecycle)
	mux.HandleFunc("POST /autoscaling/groups/{name}/instance-refresh", s.asgStartRefresh)
	mux.HandleFunc("POST /autoscaling/groups/{name}/instance-refresh/cancel", s.asgCancelRefresh)
	mux.HandleFunc("POST /autoscaling/groups/{name}/instance-refresh/rollback", s.asgRollbackRefresh)
	mux.HandleFunc("POST /autoscaling/groups/{name}/deployments/{id}/stop", s.asgStopDeployment)
}

// asgGroupsPage is the data of the groups list.
type asgGroupsPage struct {
	Groups []v1.AutoScalingGroup
}

func (s *Server) asgGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := s.api.AutoScalingGroups(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, "autoscaling/groups", "asg.groups.title", asgGroupsPage{Groups: gs})
}

// The tabs of a group's page, in the AWS console's order.
const (
	asgTabDetails     = "details"
	asgTabActivity    = "activity"
	asgTabScaling     = "scaling"
	asgTabInstances   = "instances"
	asgTabRefresh     = "refresh"
	asgTabDeployments = "deployments"
	asgTabMonitoring  = "monitoring"
)

// asgTab is one tab of a group's page.
type asgTab struct {
	Key, Label string
}

var asgTabs = []asgTab{
	{asgTabDetails, "asg.tab.details"}, {asgTabActivity, "asg.tab.activity"}, {asgTabScaling, "asg.tab.scaling"},
	{asgTabInstances, "asg.tab.instances"}, {asgTabRefresh, "asg.tab.refresh"}, {asgTabDeployments, "asg.tab.deployments"},
	{asgTabMonitoring, "asg.tab.monitoring"},
}

// asgTabOf is the tab a request asks for (?tab=), details by default.
func asgTabOf(r *http.Request) string {
	tab := r.URL.Query().Get("tab")
	for _, t := range asgTabs {
		if t.Key == tab {
			return tab
		}
	}
	return asgTabDetails
}

// asgGroupPage is the data of a group's page: the group and what the
// open tab shows.
type asgGroupPage struct {
	Group v1.AutoScalingGroup
	// Tab is the open tab; Tabs all of them.
	Tab  string
	Tabs []asgTab
	// Frag is the page's path with its tab, ready for a fragment's name
	// ("/autoscaling/groups/web?tab=activity&fragment=").
	Frag string

	Activities  []v1.ScalingActivity
	Refreshes   []v1.InstanceRefresh
	Deployments []v1.Deployment

	// Desired and Refresh are the forms' values and errors.
	Desired asgDesiredForm
	Refresh asgRefreshForm
	// Error and Hint are a failed action's, shown above the tab.
	Error, Hint string
}

// asgDesiredForm is the Edit group size form.
type asgDesiredForm struct {
	Value     string
	Confirmed bool
	Error     string
	Hint      string
}

// asgGroupPath is a group's page, on tab (details: none).
func asgGroupPath(name, tab string) string {
	p := "/autoscaling/groups/" + url.PathEscape(name)
	if tab != "" && tab != asgTabDetails {
		p += "?tab=" + tab
	}
	return p
}

func (s *Server) asgGroup(w http.ResponseWriter, r *http.Request) {
	p, err := s.asgGroupData(r.Context(), r.PathValue("name"), asgTabOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, "autoscaling/group", p.Group.Name, p)
}

// asgGroupData reads a group and what its tab shows.
func (s *Server) asgGroupData(ctx context.Context, name, tab string) (asgGroupPage, error) {
	g, err := s.api.AutoScalingGroup(ctx, name)
	if err != nil {
		return asgGroupPage{}, err
	}
	p := asgGroupPage{Group: g, Tab: tab, Tabs: asgTabs,
		Frag: "/autoscaling/groups/" + url.PathEscape(name) + "?tab=" + tab + "&fragment=", Refresh: asgRefreshDefaults()}
	p.Desired.Value = itoa(g.DesiredCapacity)
	switch tab {
	case asgTabActivity:
		p.Activities, err = s.api.ScalingActivities(ctx, name, v1.DefaultMaxActivities)
	case asgTabRefresh:
		p.Refreshes, err = s.api.InstanceRefreshes(ctx, name)
	case asgTabDeployments:
		p.Deployments, err = s.api.Deployments(ctx, name)
	}
	return p, err
}
