package kinds

import (
	"path/filepath"
	"testing"

	"github.com/madang-dev/madang/internal/stack"
)

// TestExamplesParse keeps every example stack file valid.
func TestExamplesParse(t *testing.T) {
	files, err := filepath.Glob("../../examples/*/madang.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example stacks found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			if _, err := stack.Load(Registry(), f); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		})
	}
}
