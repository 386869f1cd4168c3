package compute

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/instancetype"
)

// Limits checked by the validators.
const (
	// MaxNameLength is the longest image, launch template or instance group
	// name.
	MaxNameLength = 63
	// MaxCount is the most instances one instance group may ask for.
	MaxCount = 100
	// MaxTagKeyLength and MaxTagValueLength are AWS's tag limits.
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
)

const nameFix = "use 1 to 63 lowercase letters, digits and hyphens, starting with a letter or digit, such as \"web-1\""

// ValidName reports whether name is a valid image, launch template or
// instance group name: 1–63 lowercase letters, digits and hyphens,
// starting with a letter or digit.
func ValidName(name string) bool {
	if name == "" || len(name) > MaxNameLength || name[0] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func checkName(errs *fielderr.List, name string) {
	switch {
	case name == "":
		errs.Add("name", nil, "is required", nameFix)
	case !ValidName(name):
		errs.Add("name", name, "is not a valid name", nameFix)
	}
}

func checkPort(errs *fielderr.List, path string, port int) {
	switch {
	case port == 0:
		errs.Add(path, nil, "is required", "give the TCP port the application listens on, from 1 to 65535")
	case port < 1 || port > 65535:
		errs.Add(path, port, "is out of range", "use a port from 1 to 65535")
	}
}

// Validate checks the fields of an image spec on their own; whether the
// source directory exists is checked by ResolveSource.
func (s *ImageSpec) Validate() fielderr.List {
	var errs fielderr.List
	checkName(&errs, s.Name)
	if strings.TrimSpace(s.Source) == "" {
		errs.Add("source", nil, "is required", "give the application directory, absolute or relative to the stack file, such as ./app")
	} else if strings.ContainsRune(s.Source, 0) {
		errs.Add("source", s.Source, "contains a NUL byte", "give a plain directory path")
	}
	if strings.TrimSpace(s.Command) == "" {
		errs.Add("command", nil, "is required", "give the start command, such as \"node server.js\"")
	}
	checkPort(&errs, "port", s.Port)
	return errs
}

// ResolveSource makes a relative Source absolute by joining it to dir (the
// stack file's directory) and checks that it names an existing directory.
// With an empty dir, Source must already be absolute. An empty Source is
// left for Validate to report.
func (s *ImageSpec) ResolveSource(dir string) fielderr.List {
	var errs fielderr.List
	if strings.TrimSpace(s.Source) == "" {
		return nil
	}
	given := s.Source
	if dir == "" && !filepath.IsAbs(given) {
		errs.Add("source", given, "is a relative path with no stack file to resolve it against", "give an absolute path")
		return errs
	}
	abs, err := ResolveDir(dir, given)
	if err != nil {
		errs.Add("source", given, err.Error(), "give an existing application directory, absolute or relative to the stack file")
		return errs
	}
	s.Source = abs
	return nil
}

// ResolveDir joins a relative path to base, cleans it and checks that it
// is an existing directory. The error text is a short lowercase problem
// such as "directory /x/app does not exist".
func ResolveDir(base, path string) (string, error) {
	p := path
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	p = filepath.Clean(p)
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", errors.New("directory " + p + " does not exist")
	case err != nil:
		return "", fmt.Errorf("cannot read directory %s: %w", p, err)
	case !fi.IsDir():
		return "", errors.New(p + " is a file, not a directory")
	}
	return p, nil
}

