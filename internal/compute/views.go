package compute

import (
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/instancetype"
	"github.com/madang-dev/madang/internal/procstat"
)

// View is an instance with its live process facts, for ps and describe.
// Its Restarts (from Instance) include restarts the record has not caught
// up with yet.
type View struct {
	Instance
	Phase         string         `json:"phase,omitempty"`
	PID           int            `json:"pid,omitempty"`
	UptimeSeconds float64        `json:"uptimeSeconds,omitempty"`
	CPUPercent    float64        `json:"cpuPercent"`
	MemoryBytes   uint64         `json:"memoryBytes"`
	LastExit      *ExitView      `json:"lastExit,omitempty"`
	LastLines     []string       `json:"lastLines,omitempty"`
	Limits        *LimitsView    `json:"limits,omitempty"`
	NextRestartAt time.Time      `json:"nextRestartAt,omitzero"`
	Extra         map[string]any `json:"-"`
}

// ExitView is how the last run ended.
type ExitView struct {
	Code   int       `json:"code"`
	Signal string    `json:"signal,omitempty"`
	At     time.Time `json:"at"`
}

// LimitsView says which instance type limits apply.
type LimitsView struct {
	VCPUs          float64 `json:"vcpus"`
	MemoryMiB      int64   `json:"memoryMiB"`
	CPUEnforced    bool    `json:"cpuEnforced"`
	MemoryEnforced bool    `json:"memoryEnforced"`
	Note           string  `json:"note,omitempty"`
}

// Instances returns every instance with live facts, sorted by group and
// launch time. Terminated instances are included.
func (s *Service) Instances() []View {
	return s.instanceViews(nil, true)
}

// Listing is Instances without the CPU and memory samples, so it makes no
// pass over /proc: for listings that do not show them (EC2's
// DescribeInstances of a thousand instances).
func (s *Service) Listing() []View {
	return s.instanceViews(nil, false)
}

// AppendListing appends Listing's views to dst and returns the extended
// slice, so that a caller that lists often can reuse one (a view is half
// a kilobyte: a thousand are garbage worth avoiding on every call).
func (s *Service) AppendListing(dst []View) []View {
	return s.instanceViews(dst, false)
}

func (s *Service) instanceViews(dst []View, sample bool) []View {
	// Sort the records by pointer (a record is hundreds of bytes), then
	// copy each once, into its view.
	s.mu.Lock()
	ptrs := make([]*Instance, 0, len(s.instances))
	for _, in := range s.instances {
		ptrs = append(ptrs, in)
	}
	slices.SortFunc(ptrs, func(a, b *Instance) int {
		if a.Group != b.Group {
			return strings.Compare(a.Group, b.Group)
		}
		if c := a.LaunchTime.Compare(b.LaunchTime); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	base := len(dst)
	dst = slices.Grow(dst, len(ptrs))
	for _, in := range ptrs {
		dst = append(dst, View{Instance: *in})
	}
	s.mu.Unlock()
	out := dst[base:]
	var reqs []procstat.GroupRequest
	var at map[string]int
	if sample {
		at = make(map[string]int, len(out))
	}
	for i := range out {
		if pgid := s.addStatus(&out[i]); sample && pgid > 0 {
			at[out[i].ID] = i
			reqs = append(reqs, procstat.GroupRequest{Key: out[i].ID, PGID: pgid})
		}
	}
	// One pass over /proc for every running instance, not one each.
	if sample && len(reqs) > 0 {
		groups, err := s.listSample.SampleGroups(reqs)
		if err == nil {
			for _, g := range groups {
				if i, ok := at[g.Key]; ok {
					out[i].CPUPercent, out[i].MemoryBytes = g.CPUPercent, g.RSSBytes
				}
			}
		}
	}
	return dst
}

// Describe returns one instance with live facts and limits.
func (s *Service) Describe(id string) (View, error) {
	in, err := s.get(id)
	if err != nil {
		return View{}, err
	}
	v := s.view(in)
	if t, err := instancetype.Lookup(in.InstanceType); err == nil {
		e := s.Enforcement(id)
		v.Limits = &LimitsView{VCPUs: t.VCPUs, MemoryMiB: t.MemoryMiB, CPUEnforced: e.CPU, MemoryEnforced: e.Memory, Note: e.Reason}
	}
	return v, nil
}

func (s *Service) view(in Instance) View {
	v, pgid := s.viewOf(in)
	if pgid > 0 {
		if smp, err := s.sample.SampleGroup(in.ID, pgid); err == nil {
			v.CPUPercent = smp.CPUPercent
			v.MemoryBytes = smp.RSSBytes
		}
	}
	return v
}

// viewOf returns an instance's view without its CPU and memory, and the
// process group to sample them from (0: none running).
func (s *Service) viewOf(in Instance) (View, int) {
	v := View{Instance: in}
	pgid := s.addStatus(&v)
	return v, pgid
}

// addStatus fills in v's supervisor facts and returns the process group to
// sample its CPU and memory from (0: none running).
func (s *Service) addStatus(v *View) int {
	st, ok := s.sup.Status(v.ID)
	if !ok {
		return 0
	}
	v.Phase = string(st.Phase)
	v.Restarts = max(v.Restarts, st.Restarts)
	v.NextRestartAt = st.NextRestartAt
	v.LastLines = st.LastLines
	if st.LastExit != nil {
		v.LastExit = &ExitView{Code: st.LastExit.Code, Signal: st.LastExit.Signal, At: st.LastExit.At}
	}
	if st.Phase == "running" || st.Phase == "starting" {
		v.PID = st.PID
		if !st.StartedAt.IsZero() {
			v.UptimeSeconds = s.opts.Now().Sub(st.StartedAt).Seconds()
		}
		return st.PGID
	}
	return 0
}

// LogPath returns an instance's log file.
func (s *Service) LogPath(id string) (string, error) {
	in, err := s.get(id)
	if err != nil {
		return "", err
	}
	return filepath.Join(in.Dir, "logs", "instance.log"), nil
}

// Instance returns one stored instance.
func (s *Service) Instance(id string) (Instance, error) { return s.get(id) }
