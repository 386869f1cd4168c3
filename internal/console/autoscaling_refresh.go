package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/api/v1"
)

// asgRefreshForm is the Start instance refresh form, as text so that a
// bad value is shown back as typed.
type asgRefreshForm struct {
	MinHealthy, MaxHealthy, Warmup, Checkpoints, CheckpointDelay string
	SkipMatching, AutoRollback                                   bool
	// Field names the field an input error is about; Error and Hint
	// say what is wrong and how to fix it.
	Field, Error, Hint string
}

// asgRefreshDefaults are the AWS console's defaults: minimum healthy 90 %,
// maximum healthy 100 %, skip matching on, no auto rollback, a checkpoint
// delay of an hour.
func asgRefreshDefaults() asgRefreshForm {
	return asgRefreshForm{MinHealthy: "90", MaxHealthy: "100", CheckpointDelay: "3600", SkipMatching: true}
}

// asgRefreshFormOf reads the form from a post.
func asgRefreshFormOf(r *http.Request) asgRefreshForm {
	return asgRefreshForm{
		MinHealthy: strings.TrimSpace(r.FormValue("minHealthy")), MaxHealthy: strings.TrimSpace(r.FormValue("maxHealthy")),
		Warmup: strings.TrimSpace(r.FormValue("warmup")), Checkpoints: strings.TrimSpace(r.FormValue("checkpoints")),
		CheckpointDelay: strings.TrimSpace(r.FormValue("checkpointDelay")),
		SkipMatching:    r.FormValue("skipMatching") == "yes", AutoRollback: r.FormValue("autoRollback") == "yes",
	}
}

// preferences turns the form into the API's preferences; a field that is
// not a number fails with its name, the message and the hint in l.
func (f *asgRefreshForm) preferences(l lang) (v1.RefreshPreferences, bool) {
	prefs := v1.RefreshPreferences{SkipMatching: &f.SkipMatching, AutoRollback: f.AutoRollback}
	num := func(field, text string, into **int) bool {
		if text == "" {
			return true
		}
		n, err := strconv.Atoi(text)
		if err != nil {
			f.Field, f.Error, f.Hint = field, fmt.Sprintf(l.T("asg.refresh.notnumber"), text), l.T("asg.refresh.numberhint")
			return false
		}
		*into = &n
		return true
	}
	if !num("minHealthy", f.MinHealthy, &prefs.MinHealthyPercentage) || !num("maxHealthy", f.MaxHealthy, &prefs.MaxHealthyPercentage) ||
		!num("warmup", f.Warmup, &prefs.InstanceWarmup) {
		return prefs, false
	}
	if f.Checkpoints != "" {
		for _, part := range strings.Split(f.Checkpoints, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(part), "%")))
			if err != nil {
				f.Field, f.Error, f.Hint = "checkpoints", fmt.Sprintf(l.T("asg.refresh.notnumber"), part), l.T("asg.refresh.checkpointshint")
				return prefs, false
			}
			prefs.CheckpointPercentages = append(prefs.CheckpointPercentages, n)
		}
		if !num("checkpointDelay", f.CheckpointDelay, &prefs.CheckpointDelay) {
			return prefs, false
		}
	}
	return prefs, true
}

// asgStartRefresh starts an instance refresh with the form's
// preferences (StartInstanceRefresh).
func (s *Server) asgStartRefresh(w http.ResponseWriter, r *http.Request) {
	name, l := r.PathValue("name"), langOf(r)
	form := asgRefreshFormOf(r)
	keep := func(p *asgGroupPage) {
		if form.Error == "" {
			form.Error, form.Hint = p.Error, p.Hint
		}
		p.Error, p.Hint = "", ""
		p.Refresh = form
	}
	prefs, ok := form.preferences(l)
	if !ok {
		s.asgActionFailed(w, r, asgTabRefresh, &apiError{Message: form.Error, Hint: form.Hint}, keep)
		return
	}
	rf, err := s.api.StartInstanceRefresh(r.Context(), name, prefs)
	if err != nil {
		s.asgActionFailed(w, r, asgTabRefresh, err, keep)
		return
	}
	s.redirect(w, r, asgGroupPath(name, asgTabRefresh), "ok", fmt.Sprintf(l.T("asg.refresh.started"), rf.ID, name))
}
