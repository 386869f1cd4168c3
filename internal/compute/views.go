package compute

import (
	"github.com/madang-dev/madang/internal/procstat"
	"path/filepath"
	"sort"
	"time"

	"github.com/madang-dev/madang/internal/instancetype"
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
	return s.instanceViews(true)
}

// Listing is Instances without the CPU and memory samples, so it makes no
// pass over /proc: for listings that do not show them (EC2's
// DescribeInstances of a thousand instances).
func (s *Service) Listing() []View {
	return s.instanceViews(false)
}

func (s *Service) instanceViews(sample bool) []View {
	s.mu.Lock()
	ins := make([]Instance, 0, len(s.instances))
	for _, in := range s.instances {
		ins = append(ins, *in)
	}
	s.mu.Unlock()
	sort.Slice(ins, func(i, j int) bool {
		if ins[i].Group != ins[j].Group {
			return ins[i].Group < ins[j].Group
		}
		if !ins[i].LaunchTime.Equal(ins[j].LaunchTime) {
			return ins[i].LaunchTime.Before(ins[j].LaunchTime)
		}
		return ins[i].ID < ins[j].ID
	})
	out := make([]View, 0, len(ins))
	var reqs []procstat.GroupRequest
	at := map[string]int{}
	for _, in := range ins {
		v, pgid := s.viewOf(in)
		if pgid > 0 {
			at[in.ID] = len(out)
			reqs = append(reqs, procstat.GroupRequest{Key: in.ID, PGID: pgid})
		}
		out = append(out, v)
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
	return out
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
	st, ok := s.sup.Status(in.ID)
	if !ok {
		return v, 0
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
		return v, st.PGID
	}
	return v, 0
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
