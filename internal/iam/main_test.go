package iam

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/leakcheck"
)

// TestMain fails the package if goroutines outlive the tests: Close must
// stop following the store.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := leakcheck.Check(2*time.Second, leakcheck.Contains("madang/internal/iam", "madang/internal/informer")); err != nil {
			fmt.Fprintf(os.Stderr, "after all tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
