#!/usr/bin/env bash
# Measures what madang's CloudWatch costs: collecting and storing, every
# second, the metrics of INSTANCES instances (AWS/EC2) and LBS load
# balancers (AWS/ApplicationELB, each with one target group of
# INSTANCES/LBS instances), on a real `madang server`. Beside it, in the
# same run, Debian's Prometheus scrapes the same series from madang's
# /metrics every second.
#
# Phases, DURATION each (default 60s), on the same daemon and instances:
#   off        the collector disabled (--metrics-interval=-1s): the
#              daemon's baseline CPU with the same instances and data plane
#   on         the collector at 1 s: the difference is collection + storage
#   prometheus the collector at 1 s and Prometheus scraping /metrics at 1 s:
#              Prometheus' own CPU, RSS and TSDB bytes, and what the
#              scrapes add to the daemon
# CPU is user+system ticks of the process from /proc/PID/stat over the
# phase, as a percentage of one core. Also printed: the daemon's own
# account (madang/Daemon CollectionTime: wall time per round), series
# count, and the metric store's bytes on disk and in memory.
#
# During every phase each load balancer serves RATE requests per second
# (default 50, bench/daemon/loadgen on one keep-alive connection), so the
# collector handles real counts and response-time distributions.
#
# Environment: INSTANCES (100), LBS (10), DURATION (60s), RATE (50),
# KEEP=1 keeps the work directory.
set -euo pipefail
# Daemons serve their AWS endpoint on a free port, beside a madang on 4566.
export MADANG_AWS_LISTEN=127.0.0.1:0
export MADANG_CONSOLE_LISTEN=127.0.0.1:0

INSTANCES=${INSTANCES:-100}
LBS=${LBS:-10}
DURATION=${DURATION:-60s}
RATE=${RATE:-50}
secs=${DURATION%s}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/madang-cw-bench.XXXXXX)
export MADANG_HOME=$work/home
daemon_pid=""
prom_pid=""
hz=$(getconf CLK_TCK)

cleanup() {
	[ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null || true
	if [ -n "$daemon_pid" ]; then
		"$work/madang" destroy -f "$work/madang.yaml" >/dev/null 2>&1 || true
		kill "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	[ -z "${KEEP:-}" ] && rm -rf "$work" || echo "kept $work"
}
trap cleanup EXIT INT TERM

if ! command -v prometheus >/dev/null; then
	echo "installing prometheus (Debian package)"
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null) || echo "could not install prometheus; its phase is skipped"
fi

echo "building madang and the sample app"
(cd "$root" && go build -o "$work/madang" ./cmd/madang && go build -o "$work/loadgen" ./bench/daemon/loadgen)
mkdir -p "$work/app"
(cd "$root/examples/quickstart/app" && go build -o "$work/app/hello" .)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
per=$((INSTANCES / LBS))
{
	cat <<YAML
name: cw-bench
images:
  - name: hello
    source: ./app
    command: ./hello
    port: 3000
launchTemplates:
  - name: hello
    image: hello
    instanceType: t3.nano
instances:
YAML
	for i in $(seq 1 "$LBS"); do printf '  - {name: g%d, launchTemplate: hello, count: %d}\n' "$i" "$per"; done
	echo "targetGroups:"
	for i in $(seq 1 "$LBS"); do printf '  - {name: g%d, port: 3000, healthCheck: {path: /health, intervalSeconds: 5, timeoutSeconds: 2}, targets: [{instances: g%d}]}\n' "$i" "$i"; done
	echo "loadBalancers:"
	for i in $(seq 1 "$LBS"); do
		p=$(free_port)
		echo "$p" >>"$work/ports"
		printf '  - {name: lb%d, listeners: [{port: %d, defaultActions: [{type: forward, targetGroup: g%d}]}]}\n' "$i" "$p" "$i"
	done
} >"$work/madang.yaml"

prom_port=$(free_port)
wait_traffic() { for j in $(jobs -p); do [ "$j" = "$daemon_pid" ] || [ "$j" = "$prom_pid" ] || wait "$j" 2>/dev/null || true; done; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

start_daemon() { # $1: metrics interval
	"$work/madang" server --metrics-interval "$1" --prometheus-listen "127.0.0.1:$prom_port" >"$work/daemon.log" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 1 100); do "$work/madang" ps >/dev/null 2>&1 && return; sleep 0.2; done
	echo "daemon did not start"; cat "$work/daemon.log"; exit 1
}
stop_daemon() { kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""; }

