package kinds

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/madang-dev/madang/internal/stack"
)

// A stack file's vpcs, subnets and securityGroups parse, and their
// problems name the field; a target group's or load balancer's VPC must be
// one the stack or the store has.
func TestNetworkStackKeys(t *testing.T) {
	good := `
vpcs:
  - name: vpc-0a1b2c3d
    cidrBlock: 10.0.0.0/16
subnets:
  - name: subnet-0a1b2c3d
    vpc: vpc-0a1b2c3d
    availabilityZone: local-1b
    cidrBlock: 10.0.1.0/24
securityGroups:
  - name: sg-0a1b2c3d
    groupName: web
    description: web tier
    vpc: vpc-0a1b2c3d
    ingress:
      - {protocol: tcp, fromPort: 80, toPort: 80, cidrIpv4: 0.0.0.0/0}
targetGroups:
  - name: web
    vpc: vpc-0a1b2c3d
loadBalancers:
  - name: front
    vpc: vpc-0a1b2c3d
    # A subnet and a group the stack does not have may be a VPC's
    # default ones, which are not stored.
    subnets:
      - {subnet: subnet-0a1b2c3d, availabilityZone: local-1b}
      - {subnet: subnet-0fedcba9, availabilityZone: local-1a}
    securityGroups: [sg-0a1b2c3d, sg-0fedcba9]
    listeners: []
`
	cases := []struct {
		name, text, want string
	}{
		{"good", good, ""},
		{"zone", strings.Replace(good, "local-1b", "local-9z", 1), "subnets[0].availabilityZone"},
		{"port", strings.Replace(good, "toPort: 80", "toPort: 99999", 1), "securityGroups[0].ingress[0].toPort"},
		{"subnet of no VPC", strings.Replace(good, "    vpc: vpc-0a1b2c3d\n    availabilityZone", "    vpc: vpc-0ffffff0\n    availabilityZone", 1), "vpc-0ffffff0"},
		{"target group of no VPC", strings.Replace(good, "  - name: web\n    vpc: vpc-0a1b2c3d", "  - name: web\n    vpc: vpc-0ffffff1", 1), "targetGroups[0].vpc"},
		{"load balancer of no VPC", strings.Replace(good, "  - name: front\n    vpc: vpc-0a1b2c3d", "  - name: front\n    vpc: vpc-0ffffff2", 1), "loadBalancers[0].vpc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "madang.yaml")
			if err := os.WriteFile(f, []byte(c.text), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := stack.Load(Registry(), f)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to name %s", err, c.want)
			}
		})
	}
}
