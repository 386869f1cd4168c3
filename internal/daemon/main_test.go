package daemon

import (
	"os"
	"testing"

	"github.com/madang-dev/madang/internal/shim"
)

// TestMain lets the test binary, which the daemons of these tests run as
// their executable, act as the shim host (`<test binary> shim host …`).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "shim" {
		os.Exit(shim.Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}
