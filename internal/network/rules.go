package network

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"

	"github.com/madang-dev/madang/internal/fielderr"
)

// protocolNames maps the IP protocol numbers EC2 names to its names.
var protocolNames = map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}

// Normalize spells a rule as EC2 describes it: protocol names in lower
// case ("6" is "tcp", "all" is "-1") and the ports of protocol -1 (and of
// protocols without ports) -1.
func (r *Rule) Normalize() {
	p := strings.ToLower(strings.TrimSpace(r.Protocol))
	if n, ok := protocolNames[p]; ok {
		p = n
	}
	r.Protocol = p
	if !r.hasPorts() && p != "icmp" && p != "icmpv6" {
		r.FromPort, r.ToPort = -1, -1
	}
}

func (r Rule) hasPorts() bool { return r.Protocol == "tcp" || r.Protocol == "udp" }

// Peer is the rule's peer as written: a CIDR block or a group id.
func (r Rule) Peer() string {
	switch {
	case r.CidrIPv4 != "":
		return r.CidrIPv4
	case r.CidrIPv6 != "":
		return r.CidrIPv6
	}
	return r.SourceGroup
}

// Key identifies a rule within its group and direction: two rules of one
// key are duplicates (the description is not part of it).
func (r Rule) Key() string {
	return r.Protocol + "|" + strconv.Itoa(r.FromPort) + "|" + strconv.Itoa(r.ToPort) + "|" + r.CidrIPv4 + "|" + r.CidrIPv6 + "|" + r.SourceGroup
}

// ID is the rule's security group rule id ("sgr-…"), stable for the
// group, the direction and the rule's key.
func (r Rule) ID(group string, egress bool) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%t|%s", group, egress, r.Key())
	return fmt.Sprintf("sgr-0%016x", h.Sum64())
}

// String is the rule in EC2's words for errors: "peer: 0.0.0.0/0, TCP,
// from port: 22, to port: 22, ALLOW".
func (r Rule) String() string {
	proto := strings.ToUpper(r.Protocol)
	if r.Protocol == "-1" {
		proto = "ALL"
	}
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", r.Peer(), proto, r.FromPort, r.ToPort)
}

// Validate returns the rule's problems, paths relative to the rule.
func (r *Rule) Validate() fielderr.List {
	var errs fielderr.List
	switch r.Protocol {
	case "tcp", "udp":
		for _, p := range []struct {
			path string
			v    int
		}{{"fromPort", r.FromPort}, {"toPort", r.ToPort}} {
			if p.v < 0 || p.v > 65535 {
				errs.Add(p.path, p.v, "is not a port", "give a port from 0 to 65535")
			}
		}
		if r.FromPort > r.ToPort {
			errs.Add("toPort", r.ToPort, fmt.Sprintf("is below fromPort %d", r.FromPort), "give a range with fromPort ≤ toPort")
		}
	case "icmp", "icmpv6":
		if r.FromPort < -1 || r.FromPort > 255 {
			errs.Add("fromPort", r.FromPort, "is not an ICMP type", "give a type from 0 to 255, or -1 for all")
		}
		if r.ToPort < -1 || r.ToPort > 255 {
			errs.Add("toPort", r.ToPort, "is not an ICMP code", "give a code from 0 to 255, or -1 for all")
		}
	case "-1":
	case "":
		errs.Add("protocol", r.Protocol, "is required", "give tcp, udp, icmp, icmpv6, -1 (all) or a protocol number")
	default:
		if n, err := strconv.Atoi(r.Protocol); err != nil || n < 0 || n > 255 {
			errs.Add("protocol", r.Protocol, "is not an IP protocol", "give tcp, udp, icmp, icmpv6, -1 (all) or a number from 0 to 255")
		}
	}
	peers := 0
	if r.CidrIPv4 != "" {
		peers++
		if p, err := netip.ParsePrefix(r.CidrIPv4); err != nil || !p.Addr().Is4() {
			errs.Add("cidrIpv4", r.CidrIPv4, "is not an IPv4 CIDR block", "give a block such as 10.0.0.0/16 or 0.0.0.0/0")
		}
	}
	if r.CidrIPv6 != "" {
		peers++
		if p, err := netip.ParsePrefix(r.CidrIPv6); err != nil || !p.Addr().Is6() {
			errs.Add("cidrIpv6", r.CidrIPv6, "is not an IPv6 CIDR block", "give a block such as ::/0")
		}
	}
	if r.SourceGroup != "" {
		peers++
		if !ValidID("sg", r.SourceGroup) {
			errs.Add("sourceGroup", r.SourceGroup, "is not a security group id", "give an id such as sg-0123456789abcdef0")
		}
	}
	if peers != 1 {
		errs.Add("", nil, fmt.Sprintf("the rule has %d peers", peers), "give exactly one of cidrIpv4, cidrIpv6 and sourceGroup")
	}
	if len(r.Description) > 255 {
		errs.Add("description", r.Description, "is longer than 255 characters", "shorten it")
	}
	return errs
}

// ContainsRule reports whether rules hold one of r's key.
func ContainsRule(rules []Rule, r Rule) bool {
	return IndexRule(rules, r) >= 0
}

// IndexRule is the index of the rule of r's key in rules, or -1.
func IndexRule(rules []Rule, r Rule) int {
	k := r.Key()
	for i := range rules {
		if rules[i].Key() == k {
			return i
		}
	}
	return -1
}
