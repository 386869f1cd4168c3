package cgroup

import (
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// layout writes files (path -> content) under a new temporary root and
// creates the symlinks (link -> target).
func layout(t *testing.T, files map[string]string, links map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range links {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var (
	v2Files = map[string]string{
		"cgroup.controllers":     "cpuset cpu io memory hugetlb pids rdma misc\n",
		"cgroup.subtree_control": "",
		"cgroup.procs":           "1\n",
	}
	v1Files = map[string]string{
		"cpu/cpu.cfs_quota_us":           "-1\n",
		"cpu/cpu.cfs_period_us":          "100000\n",
		"cpu/cgroup.procs":               "1\n",
		"memory/memory.limit_in_bytes":   "9223372036854771712\n",
		"memory/cgroup.procs":            "1\n",
		"pids/pids.max":                  "max\n",
		"unified/cgroup.controllers":     "",
		"unified/cgroup.subtree_control": "",
	}
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string]string
		links       map[string]string
		missingRoot bool
		wantVersion Version
		wantCPU     bool
		wantMemory  bool
		wantReason  string // substring; "" means the reason must be empty
	}{
		{name: "v2 with cpu and memory", files: v2Files, wantVersion: V2, wantCPU: true, wantMemory: true},
		{
			name:        "v2 without the memory controller",
			files:       map[string]string{"cgroup.controllers": "cpu io pids\n"},
			wantVersion: V2, wantCPU: true,
			wantReason: "cgroup memory controller not available: not listed in",
		},
		{name: "v1 cpu and memory", files: v1Files, wantVersion: V1, wantCPU: true, wantMemory: true},
		{
			name:        "v1 without memory",
			files:       map[string]string{"cpu/cpu.cfs_quota_us": "-1\n"},
			wantVersion: V1, wantCPU: true,
			wantReason: "cgroup memory controller not available: ROOT/memory not mounted",
		},
		{
			name:        "v1 with cpu,cpuacct joined and a cpu symlink",
			files:       map[string]string{"cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "memory/memory.limit_in_bytes": "1\n"},
			links:       map[string]string{"cpu": "cpu,cpuacct"},
			wantVersion: V1, wantCPU: true, wantMemory: true,
		},
		{
			name:        "nothing mounted",
			files:       map[string]string{"README": "tmpfs only\n"},
			wantVersion: Unsupported,
			wantReason:  "no cgroup v2 (no ROOT/cgroup.controllers) and no cgroup v1 cpu or memory controller under ROOT",
		},
		{
			name:        "root missing",
			missingRoot: true,
			wantVersion: Unsupported,
			wantReason:  "cgroup root ROOT does not exist",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := layout(t, tc.files, tc.links)
			if tc.missingRoot {
				root = filepath.Join(root, "absent")
			}
			h := Detect(root, discard())
			e := h.Enforcement()
			if h.Version() != tc.wantVersion || e.CPU != tc.wantCPU || e.Memory != tc.wantMemory {
				t.Errorf("Detect = %s cpu=%v memory=%v, want %s cpu=%v memory=%v (reason %q)",
					h.Version(), e.CPU, e.Memory, tc.wantVersion, tc.wantCPU, tc.wantMemory, e.Reason)
			}
			want := strings.ReplaceAll(tc.wantReason, "ROOT", root)
			if (want == "") != (e.Reason == "") || !strings.Contains(e.Reason, want) {
				t.Errorf("Reason = %q, want %q", e.Reason, want)
			}
			if h.Root() != root {
				t.Errorf("Root() = %q, want %q", h.Root(), root)
			}
		})
	}
}

func TestCreateV2Files(t *testing.T) {
	tests := []struct {
		name       string
		limits     Limits
		wantCPUMax string
		wantMemMax string
		wantSwap   string
	}{
		{"half a core and 64 MiB", Limits{CPUs: 0.5, MemoryBytes: 64 << 20}, "50000 100000", "67108864", "0"},
		{"two cores and 1 GiB", Limits{CPUs: 2, MemoryBytes: 1 << 30}, "200000 100000", "1073741824", "0"},
		{"unlimited", Limits{}, "max 100000", "max", "max"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := layout(t, v2Files, nil)
			h := Detect(root, discard())
			g, err := h.Create("madang/i-0abc", tc.limits)
			if err != nil {
				t.Fatal(err)
			}
			leaf := filepath.Join(root, "madang", "i-0abc")
			if got := read(t, filepath.Join(leaf, "cpu.max")); got != tc.wantCPUMax {
				t.Errorf("cpu.max = %q, want %q", got, tc.wantCPUMax)
			}
			if got := read(t, filepath.Join(leaf, "memory.max")); got != tc.wantMemMax {
				t.Errorf("memory.max = %q, want %q", got, tc.wantMemMax)
			}
			if _, err := os.Stat(filepath.Join(leaf, "memory.swap.max")); !os.IsNotExist(err) {
				t.Errorf("memory.swap.max was created on a kernel without it (err %v)", err)
			}
			for _, dir := range []string{root, filepath.Join(root, "madang")} {
				if got := read(t, filepath.Join(dir, "cgroup.subtree_control")); !strings.HasPrefix(got, "+") {
					t.Errorf("%s/cgroup.subtree_control = %q, want controllers enabled", dir, got)
				}
			}
			if e := g.Enforcement(); !e.CPU || !e.Memory || e.Reason != "" {
				t.Errorf("Enforcement = %+v, want both enforced", e)
			}
			if got, want := strings.Join(g.ProcsFiles(), " "), filepath.Join(leaf, "cgroup.procs"); got != want {
				t.Errorf("ProcsFiles = %q, want %q", got, want)
			}
			if got, err := g.Limits(); err != nil || got != tc.limits {
				t.Errorf("Limits() = %+v, %v; want %+v", got, err, tc.limits)
			}

			// Re-creating updates the limits, and swap is closed where the
			// kernel has the file.
			if err := os.WriteFile(filepath.Join(leaf, "memory.swap.max"), []byte("max\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := h.Create("madang/i-0abc", tc.limits); err != nil {
				t.Fatal(err)
			}
			if got := read(t, filepath.Join(leaf, "memory.swap.max")); got != tc.wantSwap {
				t.Errorf("memory.swap.max = %q, want %q", got, tc.wantSwap)
			}
		})
	}
}

func TestCreateV1Files(t *testing.T) {
	tests := []struct {
		name      string
		limits    Limits
		wantQuota string
		wantMem   string
	}{
		{"half a core and 64 MiB", Limits{CPUs: 0.5, MemoryBytes: 64 << 20}, "50000", "67108864"},
		{"t3.micro", Limits{CPUs: 2, MemoryBytes: 1 << 30}, "200000", "1073741824"},
		{"a quarter core", Limits{CPUs: 0.25}, "25000", "-1"},
		{"unlimited", Limits{}, "-1", "-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := layout(t, v1Files, nil)
			// A kernel with swap accounting has memsw files.
			memLeaf := filepath.Join(root, "memory", "madang", "i-0abc")
			if err := os.MkdirAll(memLeaf, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(memLeaf, "memory.memsw.limit_in_bytes"), []byte("9223372036854771712\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			h := Detect(root, discard())
			g, err := h.Create("madang/i-0abc", tc.limits)
			if err != nil {
				t.Fatal(err)
			}
			cpuLeaf := filepath.Join(root, "cpu", "madang", "i-0abc")
			checks := []struct{ file, want string }{
				{filepath.Join(cpuLeaf, "cpu.cfs_period_us"), "100000"},
				{filepath.Join(cpuLeaf, "cpu.cfs_quota_us"), tc.wantQuota},
				{filepath.Join(memLeaf, "memory.limit_in_bytes"), tc.wantMem},
				{filepath.Join(memLeaf, "memory.memsw.limit_in_bytes"), tc.wantMem},
			}
			for _, c := range checks {
				if got := read(t, c.file); got != c.want {
					t.Errorf("%s = %q, want %q", c.file, got, c.want)
				}
			}
			wantProcs := filepath.Join(cpuLeaf, "cgroup.procs") + " " + filepath.Join(memLeaf, "cgroup.procs")
			if got := strings.Join(g.ProcsFiles(), " "); got != wantProcs {
				t.Errorf("ProcsFiles = %q, want %q", got, wantProcs)
			}
			if got, err := g.Limits(); err != nil || got != tc.limits {
				t.Errorf("Limits() = %+v, %v; want %+v", got, err, tc.limits)
			}

			// PIDs merges the controllers' lists. These pids are above
			// the kernel's pid_max, so no real process is named.
			for i, content := range []string{"99999991\n99999993\n", "99999993\n99999992\n"} {
				if err := os.WriteFile(g.ProcsFiles()[i], []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if pids, err := g.PIDs(); err != nil || len(pids) != 3 || pids[0] != 99999991 || pids[2] != 99999993 {
				t.Errorf("PIDs() = %v, %v; want [99999991 99999992 99999993]", pids, err)
			}

			o := h.Open("madang/i-0abc")
			if o.Enforcement() != g.Enforcement() || strings.Join(o.ProcsFiles(), " ") != wantProcs {
				t.Errorf("Open = %+v %v, want %+v %v", o.Enforcement(), o.ProcsFiles(), g.Enforcement(), wantProcs)
			}
		})
	}
}

func TestCreatePartial(t *testing.T) {
	root := layout(t, v1Files, map[string]string{})
	// A file where the memory group's parent should be makes mkdir fail.
	if err := os.WriteFile(filepath.Join(root, "memory", "madang"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := Detect(root, discard()).Create("madang/i-1", Limits{CPUs: 1, MemoryBytes: 1 << 30})
	if err != nil {
		t.Fatalf("Create = %v, want a group that enforces what it can", err)
	}
	e := g.Enforcement()
	if !e.CPU || e.Memory || !strings.Contains(e.Reason, "create cgroup "+filepath.Join(root, "memory", "madang", "i-1")) {
		t.Errorf("Enforcement = %+v, want CPU only, with the mkdir failure as reason", e)
	}
	if got := len(g.ProcsFiles()); got != 1 {
		t.Errorf("ProcsFiles has %d files, want only the cpu one", got)
	}
	if _, err := g.Stats(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Stats err = %v, want ErrUnsupported", err)
	}
}

func TestUnsupported(t *testing.T) {
	root := layout(t, map[string]string{"README": ""}, nil)
	h := Detect(root, discard())
	g, err := h.Create("madang/i-1", Limits{CPUs: 2, MemoryBytes: 1 << 30})
	if err != nil {
		t.Fatalf("Create on an unsupported system = %v, want a group that enforces nothing", err)
	}
	e := g.Enforcement()
	if e.CPU || e.Memory || e.Reason == "" {
		t.Errorf("Enforcement = %+v, want nothing enforced and a reason", e)
	}
	if files := g.ProcsFiles(); len(files) != 0 {
		t.Errorf("ProcsFiles = %v, want none", files)
	}
	steps := []struct {
		name string
		call func() error
	}{
		{"AddProc", func() error { return g.AddProc(os.Getpid()) }},
		{"PIDs", func() error {
			pids, err := g.PIDs()
			if len(pids) != 0 {
				return errors.New("want no pids")
			}
			return err
		}},
		{"Kill", g.Kill},
		{"Delete", g.Delete},
		{"Limits", func() error {
			l, err := g.Limits()
			if l != (Limits{}) {
				return errors.New("want zero limits")
			}
			return err
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.call(); err != nil {
				t.Errorf("%s = %v, want nil", st.name, err)
			}
		})
	}
	if _, err := g.Stats(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Stats err = %v, want ErrUnsupported", err)
	}
	if o := h.Open("madang/i-1"); o.Enforcement() != e {
		t.Errorf("Open Enforcement = %+v, want %+v", o.Enforcement(), e)
	}
}

func TestOpenMissing(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"v1", v1Files},
		{"v2", v2Files},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := layout(t, tc.files, nil)
			g := Detect(root, discard()).Open("madang/i-gone")
			e := g.Enforcement()
			if e.CPU || e.Memory || !strings.Contains(e.Reason, "does not exist; create it again") {
				t.Errorf("Enforcement = %+v, want nothing enforced because the group is missing", e)
			}
			if pids, err := g.PIDs(); err != nil || len(pids) != 0 {
				t.Errorf("PIDs = %v, %v; want none", pids, err)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	root := layout(t, v1Files, nil)
	h := Detect(root, discard())
	tests := []struct {
		name    string
		group   string
		limits  Limits
		wantMsg string
	}{
		{"empty name", "", Limits{}, "cgroup name is empty"},
		{"absolute name", "/madang/i-1", Limits{}, `cgroup name "/madang/i-1" has an empty`},
		{"dot-dot segment", "madang/../i-1", Limits{}, "'..' segment"},
		{"double slash", "madang//i-1", Limits{}, "empty"},
		{"space", "madang/i 1", Limits{}, `contains ' '`},
		{"negative CPUs", "madang/i-1", Limits{CPUs: -1}, "CPUs = -1 is invalid"},
		{"NaN CPUs", "madang/i-1", Limits{CPUs: math.NaN()}, "CPUs = NaN is invalid"},
		{"CPUs below the kernel minimum", "madang/i-1", Limits{CPUs: 0.001}, "CPUs = 0.001 is below the kernel minimum of 0.01"},
		{"negative memory", "madang/i-1", Limits{MemoryBytes: -5}, "MemoryBytes = -5 is invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Create(tc.group, tc.limits)
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Create(%q, %+v) err = %v, want one containing %q", tc.group, tc.limits, err, tc.wantMsg)
			}
		})
	}
	if err := h.Open("madang/i-1").AddProc(0); err == nil || !strings.Contains(err.Error(), "pid = 0") {
		t.Errorf("AddProc(0) err = %v, want one naming the pid", err)
	}
	if e := h.Open("../x").Enforcement(); e.CPU || e.Memory || !strings.Contains(e.Reason, "'..'") {
		t.Errorf("Open of a bad name: Enforcement = %+v, want the name error as reason", e)
	}
}
