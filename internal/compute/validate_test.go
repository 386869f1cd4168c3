package compute

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/fielderr"
)

// checkErrs compares the paths of errs with want, and that every problem
// has a fix.
func checkErrs(t *testing.T, errs fielderr.List, want []string) {
	t.Helper()
	var got []string
	for _, e := range errs {
		got = append(got, e.Path)
		if e.Problem == "" || e.Fix == "" {
			t.Errorf("problem without text or fix: %+v", *e)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("problem paths = %q, want %q\n%v", got, want, errs)
	}
}

func TestImageValidate(t *testing.T) {
	good := ImageSpec{Name: "hello", Source: "./app", Command: "./hello", Port: 8080}
	tests := []struct {
		name   string
		modify func(*ImageSpec)
		want   []string
	}{
		{"valid", func(*ImageSpec) {}, nil},
		{"name uppercase", func(s *ImageSpec) { s.Name = "Hello" }, []string{"name"}},
		{"name leading hyphen", func(s *ImageSpec) { s.Name = "-a" }, []string{"name"}},
		{"name too long", func(s *ImageSpec) { s.Name = strings.Repeat("a", 64) }, []string{"name"}},
		{"name 63 chars", func(s *ImageSpec) { s.Name = strings.Repeat("a", 63) }, nil},
		{"missing everything", func(s *ImageSpec) { *s = ImageSpec{} }, []string{"name", "source", "command", "port"}},
		{"blank command", func(s *ImageSpec) { s.Command = "  " }, []string{"command"}},
		{"port too big", func(s *ImageSpec) { s.Port = 65536 }, []string{"port"}},
		{"port negative", func(s *ImageSpec) { s.Port = -1 }, []string{"port"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.modify(&s)
			checkErrs(t, s.Validate(), tc.want)
		})
	}
}

func TestResolveSource(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, source, want string
		wantErr            string
	}{
		{"relative", "./app", filepath.Join(dir, "app"), ""},
		{"relative with dots", "app/../app", filepath.Join(dir, "app"), ""},
		{"absolute", filepath.Join(dir, "app"), filepath.Join(dir, "app"), ""},
		{"missing", "nope", "nope", "does not exist"},
		{"file", "file", "file", "is a file, not a directory"},
		{"empty is left to Validate", "", "", ""},
	}
	t.Run("relative without a directory", func(t *testing.T) {
		s := ImageSpec{Source: "app"}
		if errs := s.ResolveSource(""); len(errs) != 1 || errs[0].Path != "source" {
			t.Errorf("ResolveSource(\"\") = %v, want one source problem", errs)
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ImageSpec{Source: tc.source}
			errs := s.ResolveSource(dir)
			if tc.wantErr == "" && len(errs) > 0 || tc.wantErr != "" && (len(errs) != 1 || !strings.Contains(errs[0].Problem, tc.wantErr)) {
				t.Fatalf("ResolveSource errors = %v, want %q", errs, tc.wantErr)
			}
			if s.Source != tc.want {
				t.Errorf("Source = %q, want %q", s.Source, tc.want)
			}
		})
	}
}

