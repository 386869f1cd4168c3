package dataplane

import (
	"context"
)

// restartIfDead starts a new data plane when the one the Client talks to
// has died, restores the health the Client last read from it and applies
// the configuration the Client last applied. It reports whether a new
// data plane serves.
func (c *Client) restartIfDead(ctx context.Context) bool {
	st := c.Status()
	if (State{PID: st.PID, StartTime: st.StartTime}).Alive() {
		return false // alive, only slow or restarting its socket
	}
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	c.log.Error("the data plane died; starting another", "pid", st.PID)
	if err := c.spawn(ctx, false); err != nil {
		c.log.Error("restart the data plane", "err", err)
		return false
	}
	c.mu.Lock()
	cfg, recs := c.lastCfg, c.lastRecs
	c.mu.Unlock()
	if len(recs) > 0 {
		if err := c.Restore(ctx, recs); err != nil {
			c.log.Warn("restore health into the new data plane", "err", err)
		}
	}
	if cfg != nil {
		if err := c.call(ctx, "POST", "/v1/config", cfg, nil); err != nil {
			c.log.Error("apply the configuration to the new data plane", "err", err)
		}
	}
	c.log.Info("data plane restarted", "pid", c.Status().PID)
	return true
}
