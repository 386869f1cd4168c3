package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
)

// ec2Tabs are the instance page's tabs, in AWS's order.
var ec2Tabs = []string{"details", "monitoring", "logs", "tags"}

// ec2Actions are the instance state actions (AWS's 인스턴스 상태 menu).
var ec2Actions = []string{"start", "stop", "reboot", "terminate"}

// ec2SeriesWindow and ec2SeriesPeriod are the span and resolution of the
// instance page's charts.
const (
	ec2SeriesWindow = 15 * time.Minute
	ec2SeriesPeriod = 10
)

// ec2SeriesUnits are the instance metrics the series endpoint serves,
// with their units.
var ec2SeriesUnits = map[string]string{
	ec2MetricCPU: "Percent", ec2MetricMem: "Percent",
	"DiskReadBytes": "Bytes", "DiskWriteBytes": "Bytes", "DiskReadOps": "Count", "DiskWriteOps": "Count",
	"StatusCheckFailed": "Count",
}

func (s *Server) mountEC2Instance(mux *http.ServeMux) {
	mux.HandleFunc("GET /ec2/instances/{id}", s.ec2Instance)
	mux.HandleFunc("POST /ec2/instances/{id}/{action}", s.ec2Action)
	mux.HandleFunc("POST /ec2/instances/{id}/tags", s.ec2Tags)
	mux.HandleFunc("GET /ec2/instances/{id}/create-image", s.ec2CreateImageForm)
	mux.HandleFunc("POST /ec2/instances/{id}/create-image", s.ec2CreateImage)
	mux.HandleFunc("GET /ec2/instances/{id}/series", s.ec2Series)
	mux.HandleFunc("GET /ec2/instances/{id}/logs/stream", s.ec2LogStream)
}

// ec2InstancePage is the data of an instance's page.
type ec2InstancePage struct {
	In v1.Instance
	// Name is the Name tag.
	Name string
	// Tab is the open tab; Tabs all of them.
	Tab  string
	Tabs []string
	// Actions are the state actions the instance's state allows.
	Actions []string
	// Tag is the tag form's values and error, when it is re-rendered.
	Tag ec2TagForm
}

// ec2TagForm is the tag form's values and its error.
type ec2TagForm struct {
	Key, Value  string
	Error, Hint string
}

func (s *Server) ec2Instance(w http.ResponseWriter, r *http.Request) {
	s.ec2InstanceStatus(w, r, http.StatusOK, r.URL.Query().Get("tab"), ec2TagForm{})
}

