package apitest

import (
	"context"
	"fmt"
	"time"

	"github.com/madang-dev/madang/internal/autoscaling"
	"github.com/madang-dev/madang/internal/fault"
)

// StartRefresh starts a refresh (one active per group, as the controller):
// it is InProgress until cancelled or rolled back.
func (a *AutoScaling) StartRefresh(_ context.Context, group string, prefs autoscaling.RefreshPreferences) (autoscaling.Refresh, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.find(group) == nil {
		return autoscaling.Refresh{}, asgNotFound(group)
	}
	if err := prefs.Validate(); err != nil {
		return autoscaling.Refresh{}, fault.Invalidf(autoscaling.KindGroup, group, "%v", err)
	}
	if rs := a.refreshes[group]; len(rs) > 0 && rs[0].Active() {
		return autoscaling.Refresh{}, fault.Conflictf(autoscaling.KindGroup, group, "InstanceRefreshInProgress: An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
	}
	r := autoscaling.Refresh{ID: fmt.Sprintf("refresh-%d", len(a.refreshes[group])+1), Group: group, Status: autoscaling.RefreshInProgress,
		StartTime: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Total: 2, InstancesToUpdate: 2, Preferences: prefs, FromVersion: 1, ToVersion: 2}
	if a.refreshes == nil {
		a.refreshes = map[string][]autoscaling.Refresh{}
	}
	a.refreshes[group] = append([]autoscaling.Refresh{r}, a.refreshes[group]...)
	return r, nil
}

// AddRefresh stores a refresh of a group as the newest: what the
// controller shows part way through.
func (a *AutoScaling) AddRefresh(group string, r autoscaling.Refresh) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refreshes == nil {
		a.refreshes = map[string][]autoscaling.Refresh{}
	}
	a.refreshes[group] = append([]autoscaling.Refresh{r}, a.refreshes[group]...)
}

// Refreshes returns a group's refreshes, newest first.
func (a *AutoScaling) Refreshes(_ context.Context, group string) ([]autoscaling.Refresh, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.find(group) == nil {
		return nil, asgNotFound(group)
	}
	return append([]autoscaling.Refresh(nil), a.refreshes[group]...), nil
}

func (a *AutoScaling) endRefresh(group, status string) (autoscaling.Refresh, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.find(group) == nil {
		return autoscaling.Refresh{}, asgNotFound(group)
	}
	rs := a.refreshes[group]
	if len(rs) == 0 || !rs[0].Active() {
		return autoscaling.Refresh{}, fault.NotFoundf(autoscaling.KindGroup, group, "ActiveInstanceRefreshNotFound: no instance refresh is in progress for group %s", group)
	}
	rs[0].Status = status
	return rs[0], nil
}

// CancelRefresh cancels the active refresh.
func (a *AutoScaling) CancelRefresh(_ context.Context, group string) (autoscaling.Refresh, error) {
	return a.endRefresh(group, autoscaling.RefreshCancelled)
}

// RollbackRefresh rolls the active refresh back.
func (a *AutoScaling) RollbackRefresh(_ context.Context, group string) (autoscaling.Refresh, error) {
	return a.endRefresh(group, autoscaling.RefreshRollbackInProgress)
}
