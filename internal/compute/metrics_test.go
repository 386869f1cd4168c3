package compute

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/cgroup"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/kind"
	"github.com/madang-dev/madang/internal/procstat"
	"github.com/madang-dev/madang/internal/shim"
	"github.com/madang-dev/madang/internal/state"
	"github.com/madang-dev/madang/internal/supervisor"
)

func TestSamplesCPUUtilization(t *testing.T) {
	tests := []struct {
		name          string
		percentOfCore float64
		vcpus         float64
		want          float64
	}{
		{name: "one core spinning on 1 vCPU", percentOfCore: 100, vcpus: 1, want: 100},
		{name: "one core spinning on 2 vCPUs", percentOfCore: 100, vcpus: 2, want: 50},
		{name: "one core spinning on 4 vCPUs", percentOfCore: 100, vcpus: 4, want: 25},
		{name: "two cores on 4 vCPUs", percentOfCore: 200, vcpus: 4, want: 50},
		{name: "more than the type has is capped", percentOfCore: 300, vcpus: 2, want: 100},
		{name: "idle", percentOfCore: 0, vcpus: 2, want: 0},
		{name: "unknown vCPUs count as one", percentOfCore: 40, vcpus: 0, want: 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cpuUtilization(tc.percentOfCore, tc.vcpus); got != tc.want {
				t.Errorf("cpuUtilization(%v, %v) = %v, want %v", tc.percentOfCore, tc.vcpus, got, tc.want)
			}
		})
	}
}

func TestSamplesStatusChecks(t *testing.T) {
	exit := &supervisor.Exit{Code: 1}
	tests := []struct {
		name           string
		state, desired InstanceState
		st             supervisor.Status
		known          bool
		orphaned       bool
		wantInstance   float64
		wantSystem     float64
	}{
		{name: "running and ready", state: StateRunning, desired: StateRunning, st: supervisor.Status{Phase: supervisor.PhaseRunning}, known: true},
		{name: "first start", state: StatePending, desired: StateRunning, st: supervisor.Status{Phase: supervisor.PhaseStarting}, known: true},
		{name: "being launched, not supervised yet", state: StatePending, desired: StateRunning},
		{name: "starting again after a crash", state: StatePending, desired: StateRunning, st: supervisor.Status{Phase: supervisor.PhaseStarting, LastExit: exit}, known: true, wantInstance: 1},
		{name: "backoff", state: StatePending, desired: StateRunning, st: supervisor.Status{Phase: supervisor.PhaseBackoff, LastExit: exit}, known: true, wantInstance: 1},
		{name: "exited", state: StatePending, desired: StateRunning, st: supervisor.Status{Phase: supervisor.PhaseExited}, known: true, wantInstance: 1},
		{name: "errored", state: StatePending, desired: StateRunning, st: supervisor.Status{Phase: supervisor.PhaseErrored}, known: true, wantInstance: 1},
		{name: "shim gone", state: StateRunning, desired: StateRunning, st: supervisor.Status{Phase: supervisor.PhaseRunning}, known: true, orphaned: true, wantSystem: 1},
		{name: "running with no supervisor", state: StateRunning, desired: StateRunning, wantInstance: 1, wantSystem: 1},
		{name: "stopping on request", state: StateStopping, desired: StateStopped, st: supervisor.Status{Phase: supervisor.PhaseStopping}, known: true},
		{name: "stopping for a reboot", state: StateStopping, desired: StateRunning, st: supervisor.Status{Phase: supervisor.PhaseStopping}, known: true},
		{name: "shutting down", state: StateShuttingDown, desired: StateTerminated, st: supervisor.Status{Phase: supervisor.PhaseStopped}, known: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst, sys := statusChecks(tc.state, tc.desired, tc.st, tc.known, tc.orphaned)
			if inst != tc.wantInstance || sys != tc.wantSystem {
				t.Errorf("statusChecks = instance %v, system %v; want %v, %v", inst, sys, tc.wantInstance, tc.wantSystem)
			}
		})
	}
}

