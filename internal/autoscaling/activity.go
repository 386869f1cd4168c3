package autoscaling

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// startActivity opens an activity for an instance of group g; the caller
// holds s.mu. It is written with the batch.
func (s *Service) startActivityLocked(b *batch, group, instance, description, cause, zone string, now time.Time) *Activity {
	s.actSeq++
	a := &Activity{ID: newUUID(), Group: group, Description: description, Cause: cause, StartTime: now,
		StatusCode: StatusInProgress, Progress: 0, InstanceID: instance, Seq: s.actSeq}
	if zone != "" {
		a.Details = fmt.Sprintf(`{"Subnet ID":"subnet-%s","Availability Zone":"%s"}`, zone, zone)
	}
	s.open[a.ID] = a
	b.put(activityKey(group, a), a)
	return a
}

// updateActivityLocked changes an open activity's status and progress.
func (s *Service) updateActivityLocked(b *batch, id, status string, progress int) {
	a, ok := s.open[id]
	if !ok || (a.StatusCode == status && a.Progress == progress) {
		return
	}
	a.StatusCode, a.Progress = status, progress
	b.put(activityKey(a.Group, a), a)
}

// finishActivityLocked ends an open activity with status (Successful,
// Failed or Cancelled) and, for failures, a message.
func (s *Service) finishActivityLocked(b *batch, id, status, message string, now time.Time) {
	a, ok := s.open[id]
	if !ok {
		return
	}
	a.StatusCode, a.StatusMessage, a.EndTime, a.Progress = status, message, now, 100
	delete(s.open, id)
	b.put(activityKey(a.Group, a), a)
}

// recordActivityLocked writes an activity that is over as it starts (a
// change of sizes by a scheduled action, a failed launch).
func (s *Service) recordActivityLocked(b *batch, group, description, cause, status, message string, now time.Time) {
	s.actSeq++
	a := &Activity{ID: newUUID(), Group: group, Description: description, Cause: cause, StartTime: now, EndTime: now,
		StatusCode: status, StatusMessage: message, Progress: 100, Seq: s.actSeq}
	b.put(activityKey(group, a), a)
}

// Activities returns a group's scaling activities, newest first, at most
// max (0: all kept). Activities of deleted groups are kept until they age
// out.
func (s *Service) Activities(ctx context.Context, group string, max int) ([]Activity, error) {
	kvs, _, err := s.opts.Store.List(ctx, ActivityPrefix+group+"/")
	if err != nil {
		return nil, fmt.Errorf("list activities: %w", err)
	}
	out := make([]Activity, 0, len(kvs))
	for _, kv := range slices.Backward(kvs) {
		var a Activity
		if json.Unmarshal(kv.Value, &a) != nil {
			continue
		}
		out = append(out, a)
		if max > 0 && len(out) == max {
			break
		}
	}
	return out, nil
}

// pruneActivities drops a group's oldest finished activities beyond
// activityKeep, and those older than six weeks (AWS keeps six weeks).
func (s *Service) pruneActivities(ctx context.Context, group string, now time.Time) {
	kvs, _, err := s.opts.Store.List(ctx, ActivityPrefix+group+"/")
	if err != nil {
		return
	}
	var b batch
	for i, kv := range kvs {
		var a Activity
		if json.Unmarshal(kv.Value, &a) != nil {
			b.del(kv.Key)
			continue
		}
		if a.Done() && (len(kvs)-i > activityKeep || now.Sub(a.StartTime) > activityMaxAge) {
			b.del(kv.Key)
		}
	}
	s.commit(ctx, &b)
}