// reservedEnv are the variables madang sets in every instance's
// environment, with the reason a launch template may not set them.
func reservedEnv(name string) (reason string, reserved bool) {
	switch name {
	case "PORT":
		return "madang sets PORT to the port the instance must listen on (each instance gets its own address)", true
	case "HOST":
		return "madang sets HOST to the instance's private address", true
	case "INSTANCE_ID", "MADANG_INSTANCE_ID":
		return "madang sets " + name + " to the instance's id", true
	case "INSTANCE_DIR":
		return "madang sets INSTANCE_DIR to the instance's working directory", true
	}
	return "", false
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Validate checks launch template data on its own (the image's existence
// is checked where images are known). Zero values that ApplyDefaults fills
// are accepted.
func (d *LaunchTemplateData) Validate() fielderr.List {
	var errs fielderr.List
	if strings.TrimSpace(d.Image) == "" {
		errs.Add("image", nil, "is required", "name the image to run")
	}
	if d.InstanceType != "" {
		if _, err := instancetype.Lookup(d.InstanceType); err != nil {
			errs.Add("instanceType", d.InstanceType, "is not a known instance type",
				"use one of "+strings.Join(instancetype.Names(), ", ")+joinHint(fielderr.DidYouMean(d.InstanceType, instancetype.Names())))
		}
	}
	for _, k := range sortedKeys(d.Env) {
		path := "env." + k
		if !validEnvName(k) {
			errs.Add(path, k, "is not a valid environment variable name", "use letters, digits and underscores, not starting with a digit, such as GREETING")
			continue
		}
		if reason, ok := reservedEnv(k); ok {
			errs.Add(path, k, "cannot be set by a launch template", reason+"; read it in the application instead of setting it")
			continue
		}
		if strings.ContainsRune(d.Env[k], 0) {
			errs.Add(path, d.Env[k], "contains a NUL byte", "remove it; environment values cannot hold NUL")
		}
	}
	errs = append(errs, d.Supervision.validate()...)
	return errs
}

func (s *SupervisionSpec) validate() fielderr.List {
	var errs fielderr.List
	switch s.Restart {
	case "", RestartAlways, RestartOnFailure, RestartNever:
	default:
		errs.Add("supervision.restart", string(s.Restart), "is not a restart policy", "use always, on-failure or never")
	}
	if s.MaxRestarts < 0 {
		errs.Add("supervision.maxRestarts", s.MaxRestarts, "must not be negative", "use a number of restarts such as 15")
	}
	durations := []struct {
		path string
		d    Duration
	}{
		{"supervision.minUptime", s.MinUptime},
		{"supervision.backoffInitial", s.BackoffInitial},
		{"supervision.backoffMax", s.BackoffMax},
		{"supervision.backoffResetAfter", s.BackoffResetAfter},
		{"supervision.killTimeout", s.KillTimeout},
		{"supervision.readiness.timeout", s.Readiness.Timeout},
	}
	for _, x := range durations {
		if x.d < 0 {
			errs.Add(x.path, x.d, "must be positive", "use a duration such as 5s or 250ms, or leave it out for the default")
		}
	}
	if s.BackoffInitial > 0 && s.BackoffMax > 0 && s.BackoffMax < s.BackoffInitial {
		errs.Add("supervision.backoffMax", s.BackoffMax, "is shorter than supervision.backoffInitial ("+s.BackoffInitial.String()+")",
			"make backoffMax at least as long as backoffInitial")
	}
	if s.StopSignal != "" {
		if _, ok := normalizeSignal(s.StopSignal); !ok {
			errs.Add("supervision.stopSignal", s.StopSignal, "is not a stop signal", "use "+stopSignalNames)
		}
	}
	if p := s.Readiness.HTTPPath; p != "" && !strings.HasPrefix(p, "/") {
		errs.Add("supervision.readiness.httpPath", p, "must start with \"/\"", "write a path such as /health")
	}
	return errs
}

// Validate checks a launch template spec: its name and its data.
func (s *LaunchTemplateSpec) Validate() fielderr.List {
	var errs fielderr.List
	checkName(&errs, s.Name)
	if s.DefaultVersion < 0 {
		errs.Add("defaultVersion", s.DefaultVersion, "is negative", "use a version number, or leave it out to follow the newest version")
	}
	errs = append(errs, s.LaunchTemplateData.Validate()...)
	return errs
}

// Validate checks an instance group spec on its own (the launch template's
// existence is checked where launch templates are known).
func (s *InstanceGroupSpec) Validate() fielderr.List {
	var errs fielderr.List
	checkName(&errs, s.Name)
	if strings.TrimSpace(s.LaunchTemplate) == "" {
		errs.Add("launchTemplate", nil, "is required", "name the launch template to launch instances from")
	}
	switch v := s.Version; v {
	case "", "$Latest", "$Default":
	default:
		if n, err := strconv.Atoi(v); err != nil || n < 1 || strings.HasPrefix(v, "+") {
			errs.Add("version", v, "is not a launch template version", "use $Latest, $Default or a version number such as 2")
		}
	}
	if s.Count != nil && (*s.Count < 0 || *s.Count > MaxCount) {
		errs.Add("count", *s.Count, "is out of range", "use a count from 0 to "+strconv.Itoa(MaxCount))
	}
	if s.MaxUnavailable != nil && (*s.MaxUnavailable < 1 || *s.MaxUnavailable > MaxCount) {
		errs.Add("maxUnavailable", *s.MaxUnavailable, "is out of range",
			"use 1 (reboot one instance at a time while the others serve) up to "+strconv.Itoa(MaxCount))
	}
	for _, k := range sortedKeys(s.Tags) {
		path := "tags." + k
		v := s.Tags[k]
		lower := strings.ToLower(k)
		switch {
		case strings.TrimSpace(k) == "":
			errs.Add("tags", k, "has an empty tag key", "give every tag a key")
		case len(k) > MaxTagKeyLength:
			errs.Add(path, k, "tag key is longer than 128 characters", "shorten the key")
		case strings.HasPrefix(lower, "aws:"), strings.HasPrefix(lower, "madang:"):
			errs.Add(path, k, "uses a reserved prefix", "tag keys starting with aws: or madang: are reserved; choose another key")
		case k == "Name":
			errs.Add(path, k, "is set by madang", "every instance's Name tag is its group's name ("+strconv.Quote(s.Name)+"); remove this tag or rename the group")
		case len(v) > MaxTagValueLength:
			errs.Add(path, v, "tag value is longer than 256 characters", "shorten the value")
		}
	}
	return errs
}

func joinHint(h string) string {
	if h == "" {
		return ""
	}
	return "; " + h
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
