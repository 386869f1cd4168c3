package compute

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"

	"github.com/madang-dev/madang/internal/fielderr"
	"github.com/madang-dev/madang/internal/kind"
)

// Kind names of compute resources.
const (
	KindImage          = "image"
	KindLaunchTemplate = "launch-template"
	KindInstanceGroup  = "instances"
)

// ImageKind is the image resource kind (the AMIs of madang).
func ImageKind() kind.Kind {
	return &kind.Def[ImageSpec, Image]{
		Meta: kind.Info{Name: KindImage, Title: "image", StackKey: "images", Prefix: ImagePrefix,
			Aliases: []string{"images", "ami"}},
		NameOf:   func(s *ImageSpec) string { return s.Name },
		Validate: func(s *ImageSpec) fielderr.List { return s.Validate() },
		Resolve:  func(s *ImageSpec, dir string) fielderr.List { return s.ResolveSource(dir) },
		SpecOf:   func(r *Image) (ImageSpec, string) { return r.Spec, r.Owner },
		PendingOf: func(ctx context.Context, env kind.Env, s *ImageSpec, old *Image) ([]string, error) {
			if old == nil {
				return nil, nil
			}
			h, err := sourceHash(s.Source, s.Build)
			if err != nil {
				return nil, err
			}
			if old.Current().SourceHash != h {
				return []string{"source changed: a new version will be built"}, nil
			}
			return nil, nil
		},
		BuildOf: buildImage,
		Table: []kind.Column{
			{Header: "NAME", Value: func(r any) string { return r.(*Image).Spec.Name }},
			{Header: "ID", Value: func(r any) string { return r.(*Image).ID }},
			{Header: "VERSION", Value: func(r any) string { return strconv.Itoa(r.(*Image).Current().Number) }},
			{Header: "PORT", Value: func(r any) string { return strconv.Itoa(r.(*Image).Spec.Port) }},
			{Header: "SOURCE", Value: func(r any) string { return r.(*Image).Spec.Source }},
			{Header: "STACK", Value: func(r any) string { return r.(*Image).Owner }},
		},
	}
}

// keptImageVersions is how many versions of an image stay on disk.
const keptImageVersions = 3

// buildImage builds a new version of an image if its spec or source
// changed. Building happens before anything is committed, so a failed
// build changes no record; the snapshot directory of a version that was
// never committed is not named by any record and is removed by the next
// sweep. Old versions are dropped from the record here and their
// directories removed only once the record without them is stored (see
// Service.sweepImages), so a failed apply leaves every stored version
// intact.
func buildImage(ctx context.Context, env kind.Env, spec *ImageSpec, owner string, old *Image) (*Image, bool, error) {
	h, err := sourceHash(spec.Source, spec.Build)
	if err != nil {
		return nil, false, err
	}
	var im Image
	if old != nil {
		if old.Current().SourceHash == h && reflect.DeepEqual(old.Spec, *spec) && old.Owner == owner && old.StackFile == env.StackFile {
			return old, false, nil
		}
		im = *old
		im.Versions = slices.Clone(old.Versions)
	} else {
		im = Image{ID: newID("ami"), CreatedAt: env.Now()}
	}
	im.Spec = *spec
	im.Owner = owner
	im.StackFile = env.StackFile
	if old == nil || old.Current().SourceHash != h {
		n := 1
		if old != nil {
			n = old.Current().Number + 1
		}
		base := filepath.Join(env.Home, "images", spec.Name)
		v := ImageVersion{Number: n, Dir: filepath.Join(base, "v"+strconv.Itoa(n)), SourceHash: h, BuiltAt: env.Now()}
		if spec.Build != "" {
			v.BuildLog = filepath.Join(base, "build-"+strconv.Itoa(n)+".log")
		}
		// A directory left by a build that was never committed is reused.
		_ = os.RemoveAll(v.Dir)
		env.Events.Info("image", spec.Name, "building version %d from %s", n, spec.Source)
		if err := buildSnapshot(ctx, *spec, v.Dir, v.BuildLog, os.Environ()); err != nil {
			env.Events.Error("image", spec.Name, "build failed: %v", err)
			return nil, false, err
		}
		if err := checkAppSpec(spec, v.Dir); err != nil {
			_ = os.RemoveAll(v.Dir)
			env.Events.Error("image", spec.Name, "appspec: %v", err)
			return nil, false, err
		}
		im.Versions = append(im.Versions, v)
		if len(im.Versions) > keptImageVersions {
			im.Versions = im.Versions[len(im.Versions)-keptImageVersions:]
		}
	}
	return &im, true, nil
}

