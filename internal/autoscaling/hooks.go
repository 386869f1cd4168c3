package autoscaling

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/madang-dev/madang/internal/compute"
	"github.com/madang-dev/madang/internal/fault"
)

// maxHookWait caps a lifecycle action with heartbeats: 48 hours or 100
// heartbeat timeouts, whichever is smaller (AWS's GlobalTimeout).
const maxHookWait = 48 * time.Hour

// hookNames returns the names of the group's hooks for a transition, in
// the order the stack lists them.
func hookNames(g *Group, transition string) []string {
	var out []string
	for _, h := range g.Spec.LifecycleHooks {
		if h.LifecycleTransition == transition {
			out = append(out, h.Name)
		}
	}
	return out
}

func (g *Group) hook(name string) *HookSpec {
	for i := range g.Spec.LifecycleHooks {
		if g.Spec.LifecycleHooks[i].Name == name {
			return &g.Spec.LifecycleHooks[i]
		}
	}
	return nil
}

// enterHookLocked puts a member in the wait state of the first of hooks.
func (s *Service) enterHookLocked(b *batch, g *Group, m *Member, hooks []string, now time.Time) {
	h := g.hook(hooks[0])
	hb := secondsOr(h.HeartbeatTimeout, time.Hour)
	m.Hook = &HookWait{Name: h.Name, Transition: h.LifecycleTransition, Token: newUUID(), Deadline: now.Add(hb),
		GlobalDeadline: now.Add(min(maxHookWait, 100*hb)), Remaining: hooks[1:]}
	switch m.Lifecycle {
	case Pending:
		s.setLifecycleLocked(b, m, PendingWait, now)
	case WarmedPending:
		s.setLifecycleLocked(b, m, WarmedPendingWait, now)
	case Terminating:
		s.setLifecycleLocked(b, m, TerminatingWait, now)
	}
	b.put(MemberPrefix+m.InstanceID, m)
	s.updateActivityLocked(b, m.Activity, StatusMidLifecycleAction, 40)
	s.opts.Events.Info(KindGroup, m.Group, "instance %s waits in lifecycle hook %s (%s; heartbeat timeout %s, default result %s)",
		m.InstanceID, h.Name, h.LifecycleTransition, hb, h.DefaultResult)
}

// hookLocked advances a member waiting in a lifecycle hook: it starts the
// hook's command, applies a completed result or the default result at the
// timeout, and moves on to the next hook or out of the wait state.
func (s *Service) hookLocked(ctx context.Context, b *batch, g *Group, m *Member, in compute.Instance, now time.Time) {
	w := m.Hook
	var spec *HookSpec
	if g != nil && w != nil {
		spec = g.hook(w.Name)
	}
	result := ResultContinue // a hook removed from the stack no longer holds the instance
	if spec != nil {
		result = w.Result
		if result == "" && spec.Command != "" && !s.hookRuns[m.InstanceID] {
			s.runHookLocked(ctx, g, m, spec, in)
			w.Started = true
			b.put(MemberPrefix+m.InstanceID, m)
		}
		if result == "" && (!now.Before(w.Deadline) || !now.Before(w.GlobalDeadline)) {
			result = spec.DefaultResult
			s.opts.Events.Warn(KindGroup, m.Group, "lifecycle hook %s of instance %s timed out: default result %s", w.Name, m.InstanceID, result)
		}
		if result == "" {
			return
		}
	}
	launching := m.Lifecycle != TerminatingWait
	if launching && result == ResultContinue && w != nil && len(w.Remaining) > 0 {
		s.enterHookLocked(b, g, m, w.Remaining, now)
		return
	}
	m.Hook = nil
	switch {
	case !launching:
		m.HooksDone = true
		s.setLifecycleLocked(b, m, Terminating, now)
	case result == ResultAbandon:
		s.unhealthyLocked(b, g, m, "lifecycle hook "+w.Name+" ended with ABANDON", now)
	case m.Lifecycle == WarmedPendingWait:
		s.setLifecycleLocked(b, m, WarmedPendingProc, now)
	default:
		s.setLifecycleLocked(b, m, PendingProceed, now)
	}
	b.put(MemberPrefix+m.InstanceID, m)
}