func TestLaunchTemplateValidate(t *testing.T) {
	good := func() LaunchTemplateSpec {
		return LaunchTemplateSpec{Name: "web", LaunchTemplateData: LaunchTemplateData{Image: "hello", Env: map[string]string{"GREETING": "hi", "_X1": ""}}}
	}
	tests := []struct {
		name   string
		modify func(*LaunchTemplateSpec)
		want   []string
	}{
		{"valid", func(*LaunchTemplateSpec) {}, nil},
		{"valid after defaults", func(s *LaunchTemplateSpec) { s.ApplyDefaults() }, nil},
		{"missing image and name", func(s *LaunchTemplateSpec) { s.Name, s.Image = "", "" }, []string{"name", "image"}},
		{"unknown instance type", func(s *LaunchTemplateSpec) { s.InstanceType = "t3.huge" }, []string{"instanceType"}},
		{"known instance type", func(s *LaunchTemplateSpec) { s.InstanceType = "t3.small" }, nil},
		{"env name starts with digit", func(s *LaunchTemplateSpec) { s.Env["1X"] = "" }, []string{"env.1X"}},
		{"env name with dash", func(s *LaunchTemplateSpec) { s.Env["A-B"] = "" }, []string{"env.A-B"}},
		{"reserved env", func(s *LaunchTemplateSpec) {
			for _, k := range []string{"PORT", "HOST", "INSTANCE_ID", "INSTANCE_DIR", "MADANG_INSTANCE_ID"} {
				s.Env[k] = "x"
			}
		}, []string{"env.HOST", "env.INSTANCE_DIR", "env.INSTANCE_ID", "env.MADANG_INSTANCE_ID", "env.PORT"}},
		{"NUL in env value", func(s *LaunchTemplateSpec) { s.Env["A"] = "a\x00b" }, []string{"env.A"}},
		{"restart policy", func(s *LaunchTemplateSpec) { s.Supervision.Restart = "sometimes" }, []string{"supervision.restart"}},
		{"negative max restarts", func(s *LaunchTemplateSpec) { s.Supervision.MaxRestarts = -1 }, []string{"supervision.maxRestarts"}},
		{"negative durations", func(s *LaunchTemplateSpec) {
			sv := &s.Supervision
			sv.MinUptime, sv.BackoffInitial, sv.BackoffMax, sv.KillTimeout, sv.Readiness.Timeout = -1, -1, -1, -1, -1
		}, []string{"supervision.minUptime", "supervision.backoffInitial", "supervision.backoffMax", "supervision.killTimeout", "supervision.readiness.timeout"}},
		{"backoff max below initial", func(s *LaunchTemplateSpec) {
			s.Supervision.BackoffInitial, s.Supervision.BackoffMax = Duration(time.Second), Duration(time.Millisecond)
		}, []string{"supervision.backoffMax"}},
		{"signal without prefix", func(s *LaunchTemplateSpec) { s.Supervision.StopSignal = "usr2" }, nil},
		{"bad signal", func(s *LaunchTemplateSpec) { s.Supervision.StopSignal = "SIGSTOP" }, []string{"supervision.stopSignal"}},
		{"readiness path", func(s *LaunchTemplateSpec) { s.Supervision.Readiness.HTTPPath = "health" }, []string{"supervision.readiness.httpPath"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.modify(&s)
			checkErrs(t, s.Validate(), tc.want)
		})
	}
}

func TestReservedEnvSaysWhy(t *testing.T) {
	s := LaunchTemplateData{Image: "x", Env: map[string]string{"PORT": "1"}}
	errs := s.Validate()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "madang sets PORT") {
		t.Errorf("errors = %v, want one saying madang sets PORT", errs)
	}
}

func TestInstanceGroupValidate(t *testing.T) {
	n := func(i int) *int { return &i }
	good := func() InstanceGroupSpec {
		return InstanceGroupSpec{Name: "web", LaunchTemplate: "web", Tags: map[string]string{"team": "a"}}
	}
	tests := []struct {
		name   string
		modify func(*InstanceGroupSpec)
		want   []string
	}{
		{"valid", func(*InstanceGroupSpec) {}, nil},
		{"missing launch template", func(s *InstanceGroupSpec) { s.LaunchTemplate = "" }, []string{"launchTemplate"}},
		{"versions", func(s *InstanceGroupSpec) { s.Version = "$Latest" }, nil},
		{"numeric version", func(s *InstanceGroupSpec) { s.Version = "12" }, nil},
		{"zero version", func(s *InstanceGroupSpec) { s.Version = "0" }, []string{"version"}},
		{"plus version", func(s *InstanceGroupSpec) { s.Version = "+2" }, []string{"version"}},
		{"word version", func(s *InstanceGroupSpec) { s.Version = "latest" }, []string{"version"}},
		{"count 0", func(s *InstanceGroupSpec) { s.Count = n(0) }, nil},
		{"count 100", func(s *InstanceGroupSpec) { s.Count = n(100) }, nil},
		{"count 101", func(s *InstanceGroupSpec) { s.Count = n(101) }, []string{"count"}},
		{"count -1", func(s *InstanceGroupSpec) { s.Count = n(-1) }, []string{"count"}},
		{"empty tag key", func(s *InstanceGroupSpec) { s.Tags[""] = "x" }, []string{"tags"}},
		{"long tag key", func(s *InstanceGroupSpec) { s.Tags[strings.Repeat("k", 129)] = "x" }, []string{"tags." + strings.Repeat("k", 129)}},
		{"long tag value", func(s *InstanceGroupSpec) { s.Tags["k"] = strings.Repeat("v", 257) }, []string{"tags.k"}},
		{"128/256 ok", func(s *InstanceGroupSpec) { s.Tags[strings.Repeat("k", 128)] = strings.Repeat("v", 256) }, nil},
		{"reserved prefixes", func(s *InstanceGroupSpec) { s.Tags["AWS:x"] = ""; s.Tags["madang:y"] = "" }, []string{"tags.AWS:x", "tags.madang:y"}},
		{"Name tag", func(s *InstanceGroupSpec) { s.Tags["Name"] = "other" }, []string{"tags.Name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.modify(&s)
			checkErrs(t, s.Validate(), tc.want)
		})
	}
}
