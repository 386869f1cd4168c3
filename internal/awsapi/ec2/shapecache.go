package ec2

import (
	"slices"
	"strconv"
	"sync"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/compute"
)

// shapeCache keeps each instance's Instance shape from one
// DescribeInstances to the next, keyed by everything the shape is made
// of, so a listing of a thousand unchanged instances builds none of them
// again. Shapes in it are never changed after they are made (the encoder
// and the filters only read them); a changed instance gets a new one.
type shapeCache struct {
	mu sync.Mutex
	m  map[string]cachedShape // by instance id
}

type cachedShape struct {
	key         string
	shape       map[string]any
	reservation *protocol.Frozen // the Reservation shape wrapping shape
}

// appendKey appends what an instance's shape depends on to b.
func (s *Service) appendKey(b []byte, v compute.View, cat *catalog) []byte {
	in := v.Instance
	for _, f := range []string{in.ID, string(in.State), in.StateReason, in.InstanceType, in.Image, cat.imageIDs[in.Image],
		s.zoneOf(in), in.PrivateIP, in.LaunchTemplate, cat.templateIDs[in.LaunchTemplate]} {
		b = append(b, f...)
		b = append(b, 0)
	}
	b = strconv.AppendInt(b, int64(in.Resolved), 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, in.LaunchTime.UnixNano(), 10)
	b = append(b, 0)
	var small [8]string
	keys := small[:0]
	for k := range in.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = append(b, k...)
		b = append(b, 1)
		b = append(b, in.Tags[k]...)
		b = append(b, 0)
	}
	return b
}

// reservations returns each view's shapes, its Reservation (one instance
// each) frozen so that the encoder keeps its bytes,
// reusing the cached ones that are still current and forgetting instances
// no longer listed.
func (s *Service) reservations(views []compute.View, cat *catalog) []cachedShape {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	next := make(map[string]cachedShape, len(views))
	out := make([]cachedShape, len(views))
	var buf []byte
	for i, v := range views {
		buf = s.appendKey(buf[:0], v, cat)
		c, ok := s.cache.m[v.ID]
		if !ok || c.key != string(buf) {
			shape := s.instanceShape(v, cat)
			c = cachedShape{key: string(buf), shape: shape, reservation: protocol.Freeze(s.reservation(v.ID, []any{shape}))}
		}
		next[v.ID] = c
		out[i] = c
	}
	s.cache.m = next
	return out
}
