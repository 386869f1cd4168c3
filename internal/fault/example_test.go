package fault_test

import (
	"errors"
	"fmt"

	"github.com/madang-dev/madang/internal/fault"
)

// awsCode picks an AWS error code from a fault's kind and code, as an
// AWS-compatible endpoint would.
func awsCode(err error) string {
	e, ok := fault.As(err)
	if !ok {
		return "InternalFailure"
	}
	switch [2]string{e.Kind, string(e.Code)} {
	case [2]string{fault.KindInstance, string(fault.NotFound)}:
		return "InvalidInstanceID.NotFound"
	case [2]string{fault.KindLaunchTemplate, string(fault.NotFound)}:
		return "InvalidLaunchTemplateName.NotFoundException"
	case [2]string{fault.KindTargetGroup, string(fault.NotFound)}:
		return "TargetGroupNotFound"
	case [2]string{fault.KindLoadBalancer, string(fault.NotFound)}:
		return "LoadBalancerNotFound"
	case [2]string{fault.KindTargetGroup, string(fault.InUse)}:
		return "ResourceInUse"
	}
	if e.Code == fault.Invalid {
		return "ValidationError"
	}
	return "InternalFailure"
}

func Example() {
	err := fmt.Errorf("describe: %w",
		fault.NotFoundf(fault.KindInstance, "i-0abc", "no instance %q", "i-0abc").WithHint("see madang ps"))

	fmt.Println(errors.Is(err, fault.ErrNotFound))
	fmt.Println(fault.CodeOf(err), fault.HintOf(err))
	fmt.Println(awsCode(err))
	fmt.Println(awsCode(fault.NotFoundf(fault.KindTargetGroup, "web", "no target group %q", "web")))
	// Output:
	// true
	// NotFound see madang ps
	// InvalidInstanceID.NotFound
	// TargetGroupNotFound
}
