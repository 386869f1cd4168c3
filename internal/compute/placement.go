package compute

import "slices"

// withTemplateGroups is the placement of a launch: p, given the launch
// template version's security groups when p names none.
func withTemplateGroups(p *Placement, groups []SecurityGroupRef) *Placement {
	if len(groups) == 0 || p != nil && len(p.SecurityGroups) > 0 {
		return p
	}
	out := &Placement{}
	if p != nil {
		*out = *p
	}
	out.SecurityGroups = slices.Clone(groups)
	return out
}