func TestSamplesDisk(t *testing.T) {
	io := procstat.IO{ReadBytes: 1, WriteBytes: 2, ReadOps: 3, WriteOps: 4}
	bytesOnly := procstat.IO{ReadBytes: 1, WriteBytes: 2}
	tests := []struct {
		name         string
		gs           procstat.GroupSample
		cgroups      bool
		wantMeasured bool
		wantOps      bool
		wantNote     string // substring; "" means empty
	}{
		{name: "first sample", gs: procstat.GroupSample{Processes: 1, IONote: "first sample: no interval yet"}, wantNote: "first sample"},
		{name: "cgroup counters", gs: procstat.GroupSample{Processes: 1, Interval: time.Second, IO: io, IOMeasured: true, OpsMeasured: true}, cgroups: true, wantMeasured: true, wantOps: true},
		{name: "/proc/PID/io without cgroups", gs: procstat.GroupSample{Processes: 1, Interval: time.Second, IO: bytesOnly, IOMeasured: true}, wantMeasured: true, wantNote: "the instance has no cgroup"},
		{name: "/proc/PID/io with a cgroup without I/O counters", gs: procstat.GroupSample{Processes: 1, Interval: time.Second, IO: bytesOnly, IOMeasured: true}, cgroups: true, wantMeasured: true, wantNote: "no I/O counters"},
		{name: "/proc/PID/io not readable", gs: procstat.GroupSample{Processes: 1, Interval: time.Second, IONote: "/proc/42/io: permission denied"}, wantNote: "needs the app's uid or root"},
		{name: "no live process", gs: procstat.GroupSample{Interval: time.Second, IONote: "no live process"}, wantNote: "no live process"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var smp Sample
			fillDisk(&smp, &tc.gs, tc.cgroups)
			if smp.DiskMeasured != tc.wantMeasured {
				t.Errorf("DiskMeasured = %v, want %v (note %q)", smp.DiskMeasured, tc.wantMeasured, smp.DiskNote)
			}
			if tc.wantMeasured && (smp.DiskReadBytes != 1 || smp.DiskWriteBytes != 2) {
				t.Errorf("disk bytes = %v read, %v written; want 1, 2", smp.DiskReadBytes, smp.DiskWriteBytes)
			}
			if gotOps := smp.DiskReadOps == 3 && smp.DiskWriteOps == 4; gotOps != tc.wantOps || (!tc.wantOps && smp.DiskReadOps+smp.DiskWriteOps != 0) {
				t.Errorf("disk ops = %v, %v; want ops measured %v", smp.DiskReadOps, smp.DiskWriteOps, tc.wantOps)
			}
			if (tc.wantNote == "") != (smp.DiskNote == "") || !strings.Contains(smp.DiskNote, tc.wantNote) {
				t.Errorf("DiskNote = %q, want %q", smp.DiskNote, tc.wantNote)
			}
		})
	}
}

// commitTB is testCompute.commit for any testing.TB (benchmarks too).
func commitTB(tb testing.TB, home string, store state.Store, svc *Service, k kind.Kind, spec any) {
	tb.Helper()
	ctx := context.Background()
	key := kind.Key(k, k.Name(spec))
	var old any
	if kv, err := store.Get(ctx, key); err == nil {
		if old, err = k.Decode(kv.Value); err != nil {
			tb.Fatal(err)
		}
	}
	env := kind.Env{Home: home, Now: time.Now, Events: event.New(64, nil)}
	rec, _, err := k.Build(ctx, env, spec, "teststack", old)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		tb.Fatal(err)
	}
	rev, err := store.Put(ctx, key, b)
	if err != nil {
		tb.Fatal(err)
	}
	if err := svc.Observed(ctx, rev); err != nil {
		tb.Fatal(err)
	}
}

// addApp adds an image and a launch template, both called name, whose
// command is script (ending in "&" or ";") run by /bin/sh before the test
// app (`exec APP app`, which serves HTTP); "" runs the app alone.
func addApp(tb testing.TB, home string, store state.Store, svc *Service, source, exe, name, script, instanceType string, readiness time.Duration) {
	tb.Helper()
	cmd := "exec '" + exe + "' app"
	if script != "" {
		cmd = script + " " + cmd
	}
	commitTB(tb, home, store, svc, ImageKind(), &ImageSpec{Name: name, Source: source, Command: cmd, Port: 3000})
	commitTB(tb, home, store, svc, LaunchTemplateKind(), &LaunchTemplateSpec{Name: name, LaunchTemplateData: LaunchTemplateData{
		Image: name, InstanceType: instanceType,
		Env: map[string]string{"GORACE": "atexit_sleep_ms=0"},
		Supervision: SupervisionSpec{
			BackoffInitial: Duration(10 * time.Millisecond), BackoffMax: Duration(50 * time.Millisecond),
			KillTimeout: Duration(2 * time.Second), Readiness: ReadinessSpec{Timeout: Duration(readiness)},
		},
	}})
}

