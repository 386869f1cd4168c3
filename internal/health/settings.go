package health

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Settings are a target group's active health-check settings. Zero fields
// mean AWS's defaults (see [DefaultSettings]), except Enabled: the zero
// Settings have checks disabled.
type Settings struct {
	// Enabled turns active checks on. With checks off, targets are
	// unavailable with reason Target.HealthCheckDisabled and receive
	// traffic.
	Enabled bool
	// Protocol is "HTTP" (default).
	Protocol string
	// Path is the request path, default "/"; it may carry a query.
	Path string
	// Port is the port checked; 0 means the traffic port (the target's
	// own port).
	Port int
	// Interval is the time between checks of one target (default 30s).
	Interval time.Duration
	// Timeout bounds one check (default 5s); it must be less than
	// Interval.
	Timeout time.Duration
	// HealthyThreshold is the number of passing checks in a row that make
	// an unhealthy target healthy (default 5). A new target needs one.
	HealthyThreshold int
	// UnhealthyThreshold is the number of failing checks in a row that
	// make a target unhealthy (default 2).
	UnhealthyThreshold int
	// Matcher holds the passing status codes (default 200).
	Matcher Matcher
}

// AWS's defaults for an HTTP target group.
const (
	DefaultProtocol           = "HTTP"
	DefaultPath               = "/"
	DefaultInterval           = 30 * time.Second
	DefaultTimeout            = 5 * time.Second
	DefaultHealthyThreshold   = 5
	DefaultUnhealthyThreshold = 2
)

// maxThreshold is the largest threshold AWS accepts.
const maxThreshold = 10

// DefaultSettings returns AWS's default health check: enabled, HTTP GET /
// on the traffic port every 30s with a 5s timeout, healthy after 5 passes,
// unhealthy after 2 failures, expecting 200.
func DefaultSettings() Settings {
	return Settings{
		Enabled:            true,
		Protocol:           DefaultProtocol,
		Path:               DefaultPath,
		Interval:           DefaultInterval,
		Timeout:            DefaultTimeout,
		HealthyThreshold:   DefaultHealthyThreshold,
		UnhealthyThreshold: DefaultUnhealthyThreshold,
	}
}

// withDefaults fills zero fields with AWS's defaults.
func (s Settings) withDefaults() Settings {
	if s.Protocol == "" {
		s.Protocol = DefaultProtocol
	}
	if s.Path == "" {
		s.Path = DefaultPath
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.HealthyThreshold == 0 {
		s.HealthyThreshold = DefaultHealthyThreshold
	}
	if s.UnhealthyThreshold == 0 {
		s.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	return s
}

// Validate checks the settings after applying defaults to zero fields. The
// error names each bad field, its value and the fix. Validate enforces
// what the checker needs; the stricter AWS ranges (interval 5–300 s and so
// on) belong to the control plane that reads user input.
func (s Settings) Validate() error {
	s = s.withDefaults()
	var errs []error
	if !strings.EqualFold(s.Protocol, "HTTP") {
		errs = append(errs, fmt.Errorf("health check protocol %q is not supported; use HTTP", s.Protocol))
	}
	if !strings.HasPrefix(s.Path, "/") {
		errs = append(errs, fmt.Errorf("health check path %q must start with \"/\", e.g. \"/health\"", s.Path))
	} else if _, err := url.ParseRequestURI(s.Path); err != nil || strings.ContainsAny(s.Path, " \t\r\n#") {
		errs = append(errs, fmt.Errorf("health check path %q is not a valid request path; percent-encode spaces and special characters", s.Path))
	}
	if s.Port < 0 || s.Port > 65535 {
		errs = append(errs, fmt.Errorf("health check port %d is out of range; use 1–65535, or 0 for the traffic port", s.Port))
	}
	if s.Interval < 0 {
		errs = append(errs, fmt.Errorf("health check interval %v is negative; use a positive duration such as 30s", s.Interval))
	}
	if s.Timeout < 0 {
		errs = append(errs, fmt.Errorf("health check timeout %v is negative; use a positive duration such as 5s", s.Timeout))
	}
	if s.Interval > 0 && s.Timeout > 0 && s.Timeout >= s.Interval {
		errs = append(errs, fmt.Errorf("health check timeout %v must be less than the interval %v; lower the timeout or raise the interval", s.Timeout, s.Interval))
	}
	if s.HealthyThreshold < 1 || s.HealthyThreshold > maxThreshold {
		errs = append(errs, fmt.Errorf("healthy threshold %d is out of range; use 1–%d (AWS default %d)", s.HealthyThreshold, maxThreshold, DefaultHealthyThreshold))
	}
	if s.UnhealthyThreshold < 1 || s.UnhealthyThreshold > maxThreshold {
		errs = append(errs, fmt.Errorf("unhealthy threshold %d is out of range; use 1–%d (AWS default %d)", s.UnhealthyThreshold, maxThreshold, DefaultUnhealthyThreshold))
	}
	return errors.Join(errs...)
}

// sameProbe reports whether s and o send the same check and judge it the
// same way, so that results of one stay valid under the other.
func (s Settings) sameProbe(o Settings) bool {
	return s.Enabled == o.Enabled &&
		strings.EqualFold(s.Protocol, o.Protocol) &&
		s.Path == o.Path &&
		s.Port == o.Port &&
		s.Timeout == o.Timeout &&
		s.Matcher.Equal(o.Matcher)
}
