package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/fault"
)

func (s *Server) mountEC2Launch(mux *http.ServeMux) {
	mux.HandleFunc("GET /ec2/launch", func(w http.ResponseWriter, r *http.Request) {
		f := ec2LaunchForm{Source: "image", Version: "$Default", Count: "1", Template: r.URL.Query().Get("template")}
		if f.Template != "" {
			f.Source = "template"
		}
		f.Image = r.URL.Query().Get("image")
		s.ec2LaunchPage(w, r, http.StatusOK, f, nil)
	})
	mux.HandleFunc("POST /ec2/launch", s.ec2Launch)
}

// ec2LaunchForm is the launch wizard's values, as the user typed them.
type ec2LaunchForm struct {
	Name string
	// Tags are extra tags, one KEY=VALUE a line.
	Tags string
	// Source is "image" or "template": what the instances launch from.
	Source            string
	Image             string
	Template, Version string
	Type              string
	Zone              string
	UserData          string
	Count             string
}

// ec2FormError is a form's error: the message and hint (the API's, or
// the console's own check) and the field it is about.
type ec2FormError struct {
	Message, Hint, Field string
}

// ec2LaunchData is the launch wizard's data: the choices and the form.
type ec2LaunchData struct {
	Images    []v1.Image
	Templates []v1.LaunchTemplate
	Types     []v1.InstanceType
	Zones     []string
	Form      ec2LaunchForm
	Err       *ec2FormError
	// Steps are the wizard's sections in AWS's order; Step is the one
	// shown as current: the one the error is about, else the first.
	Steps []string
	Step  string
}

// ec2LaunchSteps are the launch wizard's sections, in the AWS console's
// order.
var ec2LaunchSteps = []string{"name", "image", "type", "keypair", "network", "storage", "advanced", "summary"}

// ec2StepOf is the wizard step a form field belongs to.
func ec2StepOf(field string) string {
	switch field {
	case "image", "template":
		return "image"
	case "instanceType":
		return "type"
	case "zone":
		return "network"
	case "userData":
		return "advanced"
	case "count":
		return "summary"
	}
	return "name"
}

// ec2LaunchPage renders the launch wizard with the choices read from the
// API.
func (s *Server) ec2LaunchPage(w http.ResponseWriter, r *http.Request, status int, f ec2LaunchForm, ferr *ec2FormError) {
	d, err := s.ec2LaunchChoices(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Form, d.Err, d.Steps, d.Step = f, ferr, ec2LaunchSteps, ec2StepOf("")
	if ferr != nil {
		d.Step = ec2StepOf(ferr.Field)
	}
	s.renderStatus(w, r, status, "ec2/launch", "ec2.launch.title", d)
}

func (s *Server) ec2LaunchChoices(ctx context.Context) (ec2LaunchData, error) {
	var d ec2LaunchData
	var err error
	if d.Images, err = s.api.Images(ctx); err != nil {
		return d, err
	}
	if d.Templates, err = s.api.LaunchTemplates(ctx); err != nil {
		return d, err
	}
	if d.Types, err = s.api.InstanceTypes(ctx); err != nil {
		return d, err
	}
	if d.Zones, err = s.api.AvailabilityZones(ctx); err != nil {
		return d, err
	}
	return d, nil
}

func (s *Server) ec2Launch(w http.ResponseWriter, r *http.Request) {
	f := ec2LaunchForm{
		Name: strings.TrimSpace(r.FormValue("name")), Tags: r.FormValue("tags"), Source: r.FormValue("source"),
		Image: r.FormValue("image"), Template: r.FormValue("template"), Version: strings.TrimSpace(r.FormValue("version")),
		Type: r.FormValue("instanceType"), Zone: r.FormValue("zone"), UserData: r.FormValue("userData"),
		Count: strings.TrimSpace(r.FormValue("count")),
	}
	req, ferr := ec2RunRequest(langOf(r), f)
	if ferr != nil {
		s.ec2LaunchPage(w, r, http.StatusBadRequest, f, ferr)
		return
	}
	ins, err := s.api.Run(r.Context(), req)
	if err != nil {
		var ae *apiError
		if asAPIError(err, &ae) && ae.Status < 500 {
			s.ec2LaunchPage(w, r, http.StatusBadRequest, f, &ec2FormError{Message: ae.Message, Hint: ae.Hint, Field: ec2ErrorField(ae, f.Source)})
			return
		}
		s.fail(w, r, err)
		return
	}
	ids := make([]string, len(ins))
	for i, in := range ins {
		ids[i] = in.ID
	}
	s.redirect(w, r, "/ec2/instances", "ok", fmt.Sprintf(langOf(r).T("ec2.launch.done"), strings.Join(ids, ", ")))
}

// ec2RunRequest turns the wizard's form into a run request; the API
// checks the rest (a known image, template and type, the count's
// range).
func ec2RunRequest(l lang, f ec2LaunchForm) (v1.RunRequest, *ec2FormError) {
	count, err := strconv.Atoi(f.Count)
	if err != nil {
		return v1.RunRequest{}, &ec2FormError{Message: fmt.Sprintf(l.T("ec2.launch.badcount"), f.Count), Hint: l.T("ec2.launch.counthint"), Field: "count"}
	}
	tags, bad := ec2ParseTags(f.Tags)
	if bad != "" {
		return v1.RunRequest{}, &ec2FormError{Message: fmt.Sprintf(l.T("ec2.launch.badtag"), bad), Hint: l.T("ec2.launch.tagshint"), Field: "tags"}
	}
	req := v1.RunRequest{Count: count, Name: f.Name, Tags: tags, Zone: f.Zone}
	// With a launch template, the fields set here override its version's.
	launch := v1.LaunchTemplateData{Image: f.Image, InstanceType: f.Type, UserData: f.UserData}
	if f.Source == "template" {
		req.LaunchTemplate, req.Version = f.Template, f.Version
		if req.LaunchTemplate == "" {
			return v1.RunRequest{}, &ec2FormError{Message: l.T("ec2.launch.notemplate"), Hint: l.T("ec2.launch.templatehint"), Field: "template"}
		}
	}
	if launch.Image != "" || launch.InstanceType != "" || launch.UserData != "" || req.LaunchTemplate == "" {
		req.Launch = &launch
	}
	return req, nil
}

// ec2ParseTags reads KEY=VALUE lines; it returns the first bad line.
func ec2ParseTags(text string) (map[string]string, string) {
	var tags map[string]string
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, line
		}
		if tags == nil {
			tags = map[string]string{}
		}
		tags[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return tags, ""
}

// ec2ErrorField guesses the wizard field an API error is about from its
// kind and message, and what the form launches from (source).
func ec2ErrorField(ae *apiError, source string) string {
	msg := strings.ToLower(ae.Message)
	switch {
	case strings.Contains(msg, "count"):
		return "count"
	case strings.Contains(msg, "instance type"):
		return "instanceType"
	case ae.Kind == fault.KindImage || source != "template" && strings.Contains(msg, "image"):
		return "image"
	case ae.Kind == fault.KindLaunchTemplate || strings.Contains(msg, "launch template"):
		return "template"
	}
	return ""
}