// ec2InstanceStatus renders an instance's page on tab with status (400
// when the tag form is re-rendered with its error).
func (s *Server) ec2InstanceStatus(w http.ResponseWriter, r *http.Request, status int, tab string, tag ec2TagForm) {
	in, err := s.api.Describe(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !slices.Contains(ec2Tabs, tab) {
		tab = ec2Tabs[0]
	}
	p := ec2InstancePage{In: in, Name: in.Tags["Name"], Tab: tab, Tabs: ec2Tabs, Actions: ec2AllowedActions(in), Tag: tag}
	s.renderStatus(w, r, status, "ec2/instance", "ec2.instance.title", p)
}

// ec2AllowedActions are the actions an instance in its state takes: none
// once terminated, start only when stopped.
func ec2AllowedActions(in v1.Instance) []string {
	switch in.State {
	case v1.StateTerminated, v1.StateShuttingDown:
		return nil
	case v1.StateStopped:
		return []string{"start", "terminate"}
	}
	return []string{"stop", "reboot", "terminate"}
}

func (s *Server) ec2Action(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if !slices.Contains(ec2Actions, action) {
		s.notFound(w, r)
		return
	}
	in, err := s.api.Action(r.Context(), id, action)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msg := fmt.Sprintf(langOf(r).T("ec2.action.done."+action), in.ID)
	s.redirect(w, r, "/ec2/instances/"+in.ID, "ok", msg)
}

// ec2Tags adds or replaces a tag (key and value) or removes one (remove).
func (s *Server) ec2Tags(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	l := langOf(r)
	var req v1.TagRequest
	form := ec2TagForm{Key: strings.TrimSpace(r.FormValue("key")), Value: r.FormValue("value")}
	if rm := strings.TrimSpace(r.FormValue("remove")); rm != "" {
		req.Remove = []string{rm}
	} else if form.Key == "" {
		form.Error, form.Hint = l.T("ec2.tags.nokey"), l.T("ec2.tags.nokeyhint")
		s.ec2InstanceStatus(w, r, http.StatusBadRequest, "tags", form)
		return
	} else {
		req.Set = map[string]string{form.Key: form.Value}
	}
	in, err := s.api.Tags(r.Context(), id, req)
	if err != nil {
		var ae *apiError
		if asAPIError(err, &ae) && ae.Status == http.StatusBadRequest {
			form.Error, form.Hint = ae.Message, ae.Hint
			s.ec2InstanceStatus(w, r, http.StatusBadRequest, "tags", form)
			return
		}
		s.fail(w, r, err)
		return
	}
	s.redirect(w, r, "/ec2/instances/"+in.ID+"?tab=tags", "ok", fmt.Sprintf(l.T("ec2.tags.saved"), in.ID))
}

// ec2ImageForm is the create-image form's data.
type ec2ImageForm struct {
	In                v1.Instance
	Name, Description string
	NoReboot          bool
	Error, Hint       string
	// Field names the field the error is about ("name").
	Field string
}

func (s *Server) ec2CreateImageForm(w http.ResponseWriter, r *http.Request) {
	in, err := s.api.Describe(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, "ec2/create-image", "ec2.image.create.title", ec2ImageForm{In: in})
}

func (s *Server) ec2CreateImage(w http.ResponseWriter, r *http.Request) {
	in, err := s.api.Describe(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := langOf(r)
	f := ec2ImageForm{In: in, Name: strings.TrimSpace(r.FormValue("name")), Description: r.FormValue("description"),
		NoReboot: r.FormValue("noReboot") != ""}
	if f.Name == "" {
		f.Error, f.Hint, f.Field = l.T("ec2.image.noname"), l.T("ec2.image.namehint"), "name"
		s.renderStatus(w, r, http.StatusBadRequest, "ec2/create-image", "ec2.image.create.title", f)
		return
	}
	im, err := s.api.CreateImage(r.Context(), v1.CreateImageRequest{InstanceID: in.ID, Name: f.Name, Description: f.Description, NoReboot: f.NoReboot})
	if err != nil {
		var ae *apiError
		if asAPIError(err, &ae) && ae.Status < 500 {
			f.Error, f.Hint, f.Field = ae.Message, ae.Hint, "name"
			s.renderStatus(w, r, ae.Status, "ec2/create-image", "ec2.image.create.title", f)
			return
		}
		s.fail(w, r, err)
		return
	}
	s.redirect(w, r, "/ec2/images", "ok", fmt.Sprintf(l.T("ec2.image.created"), im.ID, in.ID))
}

// ec2Chart is the chart JSON the console's charts draw.
type ec2Chart struct {
	Unit       string           `json:"unit"`
	Timestamps []int64          `json:"timestamps"`
	Series     []ec2ChartSeries `json:"series"`
	// Error says why there is no data (the metrics could not be read).
	Error string `json:"error,omitempty"`
}

// ec2ChartSeries is one line of a chart; nil values are gaps.
type ec2ChartSeries struct {
	Label  string     `json:"label"`
	Values []*float64 `json:"values"`
}

// ec2Series answers an instance metric's last 15 minutes as chart JSON
// (GET /ec2/instances/{id}/series?metric=CPUUtilization). When the
// metrics cannot be read the chart is empty and says why.
func (s *Server) ec2Series(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	metric := r.URL.Query().Get("metric")
	if metric == "" {
		metric = ec2MetricCPU
	}
	unit, ok := ec2SeriesUnits[metric]
	if !ok {
		http.Error(w, "unknown instance metric "+metric, http.StatusBadRequest)
		return
	}
	out := ec2Chart{Unit: unit, Timestamps: []int64{}, Series: []ec2ChartSeries{{Label: metric, Values: []*float64{}}}}
	end := s.now()
	res, err := s.api.GetMetricData(r.Context(), v1.GetMetricDataRequest{StartTime: end.Add(-ec2SeriesWindow), EndTime: end,
		MetricDataQueries: []v1.MetricDataQuery{ec2Query("m0", id, metric, ec2SeriesPeriod)}})
	if err != nil {
		out.Error = err.Error()
	} else if len(res.MetricDataResults) > 0 {
		times, values := ec2Ascending(res.MetricDataResults[0].Timestamps, res.MetricDataResults[0].Values)
		for i := range times {
			out.Timestamps = append(out.Timestamps, times[i].Unix())
			out.Series[0].Values = append(out.Series[0].Values, &values[i])
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// ec2LogLine is one log line as the console's log tail reads it.
type ec2LogLine struct {
	Time   string `json:"time"`
	Stream string `json:"stream"`
	Text   string `json:"text"`
}

// ec2LogStream tails an instance's log as server-sent events: the last
// 200 lines, then new ones until the page goes away.
func (s *Server) ec2LogStream(w http.ResponseWriter, r *http.Request) {
	in, err := s.api.Describe(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = streamSSE(w, r, func(send func(event string, data any)) error {
		err := s.api.Logs(r.Context(), in.ID, 200, time.Time{}, true, func(l v1.LogLine) {
			send("", ec2LogLine{Time: l.Time.UTC().Format(time.RFC3339Nano), Stream: l.Stream, Text: l.Text})
		})
		if err != nil && r.Context().Err() == nil {
			send("", ec2LogLine{Time: s.now().UTC().Format(time.RFC3339Nano), Stream: v1.StreamSys, Text: err.Error()})
		}
		return err
	})
	if err != nil && r.Context().Err() == nil {
		s.log.Debug("console: log tail ended", "instance", in.ID, "err", err)
	}
}
