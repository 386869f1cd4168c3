package ec2

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/instancetype"
)

// validInstanceID reports whether id looks like an EC2 instance id.
func validInstanceID(id string) bool {
	rest, ok := strings.CutPrefix(id, "i-")
	if !ok || len(rest) < 8 || len(rest) > 17 {
		return false
	}
	for _, c := range rest {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// selectInstances returns the instances an InstanceIds list names (all
// when it is empty), in id order; an id that is malformed or names no
// instance is EC2's error for it.
func (s *Service) selectInstances(ids []string) ([]compute.View, error) {
	return selectFrom(s.compute.Listing(), ids)
}

// selectFrom is selectInstances over the listing all.
func selectFrom(all []compute.View, ids []string) ([]compute.View, error) {
	if len(ids) == 0 {
		return all, nil
	}
	byID := make(map[string]compute.View, len(all))
	for _, v := range all {
		byID[v.ID] = v
	}
	var out []compute.View
	var missing []string
	seen := map[string]bool{}
	for _, id := range ids {
		if !validInstanceID(id) {
			return nil, protocol.Errorf("InvalidInstanceID.Malformed", "Invalid id: \"%s\"", id)
		}
		v, ok := byID[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, v)
		}
	}
	if len(missing) > 0 {
		return nil, protocol.Errorf("InvalidInstanceID.NotFound", "The instance ID%s '%s' do%s not exist",
			plural(len(missing), "", "s"), strings.Join(missing, ", "), plural(len(missing), "es", ""))
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (s *Service) describeInstances(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	// The revision is read before the listing: an answer is kept at a
	// revision no newer than what it shows.
	rev, keep := s.revision()
	var key string
	if keep {
		key, keep = answerKey(in)
	}
	if keep {
		if out, ok := s.answers.get(rev, key); ok {
			return out, nil
		}
	}
	ids := in.Strings("InstanceIds")
	all, done := s.listing()
	defer done()
	views, err := selectFrom(all, ids)
	if err != nil {
		return nil, err
	}
	if in.Has("MaxResults") && len(ids) > 0 {
		return nil, invalidParameter("The parameter instancesSet cannot be used with the parameter maxResults")
	}
	cat := s.catalog()
	fs := filters(in)
	reservations := make([]any, 0, len(views))
	for i, c := range s.reservations(views, cat, len(ids) == 0) {
		if len(fs) > 0 {
			ok, err := matchAll(fs, instanceField(c.shape, views[i].Instance), instanceFilters)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		reservations = append(reservations, c.reservation)
	}
	out, err := paged("Reservations", reservations, in, 5, 1000)
	if err == nil && keep {
		s.answers.keep(rev, key, out)
	}
	return out, err
}

// reservation wraps instances in a Reservation shape.
func (s *Service) reservation(id string, instances []any) map[string]any {
	return map[string]any{
		"ReservationId": reservationOf(id), "OwnerId": s.account, "Groups": []any{}, "Instances": instances,
	}
}

func (s *Service) runInstances(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	minCount, maxCount := in.Int("MinCount"), in.Int("MaxCount")
	if minCount < 1 {
		return nil, invalidParameter("Value (%d) for parameter minCount is invalid. Expected a positive integer.", minCount)
	}
	if maxCount < minCount {
		return nil, invalidParameter("Value (%d) for parameter maxCount is invalid. Expected an integer of at least minCount (%d).", maxCount, minCount)
	}
	if maxCount > 100 {
		return nil, protocol.Errorf("InstanceLimitExceeded", "You have requested more instances (%d) than madang launches at once (100).", maxCount)
	}
	cat := s.catalog()
	req := compute.RunRequest{Count: int(maxCount)}
	if lt := in.Struct("LaunchTemplate"); lt != nil {
		name := lt.String("LaunchTemplateName")
		if id := lt.String("LaunchTemplateId"); id != "" {
			n, ok := cat.templateByID[id]
			if !ok {
				return nil, notFound(id)
			}
			name = n
		}
		if name == "" {
			return nil, missingParameter("LaunchTemplate.LaunchTemplateId or LaunchTemplate.LaunchTemplateName")
		}
		if _, ok := cat.templates[name]; !ok {
			return nil, protocol.Errorf("InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", name)
		}
		req.LaunchTemplate, req.Version = name, lt.String("Version")
	}
	launch := &compute.LaunchTemplateData{InstanceType: in.String("InstanceType")}
	if t := launch.InstanceType; t != "" {
		if _, err := instancetype.Lookup(t); err != nil {
			return nil, invalidParameter("Invalid value '%s' for InstanceType. madang knows %s", t, strings.Join(instancetype.Names(), ", "))
		}
	}
	if id := in.String("ImageId"); id != "" {
		name, ok := cat.imageNames[id]
		if !ok {
			return nil, notFound(id)
		}
		launch.Image = name
	} else if req.LaunchTemplate == "" {
		return nil, missingParameter("ImageId")
	}
	ud, err := decodeUserData(in.String("UserData"))
	if err != nil {
		return nil, err
	}
	launch.UserData = ud
	if launch.Image != "" || launch.InstanceType != "" || launch.UserData != "" || req.LaunchTemplate == "" {
		req.Launch = launch
	}
	tags := map[string]string{}
	for _, ts := range in.Structs("TagSpecifications") {
		switch ts.String("ResourceType") {
		case "instance", "":
			for _, t := range ts.Structs("Tags") {
				tags[t.String("Key")] = t.String("Value")
			}
		case "volume", "network-interface":
			// madang instances have neither; the tags have nothing to go on.
		default:
			return nil, invalidParameter("'%s' is not a valid taggable resource type for this operation.", ts.String("ResourceType"))
		}
	}
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		req.Tags = tags
	}
	zone, place, err := s.placement(ctx, in, in.Struct("Placement").String("AvailabilityZone"), req.Count)
	if err != nil {
		return nil, err
	}
	req.Network = place
	if zone != "" && !s.knownZone(zone) {
		return nil, protocol.Errorf("InvalidParameterValue", "Invalid availability zone: [%s]; this region's zones: %s", zone, strings.Join(s.zones, ", "))
	}
	req.Zone = zone
	ins, err := s.compute.Run(ctx, req)
	if err != nil {
		return nil, ec2Error(err, "")
	}
	views := s.compute.Listing()
	byID := map[string]compute.View{}
	for _, v := range views {
		byID[v.ID] = v
	}
	shapes := make([]any, 0, len(ins))
	for i, n := range ins {
		v, ok := byID[n.ID]
		if !ok {
			v = compute.View{Instance: n}
		}
		sh := s.instanceShape(v, cat)
		sh["AmiLaunchIndex"] = int64(i)
		shapes = append(shapes, sh)
	}
	return s.reservation(ins[0].ID, shapes), nil
}

// checkTags applies EC2's limits to tags: keys 1–128 characters, values up
// to 256, no aws: prefix, at most 50.
func checkTags(tags map[string]string) error {
	if len(tags) > 50 {
		return protocol.Errorf("TagLimitExceeded", "The maximum number of tags per resource is 50; %d were given", len(tags))
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 {
			return invalidParameter("Tag key %q must be 1 to 128 characters", k)
		}
		if len(v) > 256 {
			return invalidParameter("Tag value of key %q must be at most 256 characters", k)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalidParameter("Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	return nil
}

// stateChange runs one lifecycle action on each named instance and
// answers with its previous and current state (StartingInstances, …).
func (s *Service) stateChange(ctx context.Context, call *awsapi.Call, member string, act func(context.Context, string) error) (map[string]any, error) {
	ids := call.Input.Strings("InstanceIds")
	if len(ids) == 0 {
		return nil, missingParameter("InstanceId")
	}
	before, err := s.selectInstances(ids)
	if err != nil {
		return nil, err
	}
	prev := map[string]compute.InstanceState{}
	for _, v := range before {
		prev[v.ID] = v.State
	}
	var errs []error
	for _, v := range before {
		if err := act(ctx, v.ID); err != nil {
			errs = append(errs, ec2Error(err, v.ID))
		}
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	after, err := s.selectInstances(ids)
	if err != nil {
		return nil, err
	}
	changes := make([]any, 0, len(after))
	for _, v := range after {
		changes = append(changes, map[string]any{
			"InstanceId": v.ID, "PreviousState": instanceState(prev[v.ID]), "CurrentState": instanceState(v.State),
		})
	}
	if member == "" {
		return map[string]any{}, nil
	}
	return map[string]any{member: changes}, nil
}

func (s *Service) startInstances(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.stateChange(ctx, call, "StartingInstances", s.compute.Start)
}

func (s *Service) stopInstances(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.stateChange(ctx, call, "StoppingInstances", s.compute.Stop)
}

func (s *Service) terminateInstances(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.stateChange(ctx, call, "TerminatingInstances", s.compute.Terminate)
}

func (s *Service) rebootInstances(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	return s.stateChange(ctx, call, "", s.compute.Reboot)
}

// instanceStatus is EC2's status checks of an instance: reachability
// passes once madang's readiness probe has found the app serving.
func instanceStatus(v compute.View) (status, detail string) {
	switch {
	case v.State != compute.StateRunning:
		return "not-applicable", ""
	case v.Phase == "running":
		return "ok", "passed"
	case v.Phase == "starting" || v.Phase == "":
		return "initializing", "initializing"
	}
	return "impaired", "failed"
}

func (s *Service) describeInstanceStatus(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	views, err := s.selectInstances(in.Strings("InstanceIds"))
	if err != nil {
		return nil, err
	}
	all := in.Bool("IncludeAllInstances")
	fs := filters(in)
	var out []any
	for _, v := range views {
		if v.State != compute.StateRunning && !all {
			continue
		}
		status, detail := instanceStatus(v)
		zone := s.zoneOf(v.Instance)
		f := func(name string) ([]string, bool) {
			switch name {
			case "availability-zone":
				return []string{zone}, true
			case "instance-state-name":
				return []string{string(v.State)}, true
			case "instance-status.status", "system-status.status":
				return []string{status}, true
			case "instance-status.reachability", "system-status.reachability":
				return []string{detail}, true
			}
			return nil, false
		}
		ok, err := matchAll(fs, f, []string{"availability-zone", "instance-state-name", "instance-status.status", "instance-status.reachability", "system-status.status", "system-status.reachability"})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		summary := map[string]any{"Status": status}
		if detail != "" {
			summary["Details"] = []any{map[string]any{"Name": "reachability", "Status": detail}}
		}
		out = append(out, map[string]any{
			"InstanceId": v.ID, "AvailabilityZone": zone, "InstanceState": instanceState(v.State),
			"InstanceStatus": summary, "SystemStatus": summary,
		})
	}
	return paged("InstanceStatuses", out, in, 5, 1000)
}

func (s *Service) createTags(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	set := map[string]string{}
	for _, t := range in.Structs("Tags") {
		set[t.String("Key")] = t.String("Value")
	}
	if err := checkTags(set); err != nil {
		return nil, err
	}
	ids := in.Strings("Resources")
	if err := s.instancesOnly(ids); err != nil {
		return nil, err
	}
	if _, err := s.selectInstances(ids); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, err := s.compute.SetTags(ctx, id, set, nil); err != nil {
			return nil, ec2Error(err, id)
		}
	}
	return map[string]any{}, nil
}

func (s *Service) deleteTags(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	ids := in.Strings("Resources")
	if err := s.instancesOnly(ids); err != nil {
		return nil, err
	}
	views, err := s.selectInstances(ids)
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		var remove []string
		for _, t := range in.Structs("Tags") {
			cur, ok := v.Tags[t.String("Key")]
			// A tag given with a value is removed only when it has that value.
			if ok && (!t.Has("Value") || t.String("Value") == cur) {
				remove = append(remove, t.String("Key"))
			}
		}
		if !in.Has("Tags") {
			for k := range v.Tags {
				remove = append(remove, k)
			}
		}
		if len(remove) == 0 {
			continue
		}
		if _, err := s.compute.SetTags(ctx, v.ID, nil, remove); err != nil {
			return nil, ec2Error(err, v.ID)
		}
	}
	return map[string]any{}, nil
}

// instancesOnly refuses tag changes on resources other than instances,
// whose tags madang keeps.
func (s *Service) instancesOnly(ids []string) error {
	if len(ids) == 0 {
		return missingParameter("ResourceId")
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "i-") {
			return invalidParameter("madang keeps tags of instances only; %q is not an instance id", id)
		}
	}
	return nil
}

// taggedResource is a resource DescribeTags lists the tags of.
type taggedResource struct {
	id, kind string
	tags     map[string]string
}

// describeTags lists the tags of instances and of stored VPCs, subnets and
// security groups (resource types instance, vpc, subnet, security-group).
func (s *Service) describeTags(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	fs := filters(in)
	var res []taggedResource
	for _, v := range s.compute.Listing() {
		if v.State != compute.StateTerminated {
			res = append(res, taggedResource{v.ID, "instance", v.Tags})
		}
	}
	set, err := s.networks(ctx)
	if err != nil {
		return nil, err
	}
	for _, v := range set.Vpcs {
		res = append(res, taggedResource{v.Spec.Name, "vpc", v.Spec.Tags})
	}
	for _, sn := range set.Subnets {
		res = append(res, taggedResource{sn.Spec.Name, "subnet", sn.Spec.Tags})
	}
	for _, g := range set.Groups {
		res = append(res, taggedResource{g.Spec.Name, "security-group", g.Spec.Tags})
	}
	var out []any
	for _, r := range res {
		for _, t := range tagList(r.tags) {
			tag := t.(map[string]any)
			key, val := tag["Key"].(string), tag["Value"].(string)
			f := func(name string) ([]string, bool) {
				switch name {
				case "resource-id":
					return []string{r.id}, true
				case "resource-type":
					return []string{r.kind}, true
				case "key", "tag-key":
					return []string{key}, true
				case "value", "tag-value":
					return []string{val}, true
				}
				if k, ok := strings.CutPrefix(name, "tag:"); ok {
					if k == key {
						return []string{val}, true
					}
					return nil, true
				}
				return nil, false
			}
			ok, err := matchAll(fs, f, []string{"resource-id", "resource-type", "key", "value", "tag:KEY"})
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, map[string]any{"ResourceId": r.id, "ResourceType": r.kind, "Key": key, "Value": val})
			}
		}
	}
	return paged("Tags", out, in, 5, 1000)
}

// consoleBytes is how much of the end of an instance's log
// GetConsoleOutput returns (EC2 returns the last 64 KB).
const consoleBytes = 64 << 10

func (s *Service) getConsoleOutput(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	id := call.Input.String("InstanceId")
	if _, err := s.selectInstances([]string{id}); err != nil {
		return nil, err
	}
	path, err := s.compute.LogPath(id)
	if err != nil {
		return nil, ec2Error(err, id)
	}
	b, err := tail(path, consoleBytes)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"InstanceId": id, "Timestamp": time.Now().UTC().Truncate(time.Second),
		"Output": base64.StdEncoding.EncodeToString(b),
	}, nil
}

// tail reads the last n bytes of a file ("" when it does not exist yet).
func tail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-n, 0)
	b := make([]byte, st.Size()-off)
	_, err = f.ReadAt(b, off)
	return b, err
}
