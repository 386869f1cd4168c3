package iam

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/state"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func openBolt(t *testing.T, path string) *state.Bolt {
	t.Helper()
	st, err := state.OpenBolt(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func open(t *testing.T, st state.Store, opts Options) *Keys {
	t.Helper()
	opts.Store = st
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	k, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}

var (
	idRe     = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	secretRe = regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
)

func TestDefaultKeySurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	st := openBolt(t, path)
	k := open(t, st, Options{})
	def, err := k.EnsureDefault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !idRe.MatchString(def.ID) || !secretRe.MatchString(def.Secret) {
		t.Errorf("default key %q / %q is not AWS-shaped", def.ID, def.Secret)
	}
	if def.User != DefaultUser || def.Status != StatusActive || !def.CreatedAt.Equal(t0) {
		t.Errorf("default key = %+v", def)
	}
	again, err := k.EnsureDefault(ctx)
	if err != nil || again != def {
		t.Fatalf("second EnsureDefault = %+v, %v; want the same key %+v", again, err, def)
	}
	other, err := k.Create(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = openBolt(t, path)
	defer st.Close()
	k2 := open(t, st, Options{})
	got, err := k2.EnsureDefault(ctx)
	if err != nil || got != def {
		t.Fatalf("after reopen EnsureDefault = %+v, %v; want %+v", got, err, def)
	}
	if a := k2.Account(); a.ID != DefaultAccountID || a.Region != DefaultRegion || a.DefaultAccessKeyID != def.ID {
		t.Errorf("account after reopen = %+v", a)
	}
	if keys := k2.List(); len(keys) != 2 || keys[1] != other && keys[0] != other {
		t.Errorf("List after reopen = %+v, want the default key and %s", keys, other.ID)
	}
	if s, u, ok := k2.Secret(other.ID); !ok || s != other.Secret || u != "ci" {
		t.Errorf("Secret(%s) = %q, %q, %v", other.ID, s, u, ok)
	}
}

func TestAccountSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	cases := []struct {
		name        string
		id, region  string
		wantID      string
		wantRegion  string
		wantInvalid string
	}{
		{name: "first start stores the defaults", wantID: DefaultAccountID, wantRegion: DefaultRegion},
		{name: "given values are stored", id: "123456789012", region: "us-east-1", wantID: "123456789012", wantRegion: "us-east-1"},
		{name: "a start without values keeps them", wantID: "123456789012", wantRegion: "us-east-1"},
		{name: "one value changes alone", region: "eu-west-2", wantID: "123456789012", wantRegion: "eu-west-2"},
		{name: "account id not 12 digits", id: "12345", wantInvalid: `account id "12345" is not 12 digits`},
		{name: "region not a label", region: "US East", wantInvalid: `region "US East" is not a region name`},
		{name: "refused values changed nothing", wantID: "123456789012", wantRegion: "eu-west-2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openBolt(t, path)
			defer st.Close()
			k, err := Open(context.Background(), Options{Store: st, AccountID: tc.id, Region: tc.region})
			if tc.wantInvalid != "" {
				if !errors.Is(err, fault.ErrInvalid) || !regexp.MustCompile(regexp.QuoteMeta(tc.wantInvalid)).MatchString(err.Error()) {
					t.Fatalf("Open error = %v, want invalid %q", err, tc.wantInvalid)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			if a := k.Account(); a.ID != tc.wantID || a.Region != tc.wantRegion {
				t.Errorf("account = %+v, want %s %s", a, tc.wantID, tc.wantRegion)
			}
		})
	}
}

func TestInactiveAndDeletedKeysStopVerifying(t *testing.T) {
	ctx := context.Background()
	k := open(t, state.NewMemory(), Options{})
	key, err := k.Create(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := k.Secret(key.ID); !ok {
		t.Fatal("a new key does not verify")
	}
	if _, err := k.SetStatus(ctx, key.ID, StatusInactive); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := k.Secret(key.ID); ok {
		t.Error("an inactive key still verifies")
	}
	if got, _ := k.Get(key.ID); got.Status != StatusInactive {
		t.Errorf("status = %s, want Inactive", got.Status)
	}
	if _, err := k.SetStatus(ctx, key.ID, StatusActive); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := k.Secret(key.ID); !ok {
		t.Error("a reactivated key does not verify")
	}
	if err := k.Delete(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := k.Secret(key.ID); ok {
		t.Error("a deleted key still verifies")
	}
	if err := k.Delete(ctx, key.ID); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("deleting it again = %v, want not found", err)
	}
}

func TestDeletingTheDefaultKey(t *testing.T) {
	ctx := context.Background()
	st := state.NewMemory()
	k := open(t, st, Options{})
	def, err := k.EnsureDefault(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Delete(ctx, def.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Default(); ok {
		t.Error("Default still answers after the default key was deleted")
	}
	if a := k.Account(); a.DefaultAccessKeyID != "" {
		t.Errorf("account still names %s", a.DefaultAccessKeyID)
	}
	next, err := k.EnsureDefault(ctx)
	if err != nil || next.ID == def.ID {
		t.Fatalf("EnsureDefault after delete = %+v, %v; want a new key", next, err)
	}
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	k := open(t, state.NewMemory(), Options{})
	key, err := k.Create(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		do   func() error
		is   error
		want string
	}{
		{name: "bad user name", do: func() error { _, err := k.Create(ctx, "a b"); return err }, is: fault.ErrInvalid, want: `user name "a b" is not valid`},
		{name: "user name too long", do: func() error { _, err := k.Create(ctx, string(make([]byte, 65))); return err }, is: fault.ErrInvalid},
		{name: "bad status", do: func() error { _, err := k.SetStatus(ctx, key.ID, "active"); return err }, is: fault.ErrInvalid, want: `status "active" is not Active or Inactive`},
		{name: "status of an unknown key", do: func() error { _, err := k.SetStatus(ctx, "AKIANOPE", StatusActive); return err }, is: fault.ErrNotFound, want: "AKIANOPE cannot be found"},
		{name: "delete an unknown key", do: func() error { return k.Delete(ctx, "AKIANOPE") }, is: fault.ErrNotFound},
		{name: "get an unknown key", do: func() error { _, err := k.Get("AKIANOPE"); return err }, is: fault.ErrNotFound},
		{name: "third key of a user", do: func() error {
			if _, err := k.Create(ctx, "web"); err != nil {
				return err
			}
			_, err := k.Create(ctx, "web")
			return err
		}, is: fault.ErrConflict, want: "Cannot exceed quota for AccessKeysPerUser: 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.Is(err, tc.is) {
				t.Fatalf("error = %v, want %v", err, tc.is)
			}
			if tc.want != "" && !regexp.MustCompile(regexp.QuoteMeta(tc.want)).MatchString(err.Error()) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestConcurrentCreate(t *testing.T) {
	ctx := context.Background()
	k := open(t, state.NewMemory(), Options{})
	const users, tries = 8, 4
	var wg sync.WaitGroup
	errs := make(chan error, users*tries)
	for u := range users {
		for range tries {
			wg.Go(func() {
				_, err := k.Create(ctx, "user"+string(rune('a'+u)))
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	ok, quota := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, fault.ErrConflict):
			quota++
		default:
			t.Errorf("Create: %v", err)
		}
	}
	if ok != users*MaxKeysPerUser || quota != users*(tries-MaxKeysPerUser) {
		t.Errorf("%d created and %d refused, want %d and %d", ok, quota, users*MaxKeysPerUser, users*(tries-MaxKeysPerUser))
	}
	seen := map[string]bool{}
	for _, key := range k.List() {
		if seen[key.ID] {
			t.Errorf("id %s drawn twice", key.ID)
		}
		seen[key.ID] = true
		if _, _, ok := k.Secret(key.ID); !ok {
			t.Errorf("key %s does not verify", key.ID)
		}
	}
	if len(seen) != users*MaxKeysPerUser {
		t.Errorf("%d keys listed, want %d", len(seen), users*MaxKeysPerUser)
	}
}

// TestFollowsTheStore checks that writes by another Keys on the same
// store (another daemon on a shared store) reach memory.
func TestFollowsTheStore(t *testing.T) {
	ctx := context.Background()
	st := state.NewMemory()
	a := open(t, st, Options{})
	b := open(t, st, Options{})
	key, err := a.Create(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := st.Rev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.inf.Wait(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := b.Secret(key.ID); !ok {
		t.Fatal("the other Keys does not see the new key")
	}
	if err := a.Delete(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	rev, _ = st.Rev(ctx)
	if err := b.inf.Wait(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := b.Secret(key.ID); ok {
		t.Fatal("the other Keys still verifies the deleted key")
	}
}

func TestAccountARNs(t *testing.T) {
	a := Account{ID: "123456789012", Region: "us-east-1"}
	cases := []struct{ got, want string }{
		{a.UserARN("admin"), "arn:aws:iam::123456789012:user/admin"},
		{a.ARN("autoscaling", "autoScalingGroup:x"), "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
	if got := a.Identity("ci"); got.Account != "123456789012" || got.ARN != "arn:aws:iam::123456789012:user/ci" || got.UserID != a.UserID("ci") {
		t.Errorf("Identity = %+v", got)
	}
	if id := a.UserID("admin"); !regexp.MustCompile(`^AIDA[A-Z2-7]{17}$`).MatchString(id) || id != a.UserID("admin") || id == a.UserID("ci") {
		t.Errorf("UserID = %s: not AWS-shaped, not stable, or not per user", id)
	}
}

func BenchmarkSecret(b *testing.B) {
	k, err := Open(context.Background(), Options{Store: state.NewMemory()})
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	key, err := k.EnsureDefault(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, ok := k.Secret(key.ID); !ok {
			b.Fatal("no key")
		}
	}
}
