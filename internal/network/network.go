// Package network holds madang's networking resources in EC2's model:
// VPCs, subnets and security groups, stored as resource kinds (made through
// the AWS endpoint, by the API's PUT of a resource or in a stack file).
//
// Placement is real: a subnet is an availability zone and an address
// range, and an instance launched into one runs in its zone. Addresses
// are not: instances keep the loopback address madang leases host-wide
// (127.16.x.y), whatever the subnet's range. Security group rules are
// recorded and described but not enforced yet: every instance reaches
// every other.
//
// The account's default VPC, its default subnets (one per zone) and its
// default security group are not stored: the EC2 service synthesizes them.
// A spec's empty Vpc names the default VPC.
package network

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"sync"
	"time"
)

// Kind names of networking resources.
const (
	KindVpc           = "vpc"
	KindSubnet        = "subnet"
	KindSecurityGroup = "security-group"
)

// Store prefixes of the records; a record's key is the prefix and its id.
const (
	VpcPrefix           = "/network/vpcs/"
	SubnetPrefix        = "/network/subnets/"
	SecurityGroupPrefix = "/network/security-groups/"
)

// Zones returns the availability zones of madang's region ("local"): a
// subnet is in one of them, and so is every instance.
func Zones() []string { return []string{"local-1a", "local-1b", "local-1c"} }

// ReservedAddresses is how many addresses of each subnet AWS keeps for
// itself (the network address, the VPC router, DNS, one for future use
// and the broadcast address): a subnet has 2^(32-prefix) - 5 for
// instances.
const ReservedAddresses = 5

// Netmask limits of VPC and subnet IPv4 blocks (AWS's: /16 to /28).
const (
	MinPrefix = 16
	MaxPrefix = 28
)

// VpcSpec is a VPC: its id and IPv4 block.
type VpcSpec struct {
	// Name is the VPC's id, "vpc-" and 8 or 17 hex digits.
	Name string `yaml:"name" json:"name"`
	// CidrBlock is the VPC's IPv4 range, /16 to /28.
	CidrBlock string            `yaml:"cidrBlock" json:"cidrBlock"`
	Tags      map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// SubnetSpec is a subnet: a zone and a range of its VPC's block.
type SubnetSpec struct {
	// Name is the subnet's id, "subnet-" and 8 or 17 hex digits.
	Name string `yaml:"name" json:"name"`
	// Vpc is the id of the VPC the subnet is part of.
	Vpc string `yaml:"vpc" json:"vpc"`
	// AvailabilityZone is the zone its instances run in.
	AvailabilityZone string `yaml:"availabilityZone" json:"availabilityZone"`
	// CidrBlock is the subnet's IPv4 range within the VPC's, /16 to /28.
	CidrBlock string            `yaml:"cidrBlock" json:"cidrBlock"`
	Tags      map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// SecurityGroupSpec is a security group and its rules. Rules are recorded,
// not enforced.
type SecurityGroupSpec struct {
	// Name is the group's id, "sg-" and 8 or 17 hex digits.
	Name string `yaml:"name" json:"name"`
	// GroupName is the group's name, unique within its VPC.
	GroupName   string `yaml:"groupName" json:"groupName"`
	Description string `yaml:"description" json:"description"`
	// Vpc is the id of the group's VPC ("" is the default VPC).
	Vpc     string `yaml:"vpc,omitempty" json:"vpc,omitempty"`
	Ingress []Rule `yaml:"ingress,omitempty" json:"ingress,omitempty"`
	// Egress is the outbound rules. Left out (nil), it is AWS's default:
	// all traffic to 0.0.0.0/0; an empty list is no outbound rule.
	Egress []Rule            `yaml:"egress" json:"egress"`
	Tags   map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// Rule is one security group rule: a protocol and port range, and one
// peer (an IPv4 or IPv6 range or another security group).
type Rule struct {
	// Protocol is "tcp", "udp", "icmp", "icmpv6", "-1" (all) or an IP
	// protocol number.
	Protocol string `yaml:"protocol" json:"protocol"`
	// FromPort and ToPort are the port range (tcp, udp), or the ICMP type
	// and code (-1: all); both are -1 for protocol -1.
	FromPort int `yaml:"fromPort" json:"fromPort"`
	ToPort   int `yaml:"toPort" json:"toPort"`
	// Exactly one of CidrIPv4, CidrIPv6 and SourceGroup is the peer.
	CidrIPv4 string `yaml:"cidrIpv4,omitempty" json:"cidrIpv4,omitempty"`
	CidrIPv6 string `yaml:"cidrIpv6,omitempty" json:"cidrIpv6,omitempty"`
	// SourceGroup is a security group id: traffic from (ingress) or to
	// (egress) its members.
	SourceGroup string `yaml:"sourceGroup,omitempty" json:"sourceGroup,omitempty"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
}

// AllTraffic is AWS's default egress rule of a new security group.
var AllTraffic = Rule{Protocol: "-1", FromPort: -1, ToPort: -1, CidrIPv4: "0.0.0.0/0"}

// Vpc is a stored VPC.
type Vpc struct {
	Spec      VpcSpec   `json:"spec"`
	Owner     string    `json:"owner,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Subnet is a stored subnet.
type Subnet struct {
	Spec      SubnetSpec `json:"spec"`
	Owner     string     `json:"owner,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
}

// SecurityGroup is a stored security group.
type SecurityGroup struct {
	Spec      SecurityGroupSpec `json:"spec"`
	Owner     string            `json:"owner,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
}

// Regular expressions are compiled on first use rather than at every
// start of the binary (each instance shim, each CLI command).
var idPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(vpc|subnet|sg)-([0-9a-f]{8}|[0-9a-f]{17})$`) })

// ValidID reports whether id is an EC2 id of the given prefix ("vpc",
// "subnet", "sg"): the prefix, a dash and 8 or 17 lowercase hex digits.
func ValidID(prefix, id string) bool {
	m := idPattern().FindStringSubmatch(id)
	return m != nil && m[1] == prefix
}

// NewID returns a new random EC2 id of prefix ("vpc" gives
// "vpc-0123456789abcdef0").
func NewID(prefix string) string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])[:17]
}

// ParseBlock parses an IPv4 CIDR block that is its own network address
// ("10.0.0.0/16", not "10.0.0.1/16").
func ParseBlock(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 CIDR block such as 10.0.0.0/16", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q is not a network address; the block is %s", s, p.Masked())
	}
	return p, nil
}

// Within reports whether block inner lies inside outer.
func Within(inner, outer netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// Addresses is the number of addresses a subnet of block gives its
// instances: its size less AWS's five reserved ones.
func Addresses(block netip.Prefix) int64 {
	return int64(1)<<(32-block.Bits()) - ReservedAddresses
}