# traffic: RATE requests per second to every load balancer, for DURATION
# and a little more.
traffic() {
	local p
	[ "$RATE" = 0 ] && return
	while read -r p; do
		"$work/loadgen" -url "http://127.0.0.1:$p/" -c 1 -rate "$RATE" -d "$((secs + 5))s" >/dev/null 2>&1 &
	done <"$work/ports"
}

# measure PID...: prints the CPU % of one core of each pid over DURATION
measure() {
	traffic
	sleep 2
	local before=() after=() p
	for p in "$@"; do before+=("$(ticks "$p")"); done
	sleep "$secs"
	for p in "$@"; do after+=("$(ticks "$p")"); done
	local i out=""
	wait_traffic
	for i in "${!before[@]}"; do
		out+="$(awk -v a="${before[$i]}" -v b="${after[$i]}" -v hz="$hz" -v s="$secs" 'BEGIN {printf "%.2f", (b-a)/hz/s*100}') "
	done
	echo "$out"
}

echo "phase off: $INSTANCES instances, $LBS load balancers, collector disabled"
start_daemon -1s
"$work/madang" apply -f "$work/madang.yaml" >/dev/null
for _ in $(seq 1 300); do
	n=$("$work/madang" ps -o json | grep -c '"state": "running"' || true)
	[ "$n" -ge "$INSTANCES" ] && break
	sleep 1
done
echo "  $n instances running"
sleep 5
off=$(measure "$daemon_pid")
stop_daemon

echo "phase on: the same, collector at 1 s"
start_daemon 1s
sleep 10 # let the first rounds create the series
on=$(measure "$daemon_pid")
status=$("$work/madang" metrics status -o json)
series=$(echo "$status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["series"])')
disk=$(echo "$status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["diskBytes"])')
mem=$(echo "$status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["memoryBytes"])')
round_ms=$("$work/madang" metrics get madang/Daemon CollectionTime --period 60 --since 2m --stat Average -o json |
	python3 -c 'import json,sys; d=json.load(sys.stdin)["datapoints"]; print("%.2f" % (1000*sum(x["average"] for x in d)/max(len(d),1)))')

prom=""
if command -v prometheus >/dev/null; then
	echo "phase prometheus: collector at 1 s, Prometheus scraping /metrics at 1 s"
	mkdir -p "$work/prom"
	cat >"$work/prom/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: madang
    static_configs: [{targets: ["127.0.0.1:$prom_port"]}]
YAML
	prometheus --config.file="$work/prom/prometheus.yml" --storage.tsdb.path="$work/prom/data" \
		--web.listen-address="127.0.0.1:$(free_port)" >"$work/prom.log" 2>&1 &
	prom_pid=$!
	sleep 10
	read -r dprom pcpu <<<"$(measure "$daemon_pid" "$prom_pid")"
	prss=$(rss_kb "$prom_pid")
	pseries=$(curl -s "127.0.0.1:$prom_port/metrics" | grep -vc '^#' || true)
	kill "$prom_pid"; wait "$prom_pid" 2>/dev/null || true; prom_pid=""
	pdisk=$(du -sb "$work/prom/data" | cut -f1)
	prom="yes"
fi

echo
echo "== results ($INSTANCES instances, $LBS load balancers at $RATE req/s each, $DURATION per phase, $(nproc) cores)"
echo "series stored by madang:            $series"
echo "daemon CPU, collector off:          ${off}% of one core"
echo "daemon CPU, collector on:           ${on}% of one core"
awk -v a="$off" -v b="$on" 'BEGIN {printf "collection + storage:               %.2f%% of one core (goal: under 2%%)\n", b-a}'
echo "collector's own round time:         ${round_ms} ms per 1-s round (wall time)"
echo "metric store:                       ${disk} bytes on disk, ${mem} bytes in memory (after $((secs + 10)) s)"
if [ -n "$prom" ]; then
	echo "prometheus series scraped:          $pseries"
	echo "prometheus CPU (scrape at 1 s):     ${pcpu}% of one core"
	echo "daemon CPU while scraped:           ${dprom}% of one core"
	echo "prometheus RSS:                     $((prss / 1024)) MiB"
	echo "prometheus TSDB:                    ${pdisk} bytes after $((secs + 10)) s"
fi
