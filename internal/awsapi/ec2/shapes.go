package ec2

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/instancetype"
)

// stateCodes are EC2's instance state codes (the low byte of
// InstanceState.Code).
var stateCodes = map[compute.InstanceState]int64{
	compute.StatePending: 0, compute.StateRunning: 16, compute.StateShuttingDown: 32,
	compute.StateTerminated: 48, compute.StateStopping: 64, compute.StateStopped: 80,
}

// instanceState is an InstanceState shape.
func instanceState(st compute.InstanceState) map[string]any {
	return map[string]any{"Code": stateCodes[st], "Name": string(st)}
}

// tagList renders tags as EC2's Tag list, sorted by key.
func tagList(tags map[string]string) []any {
	out := make([]any, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, map[string]any{"Key": k, "Value": tags[k]})
	}
	return out
}

// zoneOf is the instance's availability zone: its own, or the region's
// first for instances placed nowhere in particular.
func (s *Service) zoneOf(in compute.Instance) string {
	if in.Zone != "" {
		return in.Zone
	}
	return s.zones[0]
}

// SubnetOf is the id of a zone's default subnet.
func SubnetOf(zone string) string { return "subnet-" + hexName(zone) }

// DefaultVPC is the id of a region's default VPC.
func DefaultVPC(region string) string { return "vpc-" + hexName("default/"+region) }

// DefaultSecurityGroup is the id of the default security group of a VPC
// of region.
func DefaultSecurityGroup(region, vpc string) string {
	if vpc == DefaultVPC(region) {
		return "sg-" + hexName("default/"+region)
	}
	return "sg-" + hexName("default/"+vpc)
}

func subnetOf(zone string) string { return SubnetOf(zone) }

// hexName makes a stable 17-hex-digit id suffix of a name, as EC2's ids.
func hexName(name string) string {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	s := strconv.FormatUint(h, 16)
	s = strings.Repeat("0", 16-len(s)) + s
	return "0" + s
}

// reservationOf is the reservation id of an instance: madang keeps no
// reservations, so each instance is its own.
func reservationOf(id string) string { return "r-" + strings.TrimPrefix(id, "i-") }

// instanceShape renders an instance as EC2's Instance shape.
func (s *Service) instanceShape(v compute.View, cat *catalog) map[string]any {
	in := v.Instance
	zone := s.zoneOf(in)
	out := make(map[string]any, 32)
	out["InstanceId"] = in.ID
	out["ImageId"] = cat.imageIDs[in.Image]
	out["InstanceType"] = in.InstanceType
	out["State"] = cat.shared("state/"+string(in.State), func() any { return instanceState(in.State) })
	out["LaunchTime"] = in.LaunchTime.UTC().Truncate(time.Second)
	out["AmiLaunchIndex"] = int64(0)
	out["Architecture"] = "x86_64"
	out["Hypervisor"] = "xen"
	out["Placement"] = cat.shared("placement/"+zone, func() any {
		return map[string]any{"AvailabilityZone": zone, "Tenancy": "default", "GroupName": ""}
	})
	out["Monitoring"] = cat.shared("monitoring", func() any { return map[string]any{"State": "enabled"} })
	out["RootDeviceType"] = "ebs"
	out["RootDeviceName"] = "/dev/xvda"
	out["VirtualizationType"] = "hvm"
	out["PlatformDetails"] = "Linux/UNIX"
	out["StateTransitionReason"] = in.StateReason
	out["EbsOptimized"] = false
	out["EnaSupport"] = true
	out["SourceDestCheck"] = true
	out["VpcId"] = s.vpcID
	out["SubnetId"] = subnetOf(zone)
	out["SecurityGroups"] = cat.shared("security-groups", func() any {
		return []any{map[string]any{"GroupId": s.defaultSecurityGroup, "GroupName": "default"}}
	})
	if in.Network != nil {
		s.placeShape(out, in.Network)
	}
	out["CpuOptions"] = cat.shared("cpu/"+in.InstanceType, func() any {
		return map[string]any{"CoreCount": int64(1), "ThreadsPerCore": int64(vcpus(in.InstanceType))}
	})
	if in.State != compute.StateTerminated && in.PrivateIP != "" {
		out["PrivateIpAddress"] = in.PrivateIP
		out["PrivateDnsName"] = "ip-" + strings.ReplaceAll(in.PrivateIP, ".", "-") + ".madang.internal"
	} else {
		out["PrivateDnsName"] = ""
	}
	if in.StateReason != "" {
		out["StateReason"] = map[string]any{"Code": "Client.UserInitiatedShutdown", "Message": in.StateReason}
	}
	tags := tagList(in.Tags)
	if in.LaunchTemplate != "" {
		tags = append(tags,
			map[string]any{"Key": "aws:ec2launchtemplate:id", "Value": cat.templateIDs[in.LaunchTemplate]},
			map[string]any{"Key": "aws:ec2launchtemplate:version", "Value": strconv.Itoa(in.Resolved)})
	}
	out["Tags"] = tags
	return out
}

