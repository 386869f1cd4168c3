package compute

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestAppImageMark(t *testing.T) {
	tests := []struct {
		name    string
		oldFile string // state/image-version left by an earlier version
		mark    string // markAppImage, when set
		want    string
	}{
		{"a new directory", "", "", ""},
		{"marked", "", "web 3", "web 3"},
		{"an earlier version's file", "web 2", "", "web 2"},
		{"marked over an earlier version's file", "web 2", "web 3", "web 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range []string{"app", "state"} {
				if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if tt.oldFile != "" {
				if err := os.WriteFile(filepath.Join(dir, "state", appImageFile), []byte(tt.oldFile), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.mark != "" {
				if err := markAppImage(dir, tt.mark); err != nil {
					t.Fatal(err)
				}
			}
			if got := appImage(dir); got != tt.want {
				t.Errorf("appImage = %q, want %q", got, tt.want)
			}
			// A copy made again (the directory replaced) is unmarked until
			// marked.
			if tt.mark != "" && tt.oldFile == "" {
				if err := os.RemoveAll(filepath.Join(dir, "app")); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(filepath.Join(dir, "app"), 0o755); err != nil {
					t.Fatal(err)
				}
				if got := appImage(dir); got != "" {
					t.Errorf("appImage of a new app directory = %q, want \"\"", got)
				}
			}
		})
	}
}

// TestAppImageMarkMakesNoFile: where extended attributes work, a launch
// makes no marker file.
func TestAppImageMarkMakesNoFile(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"app", "state"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := markAppImage(dir, "web 1"); err != nil {
		t.Fatal(err)
	}
	_, err := os.Stat(filepath.Join(dir, "state", appImageFile))
	buf := make([]byte, 16)
	if _, xerr := getAttr(filepath.Join(dir, "app"), buf); xerr != nil {
		t.Skipf("no user extended attributes here (%v); the file is used", xerr)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("marker file: %v, want none", err)
	}
}
