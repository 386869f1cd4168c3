package proxy

// threshold is a minimum of healthy targets (target_group_health.*): a
// count and a percentage of the targets that could serve, each 0 when
// off.
type threshold struct {
	count, percent int
}

// below reports whether healthy of serving targets miss a bound that is
// on: fewer than count, or fewer than percent of serving rounded up.
// Both off, it is never below.
func (t threshold) below(healthy, serving int) bool {
	if t.count > 0 && healthy < t.count {
		return true
	}
	return t.percent > 0 && healthy < (t.percent*serving+99)/100
}
