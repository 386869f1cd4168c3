package ec2

import (
	"context"
	"slices"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/instancetype"
)

// vpcCIDR is the default VPC's range: the loopback block instances get
// their addresses from. Every zone's default subnet reports it too, since
// addresses are leased host-wide rather than per zone; the subnet says
// which zone an instance is in.
const vpcCIDR = "127.16.0.0/12"

func (s *Service) knownZone(zone string) bool { return slices.Contains(s.zones, zone) }

// zoneOfSubnet returns the zone of a default subnet.
func (s *Service) zoneOfSubnet(id string) (string, bool) {
	for _, z := range s.zones {
		if subnetOf(z) == id {
			return z, true
		}
	}
	return "", false
}

// zoneID is an AZ id such as "local-az1".
func (s *Service) zoneID(i int) string { return s.region + "-az" + string(rune('1'+i)) }

func (s *Service) describeRegions(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	names := call.Input.Strings("RegionNames")
	if len(names) > 0 && !slices.Contains(names, s.region) {
		return nil, invalidParameter("Invalid region: %s; madang serves %s", names[0], s.region)
	}
	return map[string]any{"Regions": []any{map[string]any{
		"RegionName": s.region, "Endpoint": "ec2." + s.region + ".madang.internal", "OptInStatus": "opt-in-not-required",
	}}}, nil
}

func (s *Service) describeAvailabilityZones(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	fs := filters(in)
	names := in.Strings("ZoneNames")
	var out []any
	for i, z := range s.zones {
		if len(names) > 0 && !slices.Contains(names, z) {
			continue
		}
		f := func(name string) ([]string, bool) {
			switch name {
			case "zone-name":
				return []string{z}, true
			case "zone-id":
				return []string{s.zoneID(i)}, true
			case "state":
				return []string{"available"}, true
			case "region-name":
				return []string{s.region}, true
			case "zone-type":
				return []string{"availability-zone"}, true
			}
			return nil, false
		}
		ok, err := matchAll(fs, f, []string{"zone-name", "zone-id", "state", "region-name", "zone-type"})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, map[string]any{
				"ZoneName": z, "ZoneId": s.zoneID(i), "State": "available", "RegionName": s.region,
				"ZoneType": "availability-zone", "OptInStatus": "opt-in-not-required", "GroupName": s.region,
				"NetworkBorderGroup": s.region, "Messages": []any{},
			})
		}
	}
	for _, n := range names {
		if !s.knownZone(n) {
			return nil, invalidParameter("The zone '%s' does not exist; zones of %s: %v", n, s.region, s.zones)
		}
	}
	return map[string]any{"AvailabilityZones": out}, nil
}

func (s *Service) describeInstanceTypes(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	want := in.Strings("InstanceTypes")
	for _, w := range want {
		if _, err := instancetype.Lookup(w); err != nil {
			return nil, invalidParameter("The following supplied instance types do not exist: [%s]", w)
		}
	}
	fs := filters(in)
	var out []any
	for _, name := range instancetype.Names() {
		if len(want) > 0 && !slices.Contains(want, name) {
			continue
		}
		t, _ := instancetype.Lookup(name)
		f := func(fname string) ([]string, bool) {
			if fname == "instance-type" {
				return []string{name}, true
			}
			return nil, false
		}
		ok, err := matchAll(fs, f, []string{"instance-type"})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out = append(out, map[string]any{
			"InstanceType": name, "CurrentGeneration": true, "FreeTierEligible": name == "t2.micro" || name == "t3.micro",
			"SupportedUsageClasses": []any{"on-demand"}, "SupportedRootDeviceTypes": []any{"ebs"},
			"SupportedVirtualizationTypes": []any{"hvm"}, "BareMetal": false, "Hypervisor": "xen",
			"ProcessorInfo":                 map[string]any{"SupportedArchitectures": []any{"x86_64"}},
			"VCpuInfo":                      map[string]any{"DefaultVCpus": int64(t.VCPUs), "DefaultCores": int64(max(1, t.VCPUs/2)), "DefaultThreadsPerCore": int64(min(2, t.VCPUs))},
			"MemoryInfo":                    map[string]any{"SizeInMiB": t.MemoryMiB},
			"BurstablePerformanceSupported": true,
		})
	}
	return paged("InstanceTypes", out, in, 5, 100)
}

func (s *Service) describeAccountAttributes(_ context.Context, _ *awsapi.Call) (map[string]any, error) {
	attr := func(name string, vals ...string) map[string]any {
		var vs []any
		for _, v := range vals {
			vs = append(vs, map[string]any{"AttributeValue": v})
		}
		return map[string]any{"AttributeName": name, "AttributeValues": vs}
	}
	return map[string]any{"AccountAttributes": []any{
		attr("supported-platforms", "VPC"), attr("default-vpc", s.vpcID), attr("max-instances", "100"),
		attr("vpc-max-security-groups-per-interface", "5"), attr("max-elastic-ips", "5"), attr("vpc-max-elastic-ips", "5"),
	}}, nil
}

func (s *Service) describeKeyPairs(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	for _, n := range call.Input.Strings("KeyNames") {
		return nil, notFoundCode("InvalidKeyPair.NotFound", "The key pair '%s' does not exist (madang instances are processes on this machine: there is no SSH to them)", n)
	}
	return map[string]any{"KeyPairs": []any{}}, nil
}
