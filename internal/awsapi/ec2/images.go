package ec2

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/awsapi"
	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/instancetype"
)

// imageShape renders an image as EC2's Image shape. A madang image keeps
// versions (rebuilt source); the AMI stands for its newest one.
func (s *Service) imageShape(im compute.Image) map[string]any {
	cur := im.Current()
	created := im.CreatedAt
	if !cur.BuiltAt.IsZero() {
		created = cur.BuiltAt
	}
	desc := im.Spec.Description
	if desc == "" {
		desc = fmt.Sprintf("%s, version %d (madang image of %s)", im.Spec.Name, cur.Number, im.Spec.Source)
	}
	tags := []any{map[string]any{"Key": "madang:version", "Value": strconv.Itoa(cur.Number)}}
	if im.Owner != "" {
		tags = append(tags, map[string]any{"Key": "aws:cloudformation:stack-name", "Value": im.Owner})
	}
	return map[string]any{
		"ImageId": im.ID, "Name": im.Spec.Name, "Description": desc,
		"ImageLocation": s.account + "/" + im.Spec.Name, "State": "available", "OwnerId": s.account,
		"CreationDate": created.UTC().Format("2006-01-02T15:04:05.000Z"), "Public": false,
		"Architecture": "x86_64", "ImageType": "machine", "RootDeviceType": "ebs", "RootDeviceName": "/dev/xvda",
		"VirtualizationType": "hvm", "Hypervisor": "xen", "PlatformDetails": "Linux/UNIX",
		"UsageOperation": "RunInstances", "EnaSupport": true, "BlockDeviceMappings": []any{},
		"Tags": tags,
	}
}

func (s *Service) describeImages(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	images := s.compute.Images()
	want := in.Strings("ImageIds")
	if len(want) > 0 {
		have := map[string]bool{}
		for _, im := range images {
			have[im.ID] = true
		}
		for _, id := range want {
			if !have[id] {
				return nil, protocol.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
			}
		}
	}
	owners := in.Strings("Owners")
	ownsAll := len(owners) == 0 || slices.ContainsFunc(owners, func(o string) bool { return o == "self" || o == s.account })
	fs := filters(in)
	var out []any
	for _, im := range images {
		if !ownsAll || (len(want) > 0 && !slices.Contains(want, im.ID)) {
			continue
		}
		shape := s.imageShape(im)
		f := func(name string) ([]string, bool) {
			switch name {
			case "image-id":
				return []string{im.ID}, true
			case "name":
				return []string{im.Spec.Name}, true
			case "state":
				return []string{"available"}, true
			case "owner-id":
				return []string{s.account}, true
			case "architecture":
				return []string{"x86_64"}, true
			case "image-type":
				return []string{"machine"}, true
			case "is-public":
				return []string{"false"}, true
			case "description":
				return []string{shape["Description"].(string)}, true
			}
			tags := map[string]string{}
			for _, t := range shape["Tags"].([]any) {
				m := t.(map[string]any)
				tags[m["Key"].(string)] = m["Value"].(string)
			}
			return tagField(tags, name)
		}
		ok, err := matchAll(fs, f, []string{"image-id", "name", "state", "owner-id", "architecture", "image-type", "is-public", "description", "tag:KEY", "tag-key", "tag-value"})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, shape)
		}
	}
	return paged("Images", out, in, 1, 1000)
}

func (s *Service) createImage(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	id := in.String("InstanceId")
	if _, err := s.selectInstances([]string{id}); err != nil {
		return nil, err
	}
	im, err := s.compute.CreateImage(ctx, compute.CreateImageRequest{
		InstanceID: id, Name: in.String("Name"), Description: in.String("Description"), NoReboot: in.Bool("NoReboot"),
	})
	if err != nil {
		return nil, ec2Error(err, id)
	}
	return map[string]any{"ImageId": im.ID}, nil
}

func (s *Service) deregisterImage(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	id := call.Input.String("ImageId")
	name, ok := s.catalog().imageNames[id]
	if !ok {
		return nil, protocol.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
	}
	if err := s.resources.DeleteResource(ctx, compute.KindImage, name); err != nil {
		return nil, ec2Error(err, id)
	}
	return map[string]any{}, nil
}

