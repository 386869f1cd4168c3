package state_test

import (
	"testing"

	"github.com/madang-dev/madang/internal/state"
	"github.com/madang-dev/madang/internal/state/statetest"
)

func TestMemory(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store { return state.NewMemory() })
}
