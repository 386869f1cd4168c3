package apitest

import (
	"context"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/api"
	"github.com/madang-dev/madang/internal/iam"
	"github.com/madang-dev/madang/internal/state"
)

// NewIAM returns madang's real access keys over an in-memory store, with
// the default key made, and the settings of an AWS endpoint on
// 127.0.0.1:4566 that requires signatures. The test closes them.
func NewIAM(t testing.TB) (*iam.Keys, api.AWSEndpoint) {
	t.Helper()
	st := state.NewMemory()
	k, err := iam.Open(context.Background(), iam.Options{Store: st, Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = k.Close()
		_ = st.Close()
	})
	if _, err := k.EnsureDefault(context.Background()); err != nil {
		t.Fatal(err)
	}
	return k, api.AWSEndpoint{Listen: "127.0.0.1:4566", URL: "http://127.0.0.1:4566", Auth: "required"}
}
