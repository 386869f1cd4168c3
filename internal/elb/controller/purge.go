package controller

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Purge removes what the controller keeps of load balancers and target
// groups beyond their store records, once those records are deleted and
// the controller has observed it: the access log directories of load
// balancers that no longer exist (Home/logs/elb/NAME) and the instances
// it had taken out of rotation. The data plane
// already serves nothing of them (the reload that followed the deletes
// closed their listeners).
func (c *Controller) Purge() error {
	var errs []error
	base := filepath.Join(c.opts.Home, "logs", "elb")
	ents, err := os.ReadDir(base)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("read access log directories: %w", err))
	}
	c.mu.Lock()
	var gone []string
	for _, e := range ents {
		if _, ok := c.lbs[e.Name()]; !ok {
			gone = append(gone, e.Name())
		}
	}
	clear(c.leaving)
	c.mu.Unlock()
	for _, name := range gone {
		if err := os.RemoveAll(filepath.Join(base, name)); err != nil {
			errs = append(errs, fmt.Errorf("remove access logs of %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Configured returns the names of the load balancers and target groups
// that exist (implements cloudwatch.ConfiguredLoadBalancers: the data
// plane keeps the counters of removed ones, which are not published).
func (c *Controller) Configured() (loadBalancers, targetGroups map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	loadBalancers = make(map[string]bool, len(c.lbs))
	for name := range c.lbs {
		loadBalancers[name] = true
	}
	targetGroups = make(map[string]bool, len(c.tgs))
	for name := range c.tgs {
		targetGroups[name] = true
	}
	return loadBalancers, targetGroups
}
