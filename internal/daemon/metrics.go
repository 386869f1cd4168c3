package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// prometheusComponent serves /metrics on Config.PrometheusListen, a
// loopback address (none: the API socket's GET /metrics only).
func (d *Daemon) prometheusComponent() component {
	var hs *http.Server
	done := make(chan struct{})
	return component{name: "prometheus", start: func(context.Context) error {
		addr := d.cfg.PrometheusListen
		if addr == "" {
			close(done)
			return nil
		}
		if err := checkLoopback(addr); err != nil {
			close(done)
			return err
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			close(done)
			return fmt.Errorf("prometheus listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", d.cw.PrometheusHandler())
		hs = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		d.events.Info("daemon", "-", "Prometheus metrics on http://%s/metrics", ln.Addr())
		go func() {
			defer close(done)
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("prometheus listener", "err", err)
			}
		}()
		return nil
	}, stop: func(ctx context.Context) error {
		if hs == nil {
			return nil
		}
		err := hs.Shutdown(ctx)
		<-done
		return err
	}}
}

// checkLoopback refuses a listen address that is not on loopback.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--prometheus-listen %q is not host:port (e.g. 127.0.0.1:9464): %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("--prometheus-listen %q is not a loopback address; use 127.0.0.1:PORT or [::1]:PORT", addr)
	}
	return nil
}
