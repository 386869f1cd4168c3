// Command harness runs madang's load balancer data plane alone for the
// benchmark: one load balancer, one HTTP listener on 127.0.0.1 forwarding
// round robin to the given targets, access log off.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/madang-dev/madang/internal/proxy"
	"github.com/madang-dev/madang/internal/route"
)

func main() {
	port := flag.Int("port", 18090, "listener port on 127.0.0.1")
	targets := flag.String("targets", "127.0.0.1:18081,127.0.0.1:18082", "comma-separated target addresses")
	algorithm := flag.String("algorithm", "round_robin", "load_balancing.algorithm.type")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	procs := flag.Int("gomaxprocs", 0, "GOMAXPROCS for the proxy; 0 keeps Go's default (the number of CPUs)")
	loops := flag.Int("loops", 0, "event loops (proxy.Options.EventLoops): 0 one per GOMAXPROCS, -1 a goroutine per connection")
	flag.Parse()
	if *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*port, strings.Split(*targets, ","), *algorithm, *loops); err != nil {
		log.Print(err)
	}
}

func run(port int, addrs []string, algorithm string, loops int) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p := proxy.New(proxy.Options{Logger: logger, EventLoops: loops})
	tg := proxy.TargetGroup{Name: "bench", Algorithm: algorithm}
	for i, a := range addrs {
		tg.Targets = append(tg.Targets, proxy.Target{ID: fmt.Sprintf("t%d", i+1), Addr: a, Weight: 1})
	}
	cfg := proxy.Config{
		LoadBalancers: []proxy.LoadBalancer{{
			Name:    "bench",
			Address: "127.0.0.1",
			Listeners: []proxy.Listener{{
				Port:           port,
				DefaultActions: []route.Action{route.ForwardTo("bench")},
			}},
		}},
		TargetGroups: []proxy.TargetGroup{tg},
	}
	if err := p.Update(cfg); err != nil {
		return err
	}
	for _, t := range tg.Targets {
		p.SetHealthy(tg.Name, t.ID, true, time.Now())
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.Shutdown(ctx)
}
