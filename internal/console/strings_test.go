package console

import (
	"io/fs"
	"regexp"
	"testing"
)

// TestStringsComplete checks that every key the templates translate has
// an English and a Korean string.
func TestStringsComplete(t *testing.T) {
	used := regexp.MustCompile(`\bt "([a-z0-9.]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, p)
		if err != nil {
			return err
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if _, ok := messages[m[1]]; !ok {
				t.Errorf("%s: string %q is not in strings.go", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, m := range messages {
		if m.en == "" || m.ko == "" {
			t.Errorf("string %q lacks its English or Korean text", k)
		}
	}
}