// runOne launches one instance of launch template lt.
func (tc *testCompute) runOne(lt string) Instance {
	tc.t.Helper()
	ins, err := tc.svc.Run(context.Background(), RunRequest{LaunchTemplate: lt, Count: 1})
	if err != nil {
		tc.t.Fatal(err)
	}
	return ins[0]
}

// sampleOf returns id's sample in samples.
func sampleOf(t *testing.T, samples []Sample, id string) Sample {
	t.Helper()
	for _, s := range samples {
		if s.InstanceID == id {
			return s
		}
	}
	t.Fatalf("no sample of %s in %d samples", id, len(samples))
	return Sample{}
}

// TestSamplesRealInstances runs an idle instance, one whose app keeps a
// shell spinning on one core (on a 2-vCPU type) and one whose app writes
// 20 MiB once told to, and samples them as a collector does.
func TestSamplesRealInstances(t *testing.T) {
	tc := newTestCompute(t)
	addApp(t, tc.home, tc.store, tc.svc, tc.source, tc.exe, "spin", "(while :; do :; done) &", "t3.micro", 10*time.Second)
	addApp(t, tc.home, tc.store, tc.svc, tc.source, tc.exe, "write",
		// The subshell outlives dd: a reaped child's I/O counts in its
		// parent's /proc/PID/io, so the bytes are seen even when dd starts
		// and ends between two samples.
		"(while [ ! -e go ]; do sleep 0.02; done; dd if=/dev/zero of=f bs=1M count=20 conv=fsync 2>/dev/null; sleep 120) &", "t3.small", 10*time.Second)
	idle, spin, write := tc.run(), tc.runOne("spin"), tc.runOne("write")
	spinPGID := 0
	for _, in := range []Instance{idle, spin, write} {
		v := tc.waitRunning(in.ID)
		if in.ID == spin.ID {
			spinPGID = v.PID
			// Where allowed (as root), the spinner gets a core even on a
			// busy machine.
			if err := syscall.Setpriority(syscall.PRIO_PGRP, v.PID, -20); err != nil {
				t.Logf("cannot raise the spinner's priority (%v); its CPU figures may be low on a busy machine", err)
			}
		}
	}

	ref := procstat.NewSampler(nil)
	var cpu = map[string]float64{}
	var wall time.Duration
	var written float64
	var first, last []Sample
	triggered := false
	// The loop ends once the 20 MB are written: the deadline is only
	// for a machine whose disk is slow under other work.
	deadline := time.Now().Add(60 * time.Second)
	for wall < 3*time.Second || written < 20<<20 {
		samples := tc.svc.Samples()
		if first == nil {
			first = samples
			// A reference: the spinner's group sampled on its own over the
			// same window (its second sample reads the whole window).
			if _, err := ref.SampleGroup("spin", spinPGID); err != nil {
				t.Fatal(err)
			}
		} else {
			dt := samples[0].At.Sub(last[0].At)
			wall += dt
			for _, s := range samples {
				cpu[s.InstanceID] += s.CPUUtilization * dt.Seconds()
			}
			w := sampleOf(t, samples, write.ID)
			written += w.DiskWriteBytes
			if !w.DiskMeasured {
				t.Logf("disk not measured: %s", w.DiskNote)
			}
			if !triggered {
				if err := os.WriteFile(filepath.Join(write.Dir, "app", "go"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				triggered = true
			}
		}
		last = samples
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	refSample, err := ref.SampleGroup("spin", spinPGID)
	if err != nil {
		t.Fatal(err)
	}
	secs := wall.Seconds()
	t.Logf("over %.2fs: idle %.1f%%, spin %.1f%% (reference %.1f%% of a core), write %.1f%% CPU; write wrote %.0f bytes (%s)",
		secs, cpu[idle.ID]/secs, cpu[spin.ID]/secs, refSample.CPUPercent, cpu[write.ID]/secs, written, sampleOf(t, last, write.ID).DiskNote)

	if len(first) != 3 {
		t.Fatalf("%d samples, want 3", len(first))
	}
	for _, s := range first {
		if s.CPUUtilization != 0 || s.DiskMeasured || s.DiskNote != noteFirst {
			t.Errorf("first sample of %s = %+v, want no CPU or disk figures yet", s.InstanceID, s)
		}
	}
	for _, s := range last {
		if !s.Running || s.StatusCheckFailedInstance != 0 || s.StatusCheckFailedSystem != 0 || s.NetworkMeasured {
			t.Errorf("%s: running %v, status checks %v/%v, network measured %v; want running, 0/0, false", s.InstanceID, s.Running, s.StatusCheckFailedInstance, s.StatusCheckFailedSystem, s.NetworkMeasured)
		}
		if !strings.HasPrefix(s.ImageID, "ami-") || s.MemoryBytes == 0 || s.MemoryUtilization <= 0 || s.MemoryUtilization > 100 {
			t.Errorf("%s: image %q, memory %d bytes (%.2f%%); want an ami- id and some memory", s.InstanceID, s.ImageID, s.MemoryBytes, s.MemoryUtilization)
		}
	}
	if got := sampleOf(t, last, spin.ID).InstanceType; got != "t3.micro" {
		t.Errorf("spin's InstanceType = %q, want t3.micro", got)
	}
	// One core of a 2-vCPU type is 50%: the spinner reads half of what
	// it got of a core (less than a core on a machine busy with other
	// work), well above the idle instance.
	// Only a spinner that got a tenth of a core or more must stand out
	// from the idle one: on a machine saturated by other work it may get
	// almost nothing, and then half of almost nothing is what it reads.
	want := refSample.CPUPercent / 2
	above := 2.0
	if refSample.CPUPercent < 10 {
		t.Logf("the spinner got %.1f%% of a core: too little to tell from idle; checking only that it reads half of that", refSample.CPUPercent)
		above = -1
	}
	if s, i := cpu[spin.ID]/secs, cpu[idle.ID]/secs; s > 55 || s < i+above || s < want*0.7-2 || s > want*1.3+2 {
		t.Errorf("CPUUtilization: spinning instance %.1f%%, idle one %.1f%%; want about %.1f%% (half the %.1f%% of a core its group used) and above idle",
			s, i, want, refSample.CPUPercent)
	}
	if w := sampleOf(t, last, write.ID); !w.DiskMeasured {
		t.Logf("disk writes not measurable here: %s", w.DiskNote)
	} else if written < 20<<20 || written > 25<<20 {
		t.Errorf("DiskWriteBytes summed to %.0f, want about %d", written, 20<<20)
	}
}

// TestSamplesShimGone: when an instance's shim dies, its app keeps
// running and the supervisor watches it directly; the system status
// check fails.
func TestSamplesShimGone(t *testing.T) {
	tc := newTestCompute(t)
	in := tc.run()
	tc.waitRunning(in.ID)
	if s := sampleOf(t, tc.svc.Samples(), in.ID); s.StatusCheckFailedSystem != 0 || s.StatusCheckFailedInstance != 0 {
		t.Fatalf("healthy instance: status checks %v/%v, want 0/0", s.StatusCheckFailedInstance, s.StatusCheckFailedSystem)
	}
	// The shim records its state as it starts the app; wait for it.
	var st shim.State
	for wait := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var err error
		if st, err = shim.ReadState(filepath.Join(in.Dir, "state")); err == nil && st.ShimPID > 0 {
			break
		} else if time.Now().After(wait) {
			t.Fatalf("read the shim's state: %v", err)
		}
	}
	if err := syscall.Kill(st.ShimPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := sampleOf(t, tc.svc.Samples(), in.ID)
		if s.StatusCheckFailedSystem == 1 {
			if !s.Running || s.StatusCheckFailedInstance != 0 {
				t.Errorf("after the shim died: running %v, instance check %v; want the app still running and passing", s.Running, s.StatusCheckFailedInstance)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("system status check still %v 10s after the shim was killed (sample %+v)", s.StatusCheckFailedSystem, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rawService is a compute service for tests and benchmarks that need
// options the test harness does not set (cgroups) or a testing.B.
type rawService struct {
	home, source, exe string
	store             state.Store
	svc               *Service
}

// newRawService starts a compute service with cgroups cg (nil: none).
// When it ends, its instances are terminated if they have cgroups (so
// their groups are deleted) and the service is shut down.
func newRawService(tb testing.TB, cg *cgroup.Hierarchy) *rawService {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	r := &rawService{home: tb.TempDir(), source: tb.TempDir(), exe: exe, store: state.NewMemory()}
	if err := os.WriteFile(filepath.Join(r.source, "main.txt"), []byte("v1\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	mode, _ := DetectAddressMode()
	r.svc, err = New(context.Background(), Options{
		Home: r.home, Store: r.store, ShimCommand: []string{exe, "shim"}, AddressMode: mode,
		Addresses: &AddressBook{Dir: tb.TempDir()}, Cgroups: cg,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if cg != nil {
			for _, v := range r.svc.Instances() {
				if err := r.svc.Terminate(ctx, v.ID); err != nil {
					tb.Errorf("terminate %s: %v", v.ID, err)
				}
			}
		}
		if err := r.svc.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
	})
	return r
}

// waitSamples polls Samples until cond holds for one of them.
func waitSamples(tb testing.TB, svc *Service, what string, cond func([]Sample) bool) []Sample {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		samples := svc.Samples()
		if cond(samples) {
			return samples
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s; samples %+v", what, samples)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSamplesCgroup: an instance in a cgroup reports the group's memory;
// its disk I/O comes from the group's counters where it has them, from
// /proc/PID/io otherwise, and the note says which.
func TestSamplesCgroup(t *testing.T) {
	cg := cgroup.Detect(cgroup.DefaultRoot, nil)
	if e := cg.Enforcement(); !e.Memory {
		t.Skipf("no usable cgroup memory controller here: %s", e.Reason)
	}
	r := newRawService(t, cg)
	addApp(t, r.home, r.store, r.svc, r.source, r.exe, "app", "", "t3.micro", 10*time.Second)
	ins, err := r.svc.Run(context.Background(), RunRequest{LaunchTemplate: "app", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := ins[0].ID
	samples := waitSamples(t, r.svc, "a second sample of a running app", func(ss []Sample) bool {
		return len(ss) == 1 && ss[0].Running && ss[0].DiskNote != noteFirst && ss[0].DiskNote != noteNotRunning
	})
	s := samples[0]
	st, err := cg.Open("madang/" + id).Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cgroup %s: sample memory %d bytes (%.2f%%), group %d bytes; disk measured %v: %s", cg.Version(), s.MemoryBytes, s.MemoryUtilization, st.MemoryBytes, s.DiskMeasured, s.DiskNote)
	if m := int64(s.MemoryBytes); m < st.MemoryBytes/2 || m > st.MemoryBytes*2 {
		t.Errorf("MemoryBytes = %d, want about the group's %d", m, st.MemoryBytes)
	}
	if _, ioErr := cg.Open("madang/" + id).IOStats(); ioErr == nil {
		if !s.DiskMeasured || s.DiskNote != "" {
			t.Errorf("group with I/O counters: disk measured %v, note %q; want measured with operations", s.DiskMeasured, s.DiskNote)
		}
	} else if s.DiskNote != noteNoCgroupIO {
		t.Errorf("group without I/O counters (%v): note %q, want %q", ioErr, s.DiskNote, noteNoCgroupIO)
	}
}

// BenchmarkSamples samples 100 instances whose apps sleep (never ready:
// the instances stay pending with their app running, which Samples
// reports), without cgroups and, where the machine has a usable memory
// controller, with each instance in its cgroup.
func BenchmarkSamples(b *testing.B) {
	b.Run("no cgroups", func(b *testing.B) { benchSamples(b, nil) })
	b.Run("cgroups", func(b *testing.B) {
		cg := cgroup.Detect(cgroup.DefaultRoot, nil)
		if e := cg.Enforcement(); !e.Memory {
			b.Skipf("no usable cgroup memory controller here: %s", e.Reason)
		}
		benchSamples(b, cg)
	})
}

func benchSamples(b *testing.B, cg *cgroup.Hierarchy) {
	r := newRawService(b, cg)
	svc := r.svc
	commitTB(b, r.home, r.store, svc, ImageKind(), &ImageSpec{Name: "sleep", Source: r.source, Command: "exec sleep 600", Port: 3000})
	commitTB(b, r.home, r.store, svc, LaunchTemplateKind(), &LaunchTemplateSpec{Name: "sleep", LaunchTemplateData: LaunchTemplateData{
		Image: "sleep", Supervision: SupervisionSpec{KillTimeout: Duration(time.Second), Readiness: ReadinessSpec{Timeout: Duration(time.Hour)}},
	}})
	const n = 100
	if _, err := svc.Run(context.Background(), RunRequest{LaunchTemplate: "sleep", Count: n}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		running := 0
		for _, s := range svc.Samples() {
			if s.Running && s.MemoryBytes > 0 {
				running++
			}
		}
		if running == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d instances have a running app", running, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := len(svc.Samples()); got != n {
			b.Fatalf("%d samples, want %d", got, n)
		}
	}
}
