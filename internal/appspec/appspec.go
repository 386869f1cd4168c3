// Package appspec reads CodeDeploy AppSpec files (appspec.yml) for
// in-place deployments: the hooks, by lifecycle event, that a deployment
// runs on each instance.
//
// The format is CodeDeploy's for EC2 (version 0.0, os linux):
//
//	version: 0.0
//	os: linux
//	hooks:
//	  ApplicationStop:
//	    - location: scripts/stop.sh
//	      timeout: 60
//	  ValidateService:
//	    - location: scripts/check.sh
//	      timeout: 30
//	      runas: deploy
//
// files and permissions are accepted but have nothing to do: an instance's
// working directory is the whole revision (its image version), so there
// is nothing to copy elsewhere, and the revision's files keep the modes
// they have in the source directory. Scripts are run by madang, not by
// CodeDeploy's agent; locations are relative to the revision's root.
package appspec

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FileName is the AppSpec file's name at the root of a revision.
const FileName = "appspec.yml"

// Lifecycle events of an in-place deployment with a load balancer, in
// the order CodeDeploy runs them.
const (
	BeforeBlockTraffic = "BeforeBlockTraffic"
	BlockTraffic       = "BlockTraffic"
	AfterBlockTraffic  = "AfterBlockTraffic"
	ApplicationStop    = "ApplicationStop"
	DownloadBundle     = "DownloadBundle"
	BeforeInstall      = "BeforeInstall"
	Install            = "Install"
	AfterInstall       = "AfterInstall"
	ApplicationStart   = "ApplicationStart"
	ValidateService    = "ValidateService"
	BeforeAllowTraffic = "BeforeAllowTraffic"
	AllowTraffic       = "AllowTraffic"
	AfterAllowTraffic  = "AfterAllowTraffic"
)

// Events lists the in-place lifecycle events in order.
var Events = []string{BeforeBlockTraffic, BlockTraffic, AfterBlockTraffic, ApplicationStop, DownloadBundle,
	BeforeInstall, Install, AfterInstall, ApplicationStart, ValidateService, BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic}

// Reserved reports whether an event is run by the deployment itself and
// takes no scripts.
func Reserved(event string) bool {
	switch event {
	case BlockTraffic, DownloadBundle, Install, AllowTraffic:
		return true
	}
	return false
}

// Timeouts of a hook entry, CodeDeploy's: the default is also the most an
// event may take.
const (
	DefaultTimeout = 3600 * time.Second
	MaxTimeout     = 3600 * time.Second
)

// Hook is one script of a lifecycle event.
type Hook struct {
	// Location is the script's path relative to the revision's root.
	Location string
	// Timeout bounds the script's run (default 3600 s).
	Timeout time.Duration
	// RunAs is the user the script runs as ("" the daemon's user).
	RunAs string
	// Line is where the entry starts in the file.
	Line int
}

// Spec is a parsed AppSpec file.
type Spec struct {
	// Path is the file it was read from.
	Path string
	// Hooks holds each event's scripts, in the file's order.
	Hooks map[string][]Hook
	// Notes say what madang does with accepted sections that need no
	// action (files, permissions).
	Notes []string
}

// Error is one problem in an AppSpec file, at a line.
type Error struct {
	Path  string
	Line  int
	Field string
	Value string
	// Problem says what is wrong; Fix how to make it right.
	Problem string
	Fix     string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: %s: %s", e.Path, e.Line, e.Field, e.Problem)
	if e.Value != "" {
		fmt.Fprintf(&b, " (got %s)", e.Value)
	}
	if e.Fix != "" {
		b.WriteString("; " + e.Fix)
	}
	return b.String()
}

// Errors are the problems of one file; Error lists them one per line.
type Errors []*Error

func (l Errors) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Identity is the user scripts may run as without privileges: runas
// must name it unless the daemon runs as root.
type Identity struct {
	Username string
	Root     bool
}

// CurrentIdentity returns the daemon's user.
func CurrentIdentity() Identity {
	id := Identity{Root: os.Geteuid() == 0}
	if u, err := user.Current(); err == nil {
		id.Username = u.Username
	}
	return id
}

