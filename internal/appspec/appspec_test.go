package appspec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"scripts/stop.sh", "scripts/check.sh"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	me := Identity{Username: "alice"}
	for _, tc := range []struct {
		name string
		file string
		who  Identity
		// want is a substring of the error ("" for none).
		want  string
		check func(t *testing.T, s *Spec)
	}{
		{name: "hooks with defaults", file: "version: 0.0\nos: linux\nhooks:\n  ApplicationStop:\n    - location: scripts/stop.sh\n  ValidateService:\n    - location: /scripts/check.sh\n      timeout: 30\n      runas: alice\n",
			check: func(t *testing.T, s *Spec) {
				if h := s.Hooks[ApplicationStop]; len(h) != 1 || h[0].Timeout != DefaultTimeout || h[0].Line != 5 {
					t.Fatalf("ApplicationStop %+v", h)
				}
				if h := s.Hooks[ValidateService]; len(h) != 1 || h[0].Timeout != 30*time.Second || h[0].RunAs != "alice" || h[0].Script(root) != filepath.Join(root, "scripts/check.sh") {
					t.Fatalf("ValidateService %+v", h)
				}
			}},
		{name: "files and permissions are accepted", file: "version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /srv/app\npermissions:\n  - object: /srv/app\n    mode: 755\n",
			check: func(t *testing.T, s *Spec) {
				if len(s.Notes) != 2 || !strings.Contains(s.Notes[0], "nothing is copied") {
					t.Fatalf("notes %v", s.Notes)
				}
			}},
		{name: "unknown event", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstal:\n    - location: scripts/stop.sh\n", want: "appspec.yml:4: hooks.AfterInstal: is not a lifecycle event; use one of BeforeBlockTraffic"},
		{name: "reserved event", file: "version: 0.0\nos: linux\nhooks:\n  Install:\n    - location: scripts/stop.sh\n", want: "appspec.yml:4: hooks.Install: is run by the deployment itself and takes no scripts; put the scripts under BeforeInstall or AfterInstall"},
		{name: "missing script", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts/migrate.sh\n", want: `appspec.yml:5: hooks.AfterInstall[0].location: does not exist in the revision (got "scripts/migrate.sh")`},
		{name: "script outside the revision", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: ../x.sh\n", want: "is outside the revision"},
		{name: "a directory", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts\n", want: "is not a file"},
		{name: "no location", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - timeout: 5\n", want: "appspec.yml:5: hooks.AfterInstall[0].location: is missing"},
		{name: "timeout too long", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts/stop.sh\n      timeout: 3601\n", want: "appspec.yml:6: hooks.AfterInstall[0].timeout: is out of range 1..3600 (got 3601)"},
		{name: "timeout zero", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts/stop.sh\n      timeout: 0\n", want: "is out of range 1..3600"},
		{name: "timeout not a number", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts/stop.sh\n      timeout: 5m\n", want: "is not a number of seconds"},
		{name: "runas another user without root", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts/stop.sh\n      runas: root\n", want: `appspec.yml:6: hooks.AfterInstall[0].runas: is another user than the daemon's (alice), which is not root (got "root")`},
		{name: "runas another user as root", who: Identity{Username: "root", Root: true}, file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts/stop.sh\n      runas: www-data\n"},
		{name: "unknown hook field", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts/stop.sh\n      user: x\n", want: "hooks.AfterInstall[0].user: is not a hook field"},
		{name: "wrong version", file: "version: 1.0\nos: linux\n", want: `appspec.yml:1: version: is not an AppSpec version (got "1.0")`},
		{name: "windows", file: "version: 0.0\nos: windows\n", want: `os: is not supported (got "windows"); use ` + "`os: linux`"},
		{name: "missing os", file: "version: 0.0\n", want: "os: is missing"},
		{name: "unknown top-level field", file: "version: 0.0\nos: linux\nhook: {}\n", want: "appspec.yml:3: hook: is not an AppSpec field"},
		{name: "hooks not a list", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall: scripts/stop.sh\n", want: "hooks.AfterInstall: is not a list"},
		{name: "event twice", file: "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: scripts/stop.sh\n  AfterInstall:\n    - location: scripts/stop.sh\n", want: "is given twice"},
		{name: "not YAML", file: "version: 0.0\nos: [linux\n", want: "is not valid YAML"},
		{name: "empty", file: "", want: "appspec.yml:1: appspec: is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			who := tc.who
			if who.Username == "" {
				who = me
			}
			s, err := Parse("appspec.yml", []byte(tc.file), root, who)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.check != nil {
					tc.check(t, s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v\nwant %q", err, tc.want)
			}
		})
	}
}

func TestLoadWithoutAppSpec(t *testing.T) {
	s, err := Load(t.TempDir(), CurrentIdentity())
	if s != nil || err != nil {
		t.Fatalf("Load of a revision without appspec.yml: %v, %v", s, err)
	}
}
