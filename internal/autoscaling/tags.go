// The tags of a group's instances. A launched instance gets them with its
// launch; an attached one gets them when the group takes it in, and a
// detached one loses the group tag once it has left. Both are kept
// level-triggered by the group's rounds, so a daemon that stops between an
// attach or a detach and the tag change makes it on its next start.

package autoscaling

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/madang-dev/madang/internal/compute"
)

// GroupTag is the tag AWS gives every instance of an Auto Scaling group,
// its value the group's name. Users cannot set it (EC2 refuses tag keys
// beginning with aws:).
const GroupTag = "aws:autoscaling:groupName"

// instanceTags returns the tags the group gives its instances: the
// group's own tags (every one propagates at launch, as PropagateAtLaunch
// true) and GroupTag.
func (s *GroupSpec) instanceTags() map[string]string {
	tags := maps.Clone(s.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[GroupTag] = s.Name
	return tags
}

// tagsLocked starts the tag changes the group's instances need: a member
// whose instance does not carry the group tag (an attached one) gets it
// and the group's tags, as AWS tags an attached instance; an instance the
// group detached that still names the group loses the group tag, as AWS
// removes it. Other tags are left as they are.
func (s *Service) tagsLocked(ctx context.Context, g *Group, c *Capacity, ms []*Member, all map[string]compute.Instance) {
	name := g.Spec.Name
	for _, m := range ms {
		in, ok := all[m.InstanceID]
		if !ok || in.Desired == compute.StateTerminated || in.Tags[GroupTag] == name {
			continue
		}
		s.goTag(ctx, name, m.InstanceID, g.Spec.instanceTags(), nil)
	}
	for _, id := range c.Detached {
		in, ok := all[id]
		if !ok || in.Desired == compute.StateTerminated || in.Tags[GroupTag] != name || s.members[id] != nil {
			continue
		}
		s.goTag(ctx, name, id, nil, []string{GroupTag})
	}
}

// goTag changes an instance's tags through compute (as EC2's CreateTags
// and DeleteTags do) in the background, once at a time per instance.
func (s *Service) goTag(ctx context.Context, group, id string, set map[string]string, remove []string) {
	if s.tagging[id] {
		return
	}
	s.tagging[id] = true
	s.goAsync(func() {
		_, err := s.opts.Compute.SetTags(context.WithoutCancel(ctx), id, set, remove)
		s.mu.Lock()
		delete(s.tagging, id)
		s.mu.Unlock()
		switch {
		case err != nil:
			s.opts.Events.Error(KindGroup, group, "tag instance %s: %v", id, err)
		case len(remove) > 0:
			s.opts.Events.Info(KindGroup, group, "instance %s no longer carries the tag %s", id, GroupTag)
		default:
			msg := fmt.Sprintf("instance %s tagged %s=%s", id, GroupTag, group)
			if keys := slices.DeleteFunc(slices.Sorted(maps.Keys(set)), func(k string) bool { return k == GroupTag }); len(keys) > 0 {
				msg += " and with the group's tags " + strings.Join(keys, ", ")
			}
			s.opts.Events.Info(KindGroup, group, "%s", msg)
		}
	})
}