// templateName finds the launch template a request names by
// LaunchTemplateId or LaunchTemplateName.
func (s *Service) templateName(in protocol.Struct, cat *catalog) (string, error) {
	if id := in.String("LaunchTemplateId"); id != "" {
		name, ok := cat.templateByID[id]
		if !ok {
			return "", protocol.Errorf("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
		}
		return name, nil
	}
	name := in.String("LaunchTemplateName")
	if name == "" {
		return "", missingParameter("LaunchTemplateId or LaunchTemplateName")
	}
	if _, ok := cat.templates[name]; !ok {
		return "", protocol.Errorf("InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", name)
	}
	return name, nil
}

// launchData reads a RequestLaunchTemplateData into madang's launch data,
// over base (the source version's data, or nothing).
func (s *Service) launchData(ctx context.Context, d protocol.Struct, base compute.LaunchTemplateData, cat *catalog) (compute.LaunchTemplateData, error) {
	out := base
	if id := d.String("ImageId"); id != "" {
		name, ok := cat.imageNames[id]
		if !ok {
			return out, protocol.Errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
		}
		out.Image = name
	}
	if t := d.String("InstanceType"); t != "" {
		if _, err := instancetype.Lookup(t); err != nil {
			return out, invalidParameter("Invalid value '%s' for InstanceType. madang knows %s", t, strings.Join(instancetype.Names(), ", "))
		}
		out.InstanceType = t
	}
	if d.Has("UserData") {
		ud, err := decodeUserData(d.String("UserData"))
		if err != nil {
			return out, err
		}
		out.UserData = ud
	}
	if d.Has("SecurityGroupIds") || d.Has("SecurityGroups") {
		refs, err := s.templateGroups(ctx, d.Strings("SecurityGroupIds"), d.Strings("SecurityGroups"))
		if err != nil {
			return out, err
		}
		out.SecurityGroups = refs
	}
	if out.Image == "" {
		return out, missingParameter("LaunchTemplateData.ImageId")
	}
	return out, nil
}

// templateShape renders a launch template as EC2's LaunchTemplate shape.
func (s *Service) templateShape(lt compute.LaunchTemplate) map[string]any {
	out := map[string]any{
		"LaunchTemplateId": lt.ID, "LaunchTemplateName": lt.Name, "CreateTime": lt.CreatedAt.UTC().Truncate(time.Second),
		"CreatedBy": "arn:aws:iam::" + s.account + ":root", "DefaultVersionNumber": int64(lt.DefaultVersion),
		"LatestVersionNumber": int64(lt.Latest()), "Tags": []any{},
	}
	if lt.Owner != "" {
		out["Tags"] = []any{map[string]any{"Key": "aws:cloudformation:stack-name", "Value": lt.Owner}}
	}
	return out
}

// versionShape renders one version as EC2's LaunchTemplateVersion shape.
func (s *Service) versionShape(lt compute.LaunchTemplate, v compute.LaunchTemplateVersion, cat *catalog) map[string]any {
	data := map[string]any{"ImageId": cat.imageIDs[v.Data.Image]}
	if v.Data.InstanceType != "" {
		data["InstanceType"] = v.Data.InstanceType
	}
	if v.Data.UserData != "" {
		data["UserData"] = base64.StdEncoding.EncodeToString([]byte(v.Data.UserData))
	}
	if len(v.Data.SecurityGroups) > 0 {
		ids := make([]any, len(v.Data.SecurityGroups))
		for i, g := range v.Data.SecurityGroups {
			ids[i] = g.ID
		}
		data["SecurityGroupIds"] = ids
	}
	return map[string]any{
		"LaunchTemplateId": lt.ID, "LaunchTemplateName": lt.Name, "VersionNumber": int64(v.Number),
		"DefaultVersion": v.Number == lt.DefaultVersion, "CreateTime": v.CreatedAt.UTC().Truncate(time.Second),
		"CreatedBy": "arn:aws:iam::" + s.account + ":root", "LaunchTemplateData": data,
	}
}

func (s *Service) createLaunchTemplate(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	name := in.String("LaunchTemplateName")
	cat := s.catalog()
	if _, ok := cat.templates[name]; ok {
		return nil, protocol.Errorf("InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
	}
	data, err := s.launchData(ctx, in.Struct("LaunchTemplateData"), compute.LaunchTemplateData{}, cat)
	if err != nil {
		return nil, err
	}
	spec := &compute.LaunchTemplateSpec{Name: name, Description: in.String("VersionDescription"), LaunchTemplateData: data}
	if _, err := s.resources.PutResource(ctx, compute.KindLaunchTemplate, spec); err != nil {
		return nil, ec2Error(err, "")
	}
	lt, ok := s.catalog().templates[name]
	if !ok {
		return nil, protocol.InternalError("launch template %s was written but is not served", name)
	}
	return map[string]any{"LaunchTemplate": s.templateShape(lt)}, nil
}

// specOfTemplate is the spec that keeps a stored template as it is.
func specOfTemplate(lt compute.LaunchTemplate) *compute.LaunchTemplateSpec {
	spec := &compute.LaunchTemplateSpec{Name: lt.Name, Description: lt.Description}
	if lt.Latest() > 0 {
		spec.LaunchTemplateData = lt.Versions[lt.Latest()-1].Data
	}
	if lt.DefaultVersion != lt.Latest() {
		spec.DefaultVersion = lt.DefaultVersion
	}
	return spec
}

func (s *Service) createLaunchTemplateVersion(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	cat := s.catalog()
	name, err := s.templateName(in, cat)
	if err != nil {
		return nil, err
	}
	lt := cat.templates[name]
	var base compute.LaunchTemplateData
	if src := in.String("SourceVersion"); src != "" {
		v, ok := lt.Version(src)
		if !ok {
			return nil, protocol.Errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s of %s", src, name)
		}
		base = v.Data
	}
	data, err := s.launchData(ctx, in.Struct("LaunchTemplateData"), base, cat)
	if err != nil {
		return nil, err
	}
	spec := specOfTemplate(lt)
	// A new version does not become the default, as on EC2.
	spec.DefaultVersion = lt.DefaultVersion
	spec.LaunchTemplateData = data
	if _, err := s.resources.PutResource(ctx, compute.KindLaunchTemplate, spec); err != nil {
		return nil, ec2Error(err, "")
	}
	cat = s.catalog()
	lt = cat.templates[name]
	return map[string]any{"LaunchTemplateVersion": s.versionShape(lt, lt.Versions[lt.Latest()-1], cat)}, nil
}

func (s *Service) modifyLaunchTemplate(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	cat := s.catalog()
	name, err := s.templateName(in, cat)
	if err != nil {
		return nil, err
	}
	lt := cat.templates[name]
	spec := specOfTemplate(lt)
	if v := in.String("DefaultVersion"); v != "" {
		ver, ok := lt.Version(v)
		if !ok {
			return nil, protocol.Errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s of %s", v, name)
		}
		spec.DefaultVersion = ver.Number
		if ver.Number == lt.Latest() {
			spec.DefaultVersion = 0
		}
	}
	if _, err := s.resources.PutResource(ctx, compute.KindLaunchTemplate, spec); err != nil {
		return nil, ec2Error(err, "")
	}
	return map[string]any{"LaunchTemplate": s.templateShape(s.catalog().templates[name])}, nil
}

func (s *Service) deleteLaunchTemplate(ctx context.Context, call *awsapi.Call) (map[string]any, error) {
	cat := s.catalog()
	name, err := s.templateName(call.Input, cat)
	if err != nil {
		return nil, err
	}
	lt := cat.templates[name]
	if err := s.resources.DeleteResource(ctx, compute.KindLaunchTemplate, name); err != nil {
		return nil, ec2Error(err, "")
	}
	return map[string]any{"LaunchTemplate": s.templateShape(lt)}, nil
}

func (s *Service) describeLaunchTemplates(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	cat := s.catalog()
	ids, names := in.Strings("LaunchTemplateIds"), in.Strings("LaunchTemplateNames")
	for _, id := range ids {
		if _, ok := cat.templateByID[id]; !ok {
			return nil, protocol.Errorf("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
		}
	}
	for _, n := range names {
		if _, ok := cat.templates[n]; !ok {
			return nil, protocol.Errorf("InvalidLaunchTemplateName.NotFoundException", "At least one of the launch templates specified in the request does not exist.")
		}
	}
	fs := filters(in)
	var out []any
	for _, lt := range s.compute.LaunchTemplates() {
		if (len(ids) > 0 || len(names) > 0) && !slices.Contains(ids, lt.ID) && !slices.Contains(names, lt.Name) {
			continue
		}
		f := func(name string) ([]string, bool) {
			switch name {
			case "launch-template-name":
				return []string{lt.Name}, true
			case "create-time":
				return []string{lt.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")}, true
			}
			return tagField(map[string]string{}, name)
		}
		ok, err := matchAll(fs, f, []string{"launch-template-name", "create-time", "tag:KEY", "tag-key"})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, s.templateShape(lt))
		}
	}
	return paged("LaunchTemplates", out, in, 1, 200)
}

func (s *Service) describeLaunchTemplateVersions(_ context.Context, call *awsapi.Call) (map[string]any, error) {
	in := call.Input
	cat := s.catalog()
	var templates []compute.LaunchTemplate
	if in.Has("LaunchTemplateId") || in.Has("LaunchTemplateName") {
		name, err := s.templateName(in, cat)
		if err != nil {
			return nil, err
		}
		templates = []compute.LaunchTemplate{cat.templates[name]}
	} else {
		if len(in.Strings("Versions")) > 0 {
			return nil, missingParameter("LaunchTemplateId or LaunchTemplateName")
		}
		templates = s.compute.LaunchTemplates()
	}
	minV, maxV := parseVersionBound(in.String("MinVersion")), parseVersionBound(in.String("MaxVersion"))
	var out []any
	for _, lt := range templates {
		var versions []compute.LaunchTemplateVersion
		if want := in.Strings("Versions"); len(want) > 0 {
			for _, w := range want {
				v, ok := lt.Version(w)
				if !ok {
					return nil, protocol.Errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s of %s", w, lt.Name)
				}
				versions = append(versions, v)
			}
		} else {
			versions = lt.Versions
		}
		for _, v := range versions {
			if (minV > 0 && v.Number < minV) || (maxV > 0 && v.Number > maxV) {
				continue
			}
			out = append(out, s.versionShape(lt, v, cat))
		}
	}
	return paged("LaunchTemplateVersions", out, in, 1, 200)
}

func parseVersionBound(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}
