// Package ec2 serves Amazon EC2's API on madang's AWS endpoint, backed by
// the compute service: RunInstances launches real supervised instances,
// DescribeInstances shows their live state, images and launch templates
// are madang's own, and the networking calls serve the account's default
// VPC (one subnet per zone, a default security group) and the VPCs,
// subnets and security groups made through them (package network), whose
// rules are recorded, not enforced.
package ec2

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/model"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/event"
	"github.com/madang-dev/madang/internal/fault"
)

// Compute is what EC2's operations need of the compute service;
// *compute.Service implements it. Errors are fault errors.
type Compute interface {
	// Listing returns every instance (terminated ones included) with its
	// supervisor phase, without CPU and memory samples.
	Listing() []compute.View
	Run(ctx context.Context, req compute.RunRequest) ([]compute.Instance, error)
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
	Reboot(ctx context.Context, id string) error
	Terminate(ctx context.Context, id string) error
	SetTags(ctx context.Context, id string, set map[string]string, remove []string) (compute.Instance, error)
	Images() []compute.Image
	LaunchTemplates() []compute.LaunchTemplate
	CreateImage(ctx context.Context, req compute.CreateImageRequest) (compute.Image, error)
	// LogPath returns an instance's log file.
	LogPath(id string) (string, error)
}

// Resources creates, replaces and deletes resources made outside stack
// files (launch templates and images made by API); the daemon implements
// it. A resource of a stack is refused with a Conflict fault, one in use
// with InUse.
type Resources interface {
	PutResource(ctx context.Context, kind string, spec any) ([]string, error)
	DeleteResource(ctx context.Context, kind, name string) error
}

// Options configure the EC2 service.
type Options struct {
	Compute   Compute
	Resources Resources
	// Network reads the stored VPCs, subnets and security groups (nil:
	// the defaults only).
	Network Networks
	// Events is the daemon's event log (nil: events are dropped).
	Events *event.Log
	// Region and AccountID place ARNs and owner ids.
	Region    string
	AccountID string
	// Zones are the region's availability zones (the first places
	// instances launched without one).
	Zones []string
}

// Service is the EC2 service.
type Service struct {
	compute              Compute
	resources            Resources
	region, account      string
	zones                []string
	vpcID                string
	defaultSecurityGroup string
	cache                shapeCache
	answers              answerCache
	network              Networks
	events               *event.Log
	// netMu serializes changes of networking resources, which read a
	// record and write it back.
	netMu sync.Mutex
	// views holds listings' slices (*[]compute.View) for the next
	// DescribeInstances.
	views sync.Pool
}

// New returns the EC2 service for the endpoint.
func New(opts Options) (awsapi.Service, error) {
	_, svc, err := build(opts)
	return svc, err
}

// build returns the EC2 service and its handlers.
func build(opts Options) (*Service, awsapi.Service, error) {
	m, err := model.Load("ec2")
	if err != nil {
		return nil, awsapi.Service{}, err
	}
	if len(opts.Zones) == 0 {
		return nil, awsapi.Service{}, errors.New("ec2: no availability zones")
	}
	s := &Service{
		compute: opts.Compute, resources: opts.Resources, region: opts.Region, account: opts.AccountID,
		zones: opts.Zones, vpcID: DefaultVPC(opts.Region), defaultSecurityGroup: "sg-" + hexName("default/"+opts.Region),
		network: opts.Network, events: opts.Events,
	}
	if s.events == nil {
		s.events = event.New(16, nil)
	}
	return s, awsapi.Service{Name: "ec2", Model: m, Handlers: map[string]awsapi.Handler{
		"DescribeInstances":              s.describeInstances,
		"DescribeInstanceStatus":         s.describeInstanceStatus,
		"RunInstances":                   s.runInstances,
		"StartInstances":                 s.startInstances,
		"StopInstances":                  s.stopInstances,
		"RebootInstances":                s.rebootInstances,
		"TerminateInstances":             s.terminateInstances,
		"CreateTags":                     s.createTagsAll,
		"DeleteTags":                     s.deleteTagsAll,
		"DescribeTags":                   s.describeTags,
		"GetConsoleOutput":               s.getConsoleOutput,
		"DescribeImages":                 s.describeImages,
		"CreateImage":                    s.createImage,
		"DeregisterImage":                s.deregisterImage,
		"CreateLaunchTemplate":           s.createLaunchTemplate,
		"CreateLaunchTemplateVersion":    s.createLaunchTemplateVersion,
		"DescribeLaunchTemplates":        s.describeLaunchTemplates,
		"DescribeLaunchTemplateVersions": s.describeLaunchTemplateVersions,
		"ModifyLaunchTemplate":           s.modifyLaunchTemplate,
		"DeleteLaunchTemplate":           s.deleteLaunchTemplate,
		"DescribeInstanceTypes":          s.describeInstanceTypes,
		"DescribeRegions":                s.describeRegions,
		"DescribeAvailabilityZones":      s.describeAvailabilityZones,
		"DescribeAccountAttributes":      s.describeAccountAttributes,
		"DescribeVpcs":                   s.describeVpcs,
		"DescribeSubnets":                s.describeSubnets,
		"DescribeSecurityGroups":         s.describeSecurityGroups,
		"CreateVpc":                      s.createVpc,
		"DeleteVpc":                      s.deleteVpc,
		"CreateSubnet":                   s.createSubnet,
		"DeleteSubnet":                   s.deleteSubnet,
		"CreateSecurityGroup":            s.createSecurityGroup,
		"DeleteSecurityGroup":            s.deleteSecurityGroup,
		"AuthorizeSecurityGroupIngress":  s.authorizeIngress,
		"AuthorizeSecurityGroupEgress":   s.authorizeEgress,
		"RevokeSecurityGroupIngress":     s.revokeIngress,
		"RevokeSecurityGroupEgress":      s.revokeEgress,
		"DescribeSecurityGroupRules":     s.describeSecurityGroupRules,
		"DescribeKeyPairs":               s.describeKeyPairs,
	}}, nil
}