// runHookLocked starts a hook's command; its exit status completes the
// lifecycle action (0: CONTINUE, otherwise ABANDON). It runs at most the
// heartbeat timeout.
func (s *Service) runHookLocked(ctx context.Context, g *Group, m *Member, spec *HookSpec, in compute.Instance) {
	id, token, hook := m.InstanceID, m.Hook.Token, spec.Name
	s.hookRuns[id] = true
	cmd := spec.Command
	timeout := time.Until(m.Hook.Deadline)
	env := append(os.Environ(),
		"INSTANCE_ID="+id, "AUTO_SCALING_GROUP_NAME="+m.Group, "LIFECYCLE_HOOK_NAME="+hook,
		"LIFECYCLE_TRANSITION="+spec.LifecycleTransition, "LIFECYCLE_ACTION_TOKEN="+token,
		"NOTIFICATION_METADATA="+spec.NotificationMetadata, "HOST="+in.PrivateIP, fmt.Sprintf("PORT=%d", in.Port))
	dir := in.Dir
	s.goAsync(func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		c := exec.CommandContext(cctx, "/bin/sh", "-c", cmd)
		c.Env, c.Dir = env, dir
		c.WaitDelay = time.Second
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		result := ResultContinue
		if err != nil {
			result = ResultAbandon
		}
		s.mu.Lock()
		delete(s.hookRuns, id)
		m := s.members[id]
		if m != nil && m.Hook != nil && m.Hook.Token == token && m.Hook.Result == "" {
			m.Hook.Result = result
			msg := strings.TrimSpace(out.String())
			if len(msg) > 300 {
				msg = msg[len(msg)-300:]
			}
			if err != nil {
				s.opts.Events.Warn(KindGroup, m.Group, "lifecycle hook %s of instance %s: command failed (%v): %s → ABANDON", hook, id, err, msg)
			} else {
				s.opts.Events.Info(KindGroup, m.Group, "lifecycle hook %s of instance %s: command succeeded → CONTINUE", hook, id)
			}
		}
		s.mu.Unlock()
	})
}

// CompleteLifecycleAction completes an instance's wait in a lifecycle hook
// with CONTINUE or ABANDON (AWS's CompleteLifecycleAction): the instance is
// named by id or by the action's token.
func (s *Service) CompleteLifecycleAction(ctx context.Context, group, hook, instanceID, token, result string) error {
	if result != ResultContinue && result != ResultAbandon {
		return fault.Invalidf(KindGroup, group, "lifecycle action result %q is not CONTINUE or ABANDON", result).WithHint("use --result CONTINUE or --result ABANDON")
	}
	return s.withHook(ctx, group, hook, instanceID, token, func(m *Member) {
		m.Hook.Result = result
		s.opts.Events.Info(KindGroup, group, "lifecycle action of instance %s in hook %s completed: %s", m.InstanceID, hook, result)
	})
}

// RecordLifecycleActionHeartbeat extends an instance's wait in a lifecycle
// hook by the hook's heartbeat timeout, up to the global timeout.
func (s *Service) RecordLifecycleActionHeartbeat(ctx context.Context, group, hook, instanceID, token string) error {
	return s.withHook(ctx, group, hook, instanceID, token, func(m *Member) {
		g := s.groups[group]
		hb := time.Hour
		if g != nil {
			if h := g.hook(hook); h != nil {
				hb = secondsOr(h.HeartbeatTimeout, time.Hour)
			}
		}
		m.Hook.Deadline = s.opts.Now().Add(hb)
		if m.Hook.Deadline.After(m.Hook.GlobalDeadline) {
			m.Hook.Deadline = m.Hook.GlobalDeadline
		}
	})
}

func (s *Service) withHook(ctx context.Context, group, hook, instanceID, token string, f func(*Member)) error {
	s.mu.Lock()
	if s.groups[group] == nil {
		s.mu.Unlock()
		return fault.NotFoundf(KindGroup, group, "Auto Scaling group %q does not exist", group)
	}
	var found *Member
	for _, m := range s.members {
		if m.Group == group && m.Hook != nil && m.Hook.Name == hook && (m.InstanceID == instanceID || (token != "" && m.Hook.Token == token)) {
			found = m
		}
	}
	if found == nil {
		s.mu.Unlock()
		return fault.NotFoundf(KindGroup, group, "no active lifecycle action for instance %q (token %q) in hook %s of group %s", instanceID, token, hook, group).
			WithHint("madang asg describe " + group + " lists the instances waiting in hooks")
	}
	f(found)
	var b batch
	b.put(MemberPrefix+found.InstanceID, found)
	s.unlockCommit(ctx, &b)
	s.Kick()
	return nil
}
