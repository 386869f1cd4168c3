package cloudwatch

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/leakcheck"
)

// TestMain fails the package when a service's loops, its store's
// maintenance, its log follower or an alarm action outlive their test.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := leakcheck.Check(5*time.Second, leakcheck.Contains("internal/cloudwatch.", "internal/metricstore.", "internal/loggroup.", "internal/informer.")); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}
