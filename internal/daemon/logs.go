package daemon

import (
	"os"
	"path/filepath"

	"github.com/madang-dev/madang/internal/loggroup"
)

// logSource lists the daemon's log streams for CloudWatch Logs: every
// instance's log (terminated instances' too, while their files remain)
// the access log of every load balancer that has written one, the
// daemon's own log when `madang up` writes one, and the streams written
// through the AWS endpoint's PutLogEvents.
type logSource struct{ d *Daemon }

// Streams implements loggroup.Source.
func (s logSource) Streams() []loggroup.StreamInfo {
	var out []loggroup.StreamInfo
	if s.d.compute != nil {
		for _, v := range s.d.compute.AllInstances() {
			if v.Dir == "" {
				continue
			}
			out = append(out, loggroup.InstanceStream(v.Group, v.ID, filepath.Join(v.Dir, "logs", "instance.log")))
		}
	}
	if s.d.elb != nil {
		for _, lb := range s.d.elb.LoadBalancers() {
			p := s.d.elb.AccessLogPath(lb.Spec.Name)
			if _, err := os.Stat(p); err == nil {
				out = append(out, loggroup.AccessLogStream(lb.Spec.Name, p))
			}
		}
	}
	if p := filepath.Join(s.d.cfg.Home, "daemon.log"); fileExists(p) {
		out = append(out, loggroup.DaemonLogStream(p))
	}
	if s.d.apiLogs != nil {
		out = append(out, s.d.apiLogs.Streams()...)
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
