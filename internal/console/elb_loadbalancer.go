package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/madang-dev/madang/internal/api/v1"
)

// lbCheckTimeout bounds the traffic check's request.
const lbCheckTimeout = 3 * time.Second

// lbPage is the data of a load balancer's page.
type lbPage struct {
	LB           v1.LoadBalancer
	Address      string
	Listeners    []lbListener
	TargetGroups []string
	// Check is the traffic check's result, when one was sent.
	Check *lbCheck
	Error *elbError
}

// lbListener is one listener with its rules, as shown.
type lbListener struct {
	Port     int
	Protocol string
	URL      string
	Default  []lbAction
	// DefaultTG is the default action's forward target group (for the
	// change form), DefaultType its type.
	DefaultTG, DefaultType string
	Rules                  []lbRule
}

// lbRule is one rule, as shown and as its edit form's values.
type lbRule struct {
	Priority   int
	Conditions []string
	Actions    []lbAction
	// CondField, CondValues and ForwardTG prefill the edit form.
	CondField, CondValues, ForwardTG string
}

// lbAction is an action as shown: its type and the forward's weighted
// target groups or a redirect's or fixed response's summary.
type lbAction struct {
	Type     string
	Forwards []lbForward
	Text     string
}

// lbForward is a forward's target group and weight.
type lbForward struct {
	Name   string
	Weight int
}

// lbCheck is a traffic check's result.
type lbCheck struct {
	Port       int
	URL        string
	Status     int
	StatusText string
	Instance   string
	LatencyMS  float64
	Err        string
}

