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
//
// Entries are updated in place: a listing allocates nothing for the
// instances it finds unchanged. A listing of every instance forgets the
// instances it no longer finds (terminated ones once compute has purged
// them); a listing of some ids (InstanceIds) forgets nothing.
type shapeCache struct {
	mu sync.Mutex
	m  map[string]*cachedShape // by instance id
	// listings counts the listings of every instance; an entry's seen is
	// the count of the last one that found it.
	listings uint64
	key      []byte // scratch for appendKey, used under mu
}

type cachedShape struct {
	key         string
	shape       map[string]any
	reservation *protocol.Frozen // the Reservation shape wrapping shape
	seen        uint64
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
// each) frozen so that the encoder keeps its bytes, reusing the cached
// ones that are still current. all says views is every instance, so that
// instances no longer listed are forgotten.
func (s *Service) reservations(views []compute.View, cat *catalog, all bool) []*cachedShape {
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*cachedShape, len(views))
	}
	if all {
		c.listings++
	}
	out := make([]*cachedShape, len(views))
	for i, v := range views {
		c.key = s.appendKey(c.key[:0], v, cat)
		e, ok := c.m[v.ID]
		if !ok || e.key != string(c.key) {
			shape := s.instanceShape(v, cat)
			e = &cachedShape{key: string(c.key), shape: shape, reservation: protocol.Freeze(s.reservation(v.ID, []any{shape}))}
			c.m[v.ID] = e
		}
		e.seen = c.listings
		out[i] = e
	}
	if all && len(c.m) > len(views) {
		for id, e := range c.m {
			if e.seen != c.listings {
				delete(c.m, id)
			}
		}
	}
	return out
}

// cached reports how many instances' shapes the cache holds.
func (c *shapeCache) cached() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// appendLister is implemented by compute services that list into a
// caller's slice (*compute.Service does).
type appendLister interface {
	AppendListing(dst []compute.View) []compute.View
}

// listing returns every instance, as Compute.Listing does, in a slice of
// the service's pool when the compute service can fill one; done gives
// the slice back once nothing refers to it any more (the shapes made from
// it copy what they need).
func (s *Service) listing() (views []compute.View, done func()) {
	al, ok := s.compute.(appendLister)
	if !ok {
		return s.compute.Listing(), func() {}
	}
	p, _ := s.views.Get().(*[]compute.View)
	if p == nil {
		p = new([]compute.View)
	}
	*p = al.AppendListing((*p)[:0])
	return *p, func() { s.views.Put(p) }
}

var _ appendLister = (*compute.Service)(nil)
