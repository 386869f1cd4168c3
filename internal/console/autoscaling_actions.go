package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/api/v1"
)

// asgActionFailed answers a group action that failed: htmx requests get
// the API's message as a flash, forms their tab again with status 400 and
// the message and hint above it (edit fills the form's own fields).
func (s *Server) asgActionFailed(w http.ResponseWriter, r *http.Request, tab string, err error, edit func(*asgGroupPage)) {
	if r.Header.Get("HX-Request") == "true" {
		s.fail(w, r, err)
		return
	}
	name := r.PathValue("name")
	p, rerr := s.asgGroupData(r.Context(), name, tab)
	if rerr != nil {
		s.fail(w, r, rerr)
		return
	}
	p.Error, p.Hint = apiMessage(err)
	if edit != nil {
		edit(&p)
	}
	s.renderStatus(w, r, http.StatusBadRequest, "autoscaling/group", p.Group.Name, p)
}

// apiMessage splits an error into the API's message and hint.
func apiMessage(err error) (msg, hint string) {
	var ae *apiError
	if asAPIError(err, &ae) {
		return ae.Message, ae.Hint
	}
	return err.Error(), ""
}

// asgSetDesired is Edit group size: SetDesiredCapacity. A stack's group
// needs the confirmation box ticked, as the stack's next apply may undo
// the change.
func (s *Server) asgSetDesired(w http.ResponseWriter, r *http.Request) {
	name, l := r.PathValue("name"), langOf(r)
	form := asgDesiredForm{Value: strings.TrimSpace(r.FormValue("desired")), Confirmed: r.FormValue("confirm") == "yes"}
	g, err := s.api.AutoScalingGroup(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	keep := func(p *asgGroupPage) {
		msg, hint := p.Error, p.Hint
		p.Error, p.Hint = "", ""
		p.Desired = form
		p.Desired.Error, p.Desired.Hint = msg, hint
	}
	n, err := strconv.Atoi(form.Value)
	if err != nil || n < 0 {
		s.asgActionFailed(w, r, asgTabDetails, &apiError{Message: l.T("asg.size.notnumber"),
			Hint: fmt.Sprintf(l.T("asg.size.range"), g.MinSize, g.MaxSize)}, keep)
		return
	}
	if g.Owner != "" && !form.Confirmed {
		s.asgActionFailed(w, r, asgTabDetails, &apiError{Message: fmt.Sprintf(l.T("common.stackowned"), g.Owner),
			Hint: l.T("asg.size.confirmhint")}, keep)
		return
	}
	if _, err := s.api.SetDesiredCapacity(r.Context(), name, n, false); err != nil {
		s.asgActionFailed(w, r, asgTabDetails, err, keep)
		return
	}
	s.redirect(w, r, asgGroupPath(name, asgTabActivity), "ok", fmt.Sprintf(l.T("asg.size.done"), name, n))
}

// asgCompleteLifecycle completes an instance's wait in a lifecycle hook
// with CONTINUE or ABANDON.
func (s *Server) asgCompleteLifecycle(w http.ResponseWriter, r *http.Request) {
	name, l := r.PathValue("name"), langOf(r)
	req := v1.CompleteLifecycleActionRequest{LifecycleHookName: r.FormValue("hook"), InstanceID: r.FormValue("instance"),
		LifecycleActionResult: r.FormValue("result")}
	if err := s.api.CompleteLifecycleAction(r.Context(), name, req); err != nil {
		s.asgActionFailed(w, r, asgTabInstances, err, nil)
		return
	}
	s.redirect(w, r, asgGroupPath(name, asgTabInstances), "ok",
		fmt.Sprintf(l.T("asg.lifecycle.done"), req.InstanceID, req.LifecycleHookName, req.LifecycleActionResult))
}

// asgCancelRefresh cancels the group's active instance refresh.
func (s *Server) asgCancelRefresh(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rf, err := s.api.CancelInstanceRefresh(r.Context(), name)
	if err != nil {
		s.asgActionFailed(w, r, asgTabRefresh, err, nil)
		return
	}
	s.redirect(w, r, asgGroupPath(name, asgTabRefresh), "ok", fmt.Sprintf(langOf(r).T("asg.refresh.cancelled"), rf.ID, rf.Status))
}

// asgRollbackRefresh rolls the group's active instance refresh back.
func (s *Server) asgRollbackRefresh(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rf, err := s.api.RollbackInstanceRefresh(r.Context(), name)
	if err != nil {
		s.asgActionFailed(w, r, asgTabRefresh, err, nil)
		return
	}
	s.redirect(w, r, asgGroupPath(name, asgTabRefresh), "ok", fmt.Sprintf(langOf(r).T("asg.refresh.rolledback"), rf.ID, rf.Status))
}

// asgStopDeployment stops a deployment, with or without rolling the
// instances it reached back.
func (s *Server) asgStopDeployment(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("name"), r.PathValue("id")
	d, err := s.api.StopDeployment(r.Context(), name, id, r.FormValue("rollback") == "yes")
	if err != nil {
		s.asgActionFailed(w, r, asgTabDeployments, err, nil)
		return
	}
	s.redirect(w, r, asgGroupPath(name, asgTabDeployments), "ok", fmt.Sprintf(langOf(r).T("asg.deploy.stopped"), d.ID, d.Status))
}

func itoa(n int) string { return strconv.Itoa(n) }
