package elbv2

import (
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/fielderr"
)

// attributeError turns the problems madang finds in the attributes a
// Modify*Attributes call would leave into AWS's error: turning an
// Application Load Balancer's cross-zone load balancing off is an
// InvalidConfigurationRequest, as AWS answers it; any other problem is a
// ValidationError. Messages name the key, the value and the fix. It
// returns nil without problems.
func attributeError(errs fielderr.List) error {
	if len(errs) == 0 {
		return nil
	}
	for _, e := range errs {
		if e.Path == elb.AttrCrossZone && e.Problem == elb.CrossZoneOffProblem {
			return protocol.Errorf("InvalidConfigurationRequest", "Load balancer attribute %s", e.Error())
		}
	}
	return validationError("%s", errs.Error())
}
