package elbv2

import (
	"net"
	"strconv"
	"sync"

	"github.com/madang-dev/madang/internal/awsapi/protocol"
	"github.com/madang-dev/madang/internal/elb"
	"github.com/madang-dev/madang/internal/health"
)

// healthCache keeps each target's TargetHealthDescription from one
// DescribeTargetHealth to the next, frozen so that the encoder keeps its
// XML, keyed by everything the description is made of: a group of a
// hundred targets whose states did not change is mostly a copy. A target
// whose state, reason, description, address or group ports change gets a
// new description; a group's descriptions of targets no longer registered
// are forgotten when it is next described.
type healthCache struct {
	mu sync.Mutex
	m  map[string]map[string]*cachedHealth // by target group ARN, then target id
	// calls counts descriptions; an entry's seen is the last one that
	// found it.
	calls uint64
	key   []byte // scratch, used under mu
}

type cachedHealth struct {
	key  string
	desc *protocol.Frozen
	seen uint64
}

// descriptions returns the TargetHealthDescription of each target of the
// group arn (spec with its defaults applied), in the order of hs.
func (c *healthCache) descriptions(arn string, spec *elb.TargetGroupSpec, hs []health.TargetHealth) []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]map[string]*cachedHealth{}
	}
	group := c.m[arn]
	if group == nil {
		group = make(map[string]*cachedHealth, len(hs))
		c.m[arn] = group
	}
	c.calls++
	out := make([]any, len(hs))
	for i, h := range hs {
		c.key = appendHealthKey(c.key[:0], spec, h)
		e, ok := group[h.ID]
		if !ok || e.key != string(c.key) {
			e = &cachedHealth{key: string(c.key), desc: protocol.Freeze(healthDescription(spec, h))}
			group[h.ID] = e
		}
		e.seen = c.calls
		out[i] = e.desc
	}
	if len(group) > len(hs) {
		for id, e := range group {
			if e.seen != c.calls {
				delete(group, id)
			}
		}
	}
	return out
}

// forget drops the descriptions of target groups that are gone.
func (c *healthCache) forget(exists func(arn string) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for arn := range c.m {
		if !exists(arn) {
			delete(c.m, arn)
		}
	}
}

// appendHealthKey appends what a target's description depends on to b.
func appendHealthKey(b []byte, spec *elb.TargetGroupSpec, h health.TargetHealth) []byte {
	for _, f := range []string{h.ID, h.Addr, string(h.State), h.Reason, h.Description, spec.HealthCheck.Port} {
		b = append(b, f...)
		b = append(b, 0)
	}
	return strconv.AppendInt(b, int64(spec.Port), 10)
}

// healthDescription renders a target's health as ELBv2's
// TargetHealthDescription shape.
func healthDescription(spec *elb.TargetGroupSpec, h health.TargetHealth) map[string]any {
	port := int64(spec.Port)
	if _, p, err := net.SplitHostPort(h.Addr); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			port = int64(n)
		}
	}
	hcPort := spec.HealthCheck.Port
	if hcPort == "traffic-port" || hcPort == "" {
		hcPort = strconv.FormatInt(port, 10)
	}
	th := map[string]any{"State": string(h.State)}
	if h.Reason != "" {
		th["Reason"] = h.Reason
	}
	if h.Description != "" {
		th["Description"] = h.Description
	}
	return map[string]any{"Target": map[string]any{"Id": h.ID, "Port": port}, "HealthCheckPort": hcPort, "TargetHealth": th}
}