// invalidParameter is EC2's InvalidParameterValue.
func invalidParameter(format string, args ...any) *protocol.Error {
	return protocol.Errorf("InvalidParameterValue", format, args...)
}

// missingParameter is EC2's MissingParameter for a required parameter the
// model does not mark required.
func missingParameter(name string) *protocol.Error {
	return protocol.Errorf("MissingParameter", "The request must contain the parameter %s", name)
}

// notFound is EC2's error for ids that name nothing, by id prefix:
// InvalidInstanceID.NotFound, InvalidAMIID.NotFound, …
func notFound(id string) *protocol.Error {
	switch {
	case strings.HasPrefix(id, "i-"):
		return protocol.Errorf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
	case strings.HasPrefix(id, "ami-"):
		return protocol.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
	case strings.HasPrefix(id, "lt-"):
		return protocol.Errorf("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
	}
	return protocol.Errorf("InvalidID", "The ID '%s' is not valid", id)
}

// ec2Error maps a compute or daemon fault onto EC2's codes.
func ec2Error(err error, id string) error {
	if err == nil {
		return nil
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe
	}
	f, ok := fault.As(err)
	if !ok {
		return err
	}
	msg := f.Error()
	switch f.Code {
	case fault.NotFound:
		switch f.Kind {
		case fault.KindInstance:
			return notFound(orID(f.ID, id))
		case fault.KindImage:
			return protocol.Errorf("InvalidAMIID.NotFound", "%s", msg)
		case fault.KindLaunchTemplate:
			return protocol.Errorf("InvalidLaunchTemplateName.NotFoundException", "%s", msg)
		}
		return protocol.Errorf("InvalidParameterValue", "%s", msg)
	case fault.AlreadyExists:
		if f.Kind == fault.KindImage {
			return protocol.Errorf("InvalidAMIName.Duplicate", "%s", msg)
		}
		if f.Kind == fault.KindLaunchTemplate {
			return protocol.Errorf("InvalidLaunchTemplateName.AlreadyExistsException", "%s", msg)
		}
		return protocol.Errorf("InvalidParameterValue", "%s", msg)
	case fault.Conflict:
		if f.Kind == fault.KindInstance {
			return protocol.Errorf("IncorrectInstanceState", "%s", msg)
		}
		return protocol.Errorf("OperationNotPermitted", "%s", msg)
	case fault.InUse:
		return protocol.Errorf("InvalidParameterValue", "%s", msg)
	case fault.Invalid:
		return protocol.Errorf("InvalidParameterValue", "%s", msg)
	case fault.Unavailable:
		return &protocol.Error{Code: "Unavailable", Message: msg, Status: 503}
	}
	return err
}

func orID(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// filters reads Filter.N (Name, Value.N).
func filters(in protocol.Struct) []filter {
	var out []filter
	for _, f := range in.Structs("Filters") {
		out = append(out, filter{Name: f.String("Name"), Values: f.Strings("Values")})
	}
	return out
}

// page cuts items to one page of maxResults (0: all) starting after the
// NextToken (an index), returning the page and the next token.
func page[T any](items []T, in protocol.Struct, min, max int64) ([]T, string, error) {
	start := 0
	if tok := in.String("NextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", protocol.Errorf("InvalidNextToken", "The specified NextToken %q is not valid", tok)
		}
		start = n
	}
	items = items[start:]
	if !in.Has("MaxResults") {
		return items, "", nil
	}
	size := in.Int("MaxResults")
	if size < min || size > max {
		return nil, "", invalidParameter("Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", size, min, max)
	}
	if int64(len(items)) <= size {
		return items, "", nil
	}
	return items[:size], strconv.Itoa(start + int(size)), nil
}

// paged answers a listing: one page of items as member, with the
// NextToken of the next page when there is one.
func paged(member string, items []any, in protocol.Struct, min, max int64) (map[string]any, error) {
	pg, next, err := page(items, in, min, max)
	if err != nil {
		return nil, err
	}
	out := map[string]any{member: pg}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// decodeUserData undoes the base64 that clients apply to user data.
func decodeUserData(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", invalidParameter("Invalid BASE64 encoding of user data.")
	}
	return string(b), nil
}

// arn builds an EC2 ARN of the service's region and account.
func (s *Service) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:%s", s.region, s.account, resource)
}

// notFoundCode is an EC2 not-found error of a given code.
func notFoundCode(code, format string, args ...any) *protocol.Error {
	return protocol.Errorf(code, format, args...)
}