// catalog is the images and launch templates one call sees, by name.
type catalog struct {
	images       map[string]compute.Image
	imageIDs     map[string]string // image name → ami-…
	imageNames   map[string]string // ami-… → image name
	templates    map[string]compute.LaunchTemplate
	templateIDs  map[string]string // template name → lt-…
	templateByID map[string]string // lt-… → template name
	// parts are shape parts many instances share (a state, a zone's
	// placement), made once per call: the encoder only reads them.
	parts map[string]any
}

// shared returns the part named key, making it the first time.
func (c *catalog) shared(key string, make func() any) any {
	if v, ok := c.parts[key]; ok {
		return v
	}
	if c.parts == nil {
		c.parts = map[string]any{}
	}
	v := make()
	c.parts[key] = v
	return v
}

func (s *Service) catalog() *catalog {
	c := &catalog{
		images: map[string]compute.Image{}, imageIDs: map[string]string{}, imageNames: map[string]string{},
		templates: map[string]compute.LaunchTemplate{}, templateIDs: map[string]string{}, templateByID: map[string]string{},
	}
	for _, im := range s.compute.Images() {
		c.images[im.Spec.Name], c.imageIDs[im.Spec.Name], c.imageNames[im.ID] = im, im.ID, im.Spec.Name
	}
	for _, lt := range s.compute.LaunchTemplates() {
		c.templates[lt.Name], c.templateIDs[lt.Name], c.templateByID[lt.ID] = lt, lt.ID, lt.Name
	}
	return c
}

// vcpus is an instance type's vCPU count (1 for an unknown type).
func vcpus(typ string) int {
	t, err := instancetype.Lookup(typ)
	if err != nil || t.VCPUs < 1 {
		return 1
	}
	return int(t.VCPUs)
}

// instanceFilters are DescribeInstances' filter names madang answers.
var instanceFilters = []string{
	"instance-id", "instance-state-name", "instance-state-code", "instance-type", "image-id",
	"availability-zone", "private-ip-address", "private-dns-name", "launch-time", "reservation-id",
	"vpc-id", "subnet-id", "tag:KEY", "tag-key", "tag-value",
}

// instanceField answers DescribeInstances' filters for one instance shape.
func instanceField(shape map[string]any, in compute.Instance) field {
	return func(name string) ([]string, bool) {
		str := func(k string) []string {
			if s, ok := shape[k].(string); ok && s != "" {
				return []string{s}
			}
			return nil
		}
		switch name {
		case "instance-id":
			return []string{in.ID}, true
		case "instance-state-name":
			return []string{string(in.State)}, true
		case "instance-state-code":
			return []string{strconv.FormatInt(stateCodes[in.State], 10)}, true
		case "instance-type":
			return []string{in.InstanceType}, true
		case "image-id":
			return str("ImageId"), true
		case "availability-zone":
			return []string{shape["Placement"].(map[string]any)["AvailabilityZone"].(string)}, true
		case "private-ip-address":
			return str("PrivateIpAddress"), true
		case "private-dns-name":
			return str("PrivateDnsName"), true
		case "launch-time":
			return []string{in.LaunchTime.UTC().Format("2006-01-02T15:04:05.000Z")}, true
		case "reservation-id":
			return []string{reservationOf(in.ID)}, true
		case "vpc-id":
			return str("VpcId"), true
		case "subnet-id":
			return str("SubnetId"), true
		}
		return tagField(in.Tags, name)
	}
}
