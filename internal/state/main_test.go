package state_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/leakcheck"
)

// TestMain fails the package if goroutines outlive the tests: every
// store must stop what it started by the time Close returns.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && os.Getenv(crashChildEnv) == "" {
		if err := leakcheck.Check(2*time.Second, leakcheck.Contains("madang/internal/state")); err != nil {
			fmt.Fprintf(os.Stderr, "after all tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
