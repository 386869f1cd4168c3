package loggroup

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/leakcheck"
)

// TestMain fails the package when a Tail or a Follower's Run outlives
// its test.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := leakcheck.Check(3*time.Second, leakcheck.Contains("internal/loggroup.")); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}
