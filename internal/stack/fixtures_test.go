package stack

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// wants returns the "# want: <substring>" lines at the top of a fixture.
func wants(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		w, ok := strings.CutPrefix(line, "# want: ")
		if !ok {
			break
		}
		out = append(out, w)
	}
	return out
}

func fixtures(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures match %s", pattern)
	}
	return files
}

// problemLine is the shape of every line of a stack error.
var problemLine = regexp.MustCompile(`^testdata/[a-z0-9-]+\.bad\.yaml(:\d+(:\d+)?)?: \S`)

func TestBadFixtures(t *testing.T) {
	files := fixtures(t, "*.bad.yaml")
	if len(files) < 25 {
		t.Errorf("got %d bad fixtures, want at least 25", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".bad.yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := wants(t, data)
			if len(want) == 0 {
				t.Fatalf("%s has no \"# want: \" line", file)
			}
			s, err := Load(testKinds, file)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, nil; want an error", file, s)
			}
			var serr *Error
			if !errors.As(err, &serr) {
				t.Fatalf("Load(%s) error is %T, want *stack.Error: %v", file, err, err)
			}
			msg := err.Error()
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q; got:\n%s", w, msg)
				}
			}
			for line := range strings.SplitSeq(msg, "\n") {
				if !problemLine.MatchString(line) {
					t.Errorf("problem line %q does not start with file:line:col", line)
				}
			}
			if testing.Verbose() {
				t.Logf("\n%s", msg)
			}
		})
	}
}

func TestGoodFixtures(t *testing.T) {
	for _, file := range fixtures(t, "*.good.yaml") {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".good.yaml"), func(t *testing.T) {
			s, err := Load(testKinds, file)
			if err != nil {
				t.Fatalf("Load(%s): %v", file, err)
			}
			if s.Name == "" {
				t.Errorf("Name is empty")
			}
			if !filepath.IsAbs(s.Path) || !filepath.IsAbs(s.Dir) {
				t.Errorf("Path %q and Dir %q should be absolute", s.Path, s.Dir)
			}
			for _, im := range images(s) {
				if !filepath.IsAbs(im.Source) {
					t.Errorf("image %s: source %q was not resolved", im.Name, im.Source)
				}
			}
			// Loading is deterministic and a stack does not differ from
			// itself.
			again, err := Load(testKinds, file)
			if err != nil {
				t.Fatal(err)
			}
			if changes := Diff(testKinds, s, again); len(changes) != 0 {
				t.Errorf("Diff(s, s) = %v, want none", changes)
			}
		})
	}
}