// LaunchTemplateKind is the launch template resource kind.
func LaunchTemplateKind() kind.Kind {
	return &kind.Def[LaunchTemplateSpec, LaunchTemplate]{
		Meta: kind.Info{Name: KindLaunchTemplate, Title: "launch template", StackKey: "launchTemplates",
			Prefix: LaunchTemplatePrefix, Aliases: []string{"launch-templates", "templates", "lt"}},
		NameOf:   func(s *LaunchTemplateSpec) string { return s.Name },
		Defaults: func(s *LaunchTemplateSpec) { s.ApplyDefaults() },
		Validate: func(s *LaunchTemplateSpec) fielderr.List { return s.Validate() },
		Refs: func(s *LaunchTemplateSpec) []kind.Ref {
			return []kind.Ref{{Path: "image", Kind: KindImage, Name: s.Image}}
		},
		SpecOf: func(r *LaunchTemplate) (LaunchTemplateSpec, string) {
			s := LaunchTemplateSpec{Name: r.Name, Description: r.Description}
			if len(r.Versions) > 0 {
				s.LaunchTemplateData = r.Versions[len(r.Versions)-1].Data
			}
			if r.DefaultVersion != r.Latest() {
				s.DefaultVersion = r.DefaultVersion
			}
			return s, r.Owner
		},
		BuildOf: func(_ context.Context, env kind.Env, spec *LaunchTemplateSpec, owner string, old *LaunchTemplate) (*LaunchTemplate, bool, error) {
			var lt LaunchTemplate
			if old != nil {
				if len(old.Versions) > 0 && reflect.DeepEqual(old.Versions[len(old.Versions)-1].Data, spec.LaunchTemplateData) &&
					old.Description == spec.Description && old.Owner == owner &&
					old.DefaultVersion == cmp.Or(spec.DefaultVersion, old.Latest()) {
					return old, false, nil
				}
				lt = *old
				lt.Versions = slices.Clone(old.Versions)
			} else {
				lt = LaunchTemplate{Name: spec.Name, ID: newID("lt"), CreatedAt: env.Now()}
			}
			lt.Description = spec.Description
			lt.Owner = owner
			if len(lt.Versions) == 0 || !reflect.DeepEqual(lt.Versions[len(lt.Versions)-1].Data, spec.LaunchTemplateData) {
				lt.Versions = append(lt.Versions, LaunchTemplateVersion{Number: len(lt.Versions) + 1, Data: spec.LaunchTemplateData, CreatedAt: env.Now()})
			}
			lt.DefaultVersion = lt.Latest()
			if spec.DefaultVersion > 0 {
				if spec.DefaultVersion > lt.Latest() {
					return nil, false, fmt.Errorf("defaultVersion %d: launch template %s has versions 1 to %d; use one of them", spec.DefaultVersion, spec.Name, lt.Latest())
				}
				lt.DefaultVersion = spec.DefaultVersion
			}
			return &lt, true, nil
		},
		Table: []kind.Column{
			{Header: "NAME", Value: func(r any) string { return r.(*LaunchTemplate).Name }},
			{Header: "ID", Value: func(r any) string { return r.(*LaunchTemplate).ID }},
			{Header: "DEFAULT", Value: func(r any) string { return strconv.Itoa(r.(*LaunchTemplate).DefaultVersion) }},
			{Header: "LATEST", Value: func(r any) string { return strconv.Itoa(r.(*LaunchTemplate).Latest()) }},
			{Header: "STACK", Value: func(r any) string { return r.(*LaunchTemplate).Owner }},
		},
	}
}

// InstanceGroupKind is the instance group resource kind: the stack file's
// "keep N of these".
func InstanceGroupKind() kind.Kind {
	return &kind.Def[InstanceGroupSpec, Group]{
		Meta: kind.Info{Name: KindInstanceGroup, Title: "instance group", StackKey: "instances", Prefix: GroupPrefix,
			Aliases: []string{"instance-group", "instance-groups", "groups"}},
		NameOf:   func(s *InstanceGroupSpec) string { return s.Name },
		Defaults: func(s *InstanceGroupSpec) { s.ApplyDefaults() },
		Validate: func(s *InstanceGroupSpec) fielderr.List { return s.Validate() },
		Refs: func(s *InstanceGroupSpec) []kind.Ref {
			return []kind.Ref{{Path: "launchTemplate", Kind: KindLaunchTemplate, Name: s.LaunchTemplate}}
		},
		SpecOf: func(r *Group) (InstanceGroupSpec, string) { return r.Spec, r.Owner },
		BuildOf: func(_ context.Context, _ kind.Env, spec *InstanceGroupSpec, owner string, old *Group) (*Group, bool, error) {
			if old != nil && reflect.DeepEqual(old.Spec, *spec) && old.Owner == owner {
				return old, false, nil
			}
			return &Group{Spec: *spec, Owner: owner}, true, nil
		},
		Table: []kind.Column{
			{Header: "NAME", Value: func(r any) string { return r.(*Group).Spec.Name }},
			{Header: "LAUNCH TEMPLATE", Value: func(r any) string {
				g := r.(*Group)
				return g.Spec.LaunchTemplate + ":" + g.Spec.Version
			}},
			{Header: "COUNT", Value: func(r any) string {
				if c := r.(*Group).Spec.Count; c != nil {
					return strconv.Itoa(*c)
				}
				return "1"
			}},
			{Header: "STACK", Value: func(r any) string { return r.(*Group).Owner }},
		},
	}
}