// Load reads and validates the AppSpec file at the root of a revision
// directory. It returns nil and no error when the revision has none.
func Load(root string, who Identity) (*Spec, error) {
	p := filepath.Join(root, FileName)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return Parse(p, data, root, who)
}

// Parse parses and validates an AppSpec file's contents; root is the
// revision directory that script locations are relative to ("": the
// locations are not checked on disk).
func Parse(file string, data []byte, root string, who Identity) (*Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{{Path: file, Line: yamlLine(err), Field: "appspec", Problem: "is not valid YAML: " + err.Error(), Fix: "see CodeDeploy's AppSpec format (version, os, hooks)"}}
	}
	p := &parser{file: file, root: root, who: who, spec: &Spec{Path: file, Hooks: map[string][]Hook{}}}
	if len(doc.Content) == 0 {
		p.add(1, "appspec", "", "is empty", "give at least `version: 0.0` and `os: linux`")
		return nil, p.errs
	}
	p.top(doc.Content[0])
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return p.spec, nil
}

// yamlLine finds the line number in a yaml.v3 error ("yaml: line 3: …").
func yamlLine(err error) int {
	s := err.Error()
	if i := strings.Index(s, "line "); i >= 0 {
		rest := s[i+5:]
		if j := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); j > 0 {
			if n, err := strconv.Atoi(rest[:j]); err == nil {
				return n
			}
		}
	}
	return 1
}

type parser struct {
	file, root string
	who        Identity
	spec       *Spec
	errs       Errors
}

func (p *parser) add(line int, field, value, problem, fix string) {
	p.errs = append(p.errs, &Error{Path: p.file, Line: line, Field: field, Value: value, Problem: problem, Fix: fix})
}

func quote(s string) string { return strconv.Quote(s) }

func (p *parser) top(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, "appspec", "", "is not a mapping", "start the file with `version: 0.0`")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		seen[k.Value] = true
		switch k.Value {
		case "version":
			if v.Value != "0.0" {
				p.add(v.Line, "version", quote(v.Value), "is not an AppSpec version", "use `version: 0.0` (the only version for EC2)")
			}
		case "os":
			if v.Value != "linux" {
				p.add(v.Line, "os", quote(v.Value), "is not supported", "use `os: linux`")
			}
		case "hooks":
			p.hooks(v)
		case "files":
			if v.Kind != yaml.SequenceNode && !isNull(v) {
				p.add(v.Line, "files", "", "is not a list", "list entries of `- source: … destination: …`, or leave files out")
			} else {
				p.spec.Notes = append(p.spec.Notes, "files: not needed; the instance's working directory is the whole revision, nothing is copied elsewhere")
			}
		case "permissions":
			if v.Kind != yaml.SequenceNode && !isNull(v) {
				p.add(v.Line, "permissions", "", "is not a list", "list entries of `- object: …`, or leave permissions out")
			} else {
				p.spec.Notes = append(p.spec.Notes, "permissions: not needed; the revision's files keep the modes they have in the source directory")
			}
		case "file_exists_behavior":
			switch v.Value {
			case "DISALLOW", "OVERWRITE", "RETAIN":
			default:
				p.add(v.Line, "file_exists_behavior", quote(v.Value), "is not DISALLOW, OVERWRITE or RETAIN", "use one of them, or leave it out")
			}
		default:
			p.add(k.Line, k.Value, "", "is not an AppSpec field", "use version, os, files, permissions and hooks")
		}
	}
	for _, f := range []string{"version", "os"} {
		if !seen[f] {
			p.add(n.Line, f, "", "is missing", map[string]string{"version": "add `version: 0.0`", "os": "add `os: linux`"}[f])
		}
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (p *parser) hooks(n *yaml.Node) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, "hooks", "", "is not a mapping", "map each lifecycle event to a list of scripts, e.g. `ApplicationStart: [{location: scripts/start.sh}]`")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ev := k.Value
		field := "hooks." + ev
		switch {
		case Reserved(ev):
			p.add(k.Line, field, "", "is run by the deployment itself and takes no scripts", "put the scripts under "+reservedAround[ev])
			continue
		case !slices.Contains(Events, ev):
			p.add(k.Line, field, "", "is not a lifecycle event", "use one of "+strings.Join(scriptable(), ", "))
			continue
		case p.spec.Hooks[ev] != nil:
			p.add(k.Line, field, "", "is given twice", "list all of the event's scripts under one key")
			continue
		}
		if v.Kind != yaml.SequenceNode {
			p.add(v.Line, field, "", "is not a list", "list the scripts, e.g. `- location: scripts/check.sh`")
			continue
		}
		hooks := []Hook{}
		for j, e := range v.Content {
			if h, ok := p.hook(fmt.Sprintf("%s[%d]", field, j), e); ok {
				hooks = append(hooks, h)
			}
		}
		p.spec.Hooks[ev] = hooks
	}
}

