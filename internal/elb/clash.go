package elb

import (
	"net/netip"
	"strconv"

	"github.com/madang-dev/madang/internal/fielderr"
)

// PortClashes reports listeners of different load balancers of one stack
// that would bind the same port on overlapping addresses (the same
// address, or a wildcard address such as 0.0.0.0 and any other). Paths
// are relative to the list ("[1].listeners[0].port"); lbs must have their
// defaults applied.
func PortClashes(lbs []LoadBalancerSpec) fielderr.List {
	type bound struct {
		addr netip.Addr
		lb   int
		path string
	}
	type port struct {
		byAddr   map[netip.Addr]bound
		first    *bound // any listener on the port
		wildcard *bound // a listener on 0.0.0.0 or ::
	}
	var errs fielderr.List
	ports := make(map[int]*port)
	for i := range lbs {
		addr, err := netip.ParseAddr(lbs[i].Address)
		if err != nil {
			continue // reported by Validate
		}
		own := make(map[int]bool)
		for j, l := range lbs[i].Listeners {
			if l.Port < 1 || l.Port > 65535 || own[l.Port] {
				continue // reported by Validate
			}
			own[l.Port] = true
			b := bound{addr, i, fielderr.Index(fielderr.Index("", i)+".listeners", j)}
			pt := ports[l.Port]
			if pt == nil {
				pt = &port{byAddr: make(map[netip.Addr]bound)}
				ports[l.Port] = pt
			}
			var clash *bound
			if other, ok := pt.byAddr[addr]; ok {
				clash = &other
			} else if pt.wildcard != nil {
				clash = pt.wildcard
			} else if addr.IsUnspecified() && pt.first != nil {
				clash = pt.first
			}
			if clash != nil {
				errs = append(errs, fielderr.New(b.path+".port", l.Port,
					"clashes with loadBalancers"+clash.path+" (load balancer "+strconv.Quote(lbs[clash.lb].Name)+" on "+clash.addr.String()+")",
					"use another port, or give the load balancers different addresses"))
				continue
			}
			pt.byAddr[addr] = b
			if pt.first == nil {
				pt.first = &b
			}
			if addr.IsUnspecified() {
				pt.wildcard = &b
			}
		}
	}
	return errs
}
