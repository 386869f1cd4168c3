#!/usr/bin/env bash
# Measures the AWS-compatible endpoint on a real `madang server`, over HTTP
# with SigV4-signed requests (see awsbench/main.go):
#
#   DescribeInstances of N instances (default 1,000 real instances of the
#   sample app, launched by RunInstances) and DescribeTargetHealth of a
#   target group of TARGETS (100) of them: p50/p99 over ROUNDS (200) calls
#   each from one client on core 1, the whole answer read but not decoded
#   (the instances, their shims and the daemon share both cores). Goal:
#   p99 < 10 ms.
#   PutMetricData: WORKERS (4) clients send 20 metrics × 150 values a call
#   for PUT_SECONDS (10) to a daemon pinned to one core (taskset -c 0,
#   GOMAXPROCS=1; the clients run on the other core). Goal: ≥ 50,000
#   datapoints/s.
#
# Environment: N, TARGETS, ROUNDS, PUT_SECONDS, WORKERS, KEEP=1 keeps the work
# directory. Results are appended to /tmp/madang-awsapi-bench-*.txt.
set -euo pipefail

N=${N:-1000}
TARGETS=${TARGETS:-100}
ROUNDS=${ROUNDS:-200}
PUT_SECONDS=${PUT_SECONDS:-10}
WORKERS=${WORKERS:-4}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/madang-awsapi-bench.XXXXXX)
results=/tmp/madang-awsapi-bench-$(date +%Y%m%d-%H%M%S).txt
export MADANG_HOME=$work/home
daemon_pid=""

log() { printf '%s\n' "$*" >&2; }
cleanup() {
	if [ -n "$daemon_pid" ]; then
		stop_daemon || log "warning: teardown failed"
	fi
	[ -z "${KEEP:-}" ] && rm -rf "$work" || log "kept $work"
}
trap cleanup EXIT INT TERM

log "building madang, awsbench and the sample app"
(cd "$root" && go build -o "$work/madang" ./cmd/madang && go build -o "$work/awsbench" ./bench/awsapi/awsbench)
mkdir -p "$work/app"
(cd "$root/examples/quickstart/app" && go build -o "$work/app/hello" .)
cat >"$work/madang.yaml" <<YAML
name: awsbench
images:
  - name: hello
    source: ./app
    command: ./hello
    port: 3000
launchTemplates:
  - name: hello
    image: hello
YAML

start_daemon() { # start_daemon [taskset-and-env-prefix...]
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$@" "$work/madang" server --aws-listen "127.0.0.1:$port" >>"$work/daemon.log" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 100); do "$work/madang" ps >/dev/null 2>&1 && break; sleep 0.1; done
	"$work/madang" apply -f "$work/madang.yaml" >/dev/null
	eval "$("$work/madang" aws-env)"
}
stop_daemon() {
	taskset -c 1 "$work/awsbench" teardown >/dev/null
	"$work/madang" destroy -f "$work/madang.yaml" >/dev/null 2>&1 || true
	kill "$daemon_pid" 2>/dev/null || true
	wait "$daemon_pid" 2>/dev/null || true
	daemon_pid=""
}

# Output goes to the terminal and the results file; the daemons are
# started and stopped in this shell, so the exit trap sees the one running.
exec > >(tee -a "$results")
echo "# $(date -u +%FT%TZ) N=$N TARGETS=$TARGETS ROUNDS=$ROUNDS; describes: daemon on both cores, client on core 1"
start_daemon
taskset -c 1 "$work/awsbench" setup "$N" "$TARGETS"
sleep 5 # the launches' work (readiness probes, first health checks) settles
taskset -c 1 "$work/awsbench" describe "$ROUNDS"
stop_daemon
echo "# PutMetricData: a fresh daemon on core 0 (taskset -c 0, GOMAXPROCS=1), $WORKERS clients on core 1"
start_daemon env GOMAXPROCS=1 taskset -c 0
taskset -c 1 "$work/awsbench" put "$PUT_SECONDS" "$WORKERS"
stop_daemon
log "results in $results"
