package controller

import (
	"fmt"

	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/fault"
)

// checkWeight refuses a weight outside 0..elb.MaxTargetWeight for target
// id in target group tg; nil (the default) is fine.
func checkWeight(tg, id string, w *int) error {
	if w == nil || (*w >= 0 && *w <= elb.MaxTargetWeight) {
		return nil
	}
	return fault.Invalidf(fault.KindInstance, id, "target %s in target group %s: weight %d is out of range 0..%d", id, tg, *w, elb.MaxTargetWeight).
		WithHint(fmt.Sprintf("use a weight from 0 to %d (0 sends no new requests), or none for the default, %d", elb.MaxTargetWeight, elb.DefaultWeight))
}

// weightOf is the data plane's weight for a registration's Weight.
func weightOf(w *int) int {
	if w == nil {
		return elb.DefaultWeight
	}
	return *w
}

// sameWeight reports whether two stored weights are the same (both nil,
// or equal).
func sameWeight(a, b *int) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}
