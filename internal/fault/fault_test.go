package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestIsMatchesByCodeKindAndID(t *testing.T) {
	missing := NotFoundf(KindInstance, "i-01", "no instance %q", "i-01").WithHint("see madang ps")
	cases := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{name: "same code sentinel", err: missing, target: ErrNotFound, want: true},
		{name: "other code sentinel", err: missing, target: ErrInvalid, want: false},
		{name: "wrapped by fmt", err: fmt.Errorf("describe: %w", missing), target: ErrNotFound, want: true},
		{name: "joined", err: errors.Join(errors.New("x"), missing), target: ErrNotFound, want: true},
		{name: "kind matches", err: missing, target: &Error{Code: NotFound, Kind: KindInstance}, want: true},
		{name: "kind differs", err: missing, target: &Error{Code: NotFound, Kind: KindTargetGroup}, want: false},
		{name: "id differs", err: missing, target: &Error{Code: NotFound, Kind: KindInstance, ID: "i-02"}, want: false},
		{name: "package sentinel matches code", err: missing, target: Sentinel(NotFound, "", "compute: not found"), want: true},
		{name: "kind sentinel matches its kind", err: missing, target: Sentinel(NotFound, KindInstance, "supervisor: unknown instance"), want: true},
		{name: "kind sentinel ignores other kinds", err: NotFoundf(KindImage, "a", "no image"), target: Sentinel(NotFound, KindInstance, "supervisor: unknown instance"), want: false},
		{name: "wrapping a package sentinel has its code", err: fmt.Errorf("%w: instance x", Sentinel(InUse, "", "compute: in use")), target: ErrInUse, want: true},
		{name: "plain error", err: errors.New("boom"), target: ErrInternal, want: false},
		{name: "nil", err: nil, target: ErrNotFound, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(tc.err, tc.target); got != tc.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tc.err, tc.target, got, tc.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("disk full")
	cases := []struct {
		name string
		err  *Error
		want string
	}{
		{name: "message", err: Invalidf("", "", "count %d is out of range", 0), want: "count 0 is out of range"},
		{name: "message and hint", err: NotFoundf(KindTargetGroup, "web", "no target group %q", "web").WithHint("see madang tg ls"), want: `no target group "web"; see madang tg ls`},
		{name: "cause only", err: Wrap(Unavailable, KindStack, "s", cause), want: "disk full"},
		{name: "nothing but the code", err: &Error{Code: InUse, Kind: KindImage, ID: "hello"}, want: "image hello: in use"},
		{name: "unknown code", err: &Error{Code: "Throttled"}, want: "throttled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCodeOfAndHintOf(t *testing.T) {
	hinted := Conflictf(KindLoadBalancer, "web", "owned by stack a").WithHint("destroy stack a first")
	cases := []struct {
		name     string
		err      error
		wantCode Code
		wantHint string
	}{
		{name: "nil", err: nil, wantCode: ""},
		{name: "plain", err: errors.New("x"), wantCode: Internal},
		{name: "fault", err: hinted, wantCode: Conflict, wantHint: "destroy stack a first"},
		{name: "wrapped", err: fmt.Errorf("apply: %w", hinted), wantCode: Conflict, wantHint: "destroy stack a first"},
		{name: "joined", err: errors.Join(errors.New("x"), hinted), wantCode: Conflict, wantHint: "destroy stack a first"},
		{name: "sentinel wrap", err: fmt.Errorf("%w: bad", ErrInvalid), wantCode: Invalid},
		{name: "cause is wrapped", err: Wrap(Unavailable, "", "", fmt.Errorf("x: %w", hinted)), wantCode: Unavailable, wantHint: "destroy stack a first"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := CodeOf(tc.err); got != tc.wantCode {
				t.Errorf("CodeOf = %q, want %q", got, tc.wantCode)
			}
			if got := HintOf(tc.err); got != tc.wantHint {
				t.Errorf("HintOf = %q, want %q", got, tc.wantHint)
			}
		})
	}
}

func TestWithHintCopies(t *testing.T) {
	base := NotFoundf(KindImage, "a", "no image a")
	_ = base.WithHint("h")
	if base.Hint != "" {
		t.Fatalf("WithHint changed its receiver: %+v", base)
	}
}
