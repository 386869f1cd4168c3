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