// reservedAround names the events around each reserved one.
var reservedAround = map[string]string{
	BlockTraffic:   "BeforeBlockTraffic or AfterBlockTraffic",
	DownloadBundle: "ApplicationStop or BeforeInstall",
	Install:        "BeforeInstall or AfterInstall",
	AllowTraffic:   "BeforeAllowTraffic or AfterAllowTraffic",
}

func scriptable() []string {
	var out []string
	for _, e := range Events {
		if !Reserved(e) {
			out = append(out, e)
		}
	}
	return out
}

func (p *parser) hook(field string, n *yaml.Node) (Hook, bool) {
	h := Hook{Timeout: DefaultTimeout, Line: n.Line}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, field, "", "is not a mapping", "give `location:` (and optionally `timeout:` and `runas:`)")
		return h, false
	}
	bad := len(p.errs)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := field + "." + k.Value
		switch k.Value {
		case "location":
			h.Location = v.Value
			p.location(v.Line, f, v.Value)
		case "timeout":
			t, err := strconv.Atoi(v.Value)
			switch {
			case err != nil:
				p.add(v.Line, f, quote(v.Value), "is not a number of seconds", "give seconds from 1 to 3600")
			case t < 1 || time.Duration(t)*time.Second > MaxTimeout:
				p.add(v.Line, f, v.Value, "is out of range 1..3600", "give seconds from 1 to 3600 (CodeDeploy's limit per event)")
			default:
				h.Timeout = time.Duration(t) * time.Second
			}
		case "runas":
			h.RunAs = v.Value
			if v.Value != "" && !p.who.Root && v.Value != p.who.Username {
				p.add(v.Line, f, quote(v.Value), fmt.Sprintf("is another user than the daemon's (%s), which is not root", p.who.Username),
					"leave runas out (scripts run as "+p.who.Username+"), or run the daemon as root")
			}
		default:
			p.add(k.Line, f, "", "is not a hook field", "use location, timeout and runas")
		}
	}
	if h.Location == "" && !hasKey(n, "location") {
		p.add(n.Line, field+".location", "", "is missing", "give the script's path relative to the revision's root")
	}
	return h, len(p.errs) == bad
}

func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// location checks a script location: relative, inside the revision, an
// existing regular file.
func (p *parser) location(line int, field, loc string) {
	clean := path.Clean(strings.TrimPrefix(loc, "/"))
	switch {
	case loc == "":
		p.add(line, field, `""`, "is empty", "give the script's path relative to the revision's root")
		return
	case clean == ".." || strings.HasPrefix(clean, "../"):
		p.add(line, field, quote(loc), "is outside the revision", "give a path inside the source directory")
		return
	}
	if p.root == "" {
		return
	}
	st, err := os.Stat(filepath.Join(p.root, filepath.FromSlash(clean)))
	switch {
	case err != nil:
		p.add(line, field, quote(loc), "does not exist in the revision", "add the script to the source directory, or fix the path (relative to "+p.root+")")
	case !st.Mode().IsRegular():
		p.add(line, field, quote(loc), "is not a file", "name a script file")
	}
}

// Script returns the path of a hook's script under a revision root.
func (h Hook) Script(root string) string {
	return filepath.Join(root, filepath.FromSlash(path.Clean(strings.TrimPrefix(h.Location, "/"))))
}
