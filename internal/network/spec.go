package network

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/madang-dev/madang/internal/fielderr"
)

func validateName(errs *fielderr.List, prefix, name, what string) {
	if name != "" && !ValidID(prefix, name) {
		errs.Add("name", name, "is not "+what+" id", "give an id such as "+prefix+"-0123456789abcdef0 (EC2's form: "+prefix+"- and 8 or 17 hex digits), or create it through the AWS endpoint, which picks one")
	}
}

func validateBlock(errs *fielderr.List, path, block string) (netip.Prefix, bool) {
	if block == "" {
		errs.Add(path, block, "is required", "give an IPv4 block such as 10.0.0.0/16")
		return netip.Prefix{}, false
	}
	p, err := ParseBlock(block)
	if err != nil {
		errs.Add(path, block, err.Error(), "give an IPv4 block such as 10.0.0.0/16")
		return netip.Prefix{}, false
	}
	if p.Bits() < MinPrefix || p.Bits() > MaxPrefix {
		errs.Add(path, block, fmt.Sprintf("has a /%d netmask", p.Bits()),
			fmt.Sprintf("give a netmask from /%d to /%d, as AWS allows", MinPrefix, MaxPrefix))
		return p, false
	}
	return p, true
}

func validateTags(errs *fielderr.List, tags map[string]string) {
	if len(tags) > 50 {
		errs.Add("tags", len(tags), "has more than 50 tags", "keep at most 50")
	}
	for k, v := range tags {
		switch {
		case k == "" || len(k) > 128:
			errs.Add("tags", k, "is not a tag key of 1 to 128 characters", "shorten or name the key")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			errs.Add("tags."+k, k, "starts with aws:, which AWS reserves", "use another key")
		case len(v) > 256:
			errs.Add("tags."+k, v, "is longer than 256 characters", "shorten the value")
		}
	}
}

// Validate returns the VPC's problems.
func (s *VpcSpec) Validate() fielderr.List {
	var errs fielderr.List
	validateName(&errs, "vpc", s.Name, "a VPC")
	validateBlock(&errs, "cidrBlock", s.CidrBlock)
	validateTags(&errs, s.Tags)
	return errs
}

// Validate returns the subnet's problems. That its block lies in its
// VPC's is checked where both are known (CreateSubnet).
func (s *SubnetSpec) Validate() fielderr.List {
	var errs fielderr.List
	validateName(&errs, "subnet", s.Name, "a subnet")
	if s.Vpc == "" {
		errs.Add("vpc", s.Vpc, "is required", "name the VPC's id (vpc-…)")
	} else if !ValidID("vpc", s.Vpc) {
		errs.Add("vpc", s.Vpc, "is not a VPC id", "give an id such as vpc-0123456789abcdef0")
	}
	if s.AvailabilityZone == "" {
		errs.Add("availabilityZone", s.AvailabilityZone, "is required", "use one of "+strings.Join(Zones(), ", "))
	} else if !slices.Contains(Zones(), s.AvailabilityZone) {
		errs.Add("availabilityZone", s.AvailabilityZone, "is not an availability zone of region local", "use one of "+strings.Join(Zones(), ", "))
	}
	validateBlock(&errs, "cidrBlock", s.CidrBlock)
	validateTags(&errs, s.Tags)
	return errs
}

// Defaults gives a group without egress rules AWS's default one and
// spells its rules as EC2 describes them.
func (s *SecurityGroupSpec) Defaults() {
	if s.Egress == nil {
		s.Egress = []Rule{AllTraffic}
	}
	for i := range s.Ingress {
		s.Ingress[i].Normalize()
	}
	for i := range s.Egress {
		s.Egress[i].Normalize()
	}
}

// Validate returns the group's problems.
func (s *SecurityGroupSpec) Validate() fielderr.List {
	var errs fielderr.List
	validateName(&errs, "sg", s.Name, "a security group")
	switch {
	case s.GroupName == "":
		errs.Add("groupName", s.GroupName, "is required", "name the group")
	case len(s.GroupName) > 255:
		errs.Add("groupName", s.GroupName, "is longer than 255 characters", "shorten it")
	case strings.EqualFold(s.GroupName, "default"):
		errs.Add("groupName", s.GroupName, "is reserved for the VPC's default group", "give another name")
	case strings.HasPrefix(strings.ToLower(s.GroupName), "sg-"):
		errs.Add("groupName", s.GroupName, "starts with sg-, which AWS reserves for ids", "give another name")
	}
	if len(s.Description) > 255 {
		errs.Add("description", s.Description, "is longer than 255 characters", "shorten it")
	}
	if s.Vpc != "" && !ValidID("vpc", s.Vpc) {
		errs.Add("vpc", s.Vpc, "is not a VPC id", "give an id such as vpc-0123456789abcdef0, or leave it out for the default VPC")
	}
	for _, dir := range []struct {
		path  string
		rules []Rule
	}{{"ingress", s.Ingress}, {"egress", s.Egress}} {
		for i := range dir.rules {
			r := &dir.rules[i]
			errs.Extend(fielderr.Index(dir.path, i), r.Validate())
			if j := IndexRule(dir.rules[:i], *r); j >= 0 {
				errs.Add(fielderr.Index(dir.path, i), r.String(), fmt.Sprintf("repeats %s", fielderr.Index(dir.path, j)), "give each rule once")
			}
		}
	}
	validateTags(&errs, s.Tags)
	return errs
}

// Conflict returns the first of blocks that overlaps block, if any.
func Conflict(block netip.Prefix, blocks []netip.Prefix) (netip.Prefix, bool) {
	for _, b := range blocks {
		if b.Overlaps(block) {
			return b, true
		}
	}
	return netip.Prefix{}, false
}

// subnetConflicts checks a stack's subnets together: blocks of one VPC
// must not overlap.
func subnetConflicts(specs []SubnetSpec) fielderr.List {
	var errs fielderr.List
	for i, s := range specs {
		p, err := ParseBlock(s.CidrBlock)
		if err != nil {
			continue
		}
		for j := range i {
			q, err := ParseBlock(specs[j].CidrBlock)
			if err == nil && specs[j].Vpc == s.Vpc && q.Overlaps(p) {
				errs.Add(fielderr.Index("", i)+".cidrBlock", s.CidrBlock,
					fmt.Sprintf("conflicts with subnet %s (%s) of VPC %s", specs[j].Name, specs[j].CidrBlock, s.Vpc), "give the subnets ranges that do not overlap")
			}
		}
	}
	return errs
}

// groupNameClashes checks a stack's security groups together: a group
// name is unique within its VPC.
func groupNameClashes(specs []SecurityGroupSpec) fielderr.List {
	var errs fielderr.List
	for i, s := range specs {
		for j := range i {
			if specs[j].Vpc == s.Vpc && strings.EqualFold(specs[j].GroupName, s.GroupName) {
				errs.Add(fielderr.Index("", i)+".groupName", s.GroupName,
					fmt.Sprintf("is the name of security group %s in the same VPC", specs[j].Name), "give each group of a VPC its own name")
			}
		}
	}
	return errs
}