func (s *Server) elbLoadBalancer(w http.ResponseWriter, r *http.Request) {
	p, err := s.lbPageData(r.Context(), r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.page(w, r, "elb/load-balancer", p.LB.Spec.Name, p)
}

// lbPageData reads a load balancer's page from the API.
func (s *Server) lbPageData(ctx context.Context, name string) (*lbPage, error) {
	lb, err := s.elbFindLoadBalancer(ctx, name)
	if err != nil {
		return nil, err
	}
	tgs, err := s.elbTargetGroupNames(ctx)
	if err != nil {
		return nil, err
	}
	p := &lbPage{LB: lb, Address: elbAddress(lb), TargetGroups: tgs}
	for _, l := range lb.Spec.Listeners {
		ll := lbListener{Port: l.Port, Protocol: listenerProtocol(l), URL: elbListenerURL(lb, l), Default: lbActions(l.DefaultActions)}
		if n := len(l.DefaultActions); n > 0 {
			ll.DefaultType, ll.DefaultTG = l.DefaultActions[n-1].Type, forwardTarget(l.DefaultActions)
		}
		for _, ru := range l.Rules {
			ll.Rules = append(ll.Rules, lbRuleOf(ru))
		}
		p.Listeners = append(p.Listeners, ll)
	}
	return p, nil
}

func lbRuleOf(ru v1.Rule) lbRule {
	out := lbRule{Priority: ru.Priority, Actions: lbActions(ru.Actions), ForwardTG: forwardTarget(ru.Actions)}
	for _, c := range ru.Conditions {
		text := c.Field + ": " + strings.Join(c.Values, ", ")
		if c.HTTPHeaderName != "" {
			text = c.Field + " " + c.HTTPHeaderName + ": " + strings.Join(c.Values, ", ")
		}
		for _, kv := range c.QueryString {
			text += " " + kv.Key + "=" + kv.Value
		}
		out.Conditions = append(out.Conditions, text)
		if out.CondField == "" && (c.Field == "path-pattern" || c.Field == "host-header") {
			out.CondField, out.CondValues = c.Field, strings.Join(c.Values, ", ")
		}
	}
	return out
}

// forwardTarget is the first target group the actions forward to.
func forwardTarget(actions []v1.Action) string {
	for _, a := range actions {
		if a.TargetGroup != "" {
			return a.TargetGroup
		}
		if a.Forward != nil && len(a.Forward.TargetGroups) > 0 {
			return a.Forward.TargetGroups[0].Name
		}
	}
	return ""
}

// lbActions describes actions for the page.
func lbActions(actions []v1.Action) []lbAction {
	out := make([]lbAction, 0, len(actions))
	for _, a := range actions {
		la := lbAction{Type: a.Type}
		switch {
		case a.TargetGroup != "":
			la.Forwards = []lbForward{{Name: a.TargetGroup, Weight: 1}}
		case a.Forward != nil:
			for _, t := range a.Forward.TargetGroups {
				w := 1
				if t.Weight != nil {
					w = *t.Weight
				}
				la.Forwards = append(la.Forwards, lbForward{Name: t.Name, Weight: w})
			}
		case a.Redirect != nil:
			rd := a.Redirect
			la.Text = fmt.Sprintf("%s → %s://%s:%s%s?%s", rd.StatusCode, def(rd.Protocol, "#{protocol}"), def(rd.Host, "#{host}"),
				def(rd.Port, "#{port}"), def(rd.Path, "/#{path}"), def(rd.Query, "#{query}"))
		case a.FixedResponse != nil:
			fr := a.FixedResponse
			parts := []string{fr.StatusCode}
			if fr.ContentType != "" {
				parts = append(parts, fr.ContentType)
			}
			if fr.MessageBody != "" {
				parts = append(parts, strconv.Quote(fr.MessageBody))
			}
			la.Text = strings.Join(parts, " ")
		case a.Static != nil:
			la.Text = a.Static.Root
		}
		out = append(out, la)
	}
	return out
}

func def(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// elbCheck sends a test request to one of the load balancer's own
// listeners (?port=N) from the server, at the listener's loopback address
// only, and answers with the result (a fragment for htmx, else the page).
func (s *Server) elbCheck(w http.ResponseWriter, r *http.Request) {
	p, err := s.lbPageData(r.Context(), r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	port, err := strconv.Atoi(r.URL.Query().Get("port"))
	var url string
	for _, l := range p.Listeners {
		if err == nil && l.Port == port {
			url = l.URL
		}
	}
	l := langOf(r)
	status := http.StatusOK
	switch ip := net.ParseIP(p.Address); {
	case url == "":
		p.Check, status = &lbCheck{Port: port, Err: l.T("elb.check.err.port")}, http.StatusBadRequest
	case ip == nil || !ip.IsLoopback():
		p.Check, status = &lbCheck{Port: port, URL: url, Err: l.T("elb.check.err.address")}, http.StatusBadRequest
	default:
		p.Check = sendCheck(r.Context(), port, url)
	}
	if r.Header.Get("HX-Request") == "true" {
		q := r.URL.Query()
		q.Set("fragment", "frag-check")
		r.URL.RawQuery = q.Encode()
	}
	s.renderStatus(w, r, status, "elb/load-balancer", p.LB.Spec.Name, p)
}

// instanceID finds an instance id in an app's answer.
//
// Regular expressions are compiled on first use rather than at every
// start of the binary (each instance shim, each CLI command).
var instanceID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\bi-[0-9a-f]{8,17}\b`) })

// sendCheck GETs url with lbCheckTimeout, without following redirects.
func sendCheck(ctx context.Context, port int, url string) *lbCheck {
	c := &lbCheck{Port: port, URL: url}
	ctx, cancel := context.WithTimeout(ctx, lbCheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/", nil)
	if err != nil {
		c.Err = err.Error()
		return c
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := time.Now()
	resp, err := hc.Do(req)
	c.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			c.Err = fmt.Sprintf("no answer within %s", lbCheckTimeout)
		} else {
			c.Err = err.Error()
		}
		return c
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	c.Status, c.StatusText = resp.StatusCode, http.StatusText(resp.StatusCode)
	c.Instance = resp.Header.Get("X-Instance-Id")
	if c.Instance == "" {
		c.Instance = instanceID().FindString(string(body))
	}
	return c
}
