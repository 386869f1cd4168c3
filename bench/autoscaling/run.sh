#!/usr/bin/env bash
# Times an Auto Scaling group behind the ALB on a real `madang server`:
#
#   cold      the quickstart's group (min 2, max 6, target tracking on
#             ALBRequestCountPerTarget, 600 per target per minute): a load
#             step from idle to RATE requests/s, timed until the first
#             answer from an instance that was not serving before
#             (scalebench step: it reads the instance id in each answer);
#   warm-run  the same with a warm pool of running instances (PoolState
#             Running): scale-out registers an already started instance;
#   warm-stop the same with a stopped warm pool (the instance's app is
#             started, user data already ran);
#   scale-in  after each step the load drops to LOW requests/s (600 per
#             target per minute on 2 instances): the group scales in from
#             its maximum to 2 after the 5 s stabilization window while
#             requests keep flowing; every failed request is counted.
#
# AWS for comparison: a cold scale-out takes ≈5–10 minutes (1-minute
# metrics, 3 datapoints to alarm, launch and boot), from a warm pool "as
# low as 30 s" (see ../../../shared/reference/compute-autoscaling-monitoring.md
# §3.5 for sources). Goals: cold ≤ 2 s, warm ≤ 1 s, 0 failed requests.
#
# Environment: RUNS (3 steps per case), RATE (200), LOW (20), CASES
# ("cold warm-run warm-stop"), BASE_PORT (free port), DAEMON_FLAGS (e.g.
# --debug: the daemon logs go to the work directory), KEEP=1 keeps the
# work directory. Raw lines go to /tmp/madang-asg-bench-*.txt.
set -euo pipefail
# Daemons serve their AWS endpoint on a free port, beside a madang on 4566.
export MADANG_AWS_LISTEN=127.0.0.1:0
export MADANG_CONSOLE_LISTEN=127.0.0.1:0

RUNS=${RUNS:-3}
RATE=${RATE:-200}
LOW=${LOW:-20}
CASES=${CASES:-"cold warm-run warm-stop"}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/madang-asg-bench.XXXXXX)
results=/tmp/madang-asg-bench-$(date +%Y%m%d-%H%M%S).txt
export MADANG_HOME=$work/home
daemon_pid=""

log() { printf '%s\n' "$*" >&2; }
record() { printf '%s\n' "$*" | tee -a "$results"; }
mdg() { "$work/madang" "$@"; }

stop_daemon() {
	if [ -n "$daemon_pid" ]; then
		timeout 60 "$work/madang" destroy -f "$work/madang.yaml" >/dev/null 2>&1 || log "warning: destroy failed"
		kill "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	daemon_pid=""
}
cleanup() {
	stop_daemon
	[ -z "${KEEP:-}" ] && rm -rf "$work" || log "kept $work"
}
trap cleanup EXIT INT TERM

log "building madang, scalebench and the sample app"
(cd "$root" && go build -o "$work/madang" ./cmd/madang && go build -o "$work/scalebench" ./bench/autoscaling/scalebench)
mkdir -p "$work/app"
(cd "$root/examples/quickstart/app" && go build -o "$work/app/hello" .)
port=${BASE_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
url="http://127.0.0.1:$port/"

# stack WARMPOOL-YAML: the quickstart's group, with an optional warm pool.
stack() {
	cat >"$work/madang.yaml" <<YAML
name: asg-bench
images:
  - {name: hello, source: ./app, command: ./hello, port: 3000}
launchTemplates:
  - name: hello
    image: hello
    supervision: {readiness: {httpPath: /health}}
targetGroups:
  - name: web
    port: 3000
    healthCheck: {path: /health, intervalSeconds: 5, timeoutSeconds: 2, healthyThresholdCount: 2, unhealthyThresholdCount: 2}
    attributes: {deregistration_delay.timeout_seconds: 5}
loadBalancers:
  - name: web
    listeners: [{port: $port, defaultActions: [{type: forward, targetGroup: web}]}]
autoScalingGroups:
  - name: web
    launchTemplate: hello
    minSize: 2
    maxSize: 6
    targetGroups: [web]
    healthCheckType: ELB
    scalingPolicies:
      - name: requests
        targetTrackingConfiguration:
          predefinedMetricSpecification: {predefinedMetricType: ALBRequestCountPerTarget}
          targetValue: 600
          scaleInStabilizationSeconds: 5
$1
YAML
}

# group FIELD: a number from asg describe -o json.
group() { mdg asg describe web -o json | jq -r "$1"; }

wait_for() { # JQ-CONDITION SECONDS
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ "$(group "$1")" = true ] && return 0
		sleep 0.1
	done
	log "timed out waiting for $1"; mdg asg describe web >&2; return 1
}

run_case() { # NAME WARMPOOL-YAML
	local name=$1 step ids scalein
	stack "$2"
	"$work/madang" server ${DAEMON_FLAGS:-} >"$work/daemon-$name.log" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 1 100); do mdg ps >/dev/null 2>&1 && break; sleep 0.1; done
	mdg apply -f "$work/madang.yaml" >/dev/null
	wait_for '.inService == 2 and (.instances | length) == 2 + .warm' 60
	if [ "$name" != cold ]; then wait_for '[.instances[] | select(.lifecycleState | startswith("Warmed:"))] | length == 4 and all(.lifecycleState == "Warmed:Running" or .lifecycleState == "Warmed:Stopped")' 60; fi
	for r in $(seq 1 "$RUNS"); do
		sleep 2 # an idle second or two: the step starts from no load
		ids=$(group '[.instances[] | select(.lifecycleState == "InService") | .instanceId] | join(",")')
		step=$("$work/scalebench" step -url "$url" -rate "$RATE" -known "$ids" -timeout 30s)
		record "$name run $r: step 0 → $RATE req/s: $step"
		scalein=$("$work/scalebench" steady -url "$url" -rate "$LOW" -d 25s)
		record "$name run $r: scale-in at $LOW req/s: $scalein, desired now $(group .desiredCapacity), in service $(group .inService)"
		wait_for '.inService == 2 and .desiredCapacity == 2' 60
		if [ "$name" != cold ]; then wait_for '.warm == 4 and ([.instances[] | select(.lifecycleState | startswith("Warmed:Pending"))] | length) == 0' 60; fi
	done
	mdg asg activities web --max 8 >>"$results"
	stop_daemon
}

record "madang Auto Scaling bench, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for c in $CASES; do
	case $c in
	cold) run_case cold "" ;;
	warm-run) run_case warm-run "    warmPool: {minSize: 4, poolState: Running}" ;;
	warm-stop) run_case warm-stop "    warmPool: {minSize: 4, poolState: Stopped}" ;;
	*) log "unknown case $c" ;;
	esac
done
record "load at the end $(cut -d' ' -f1-3 /proc/loadavg); raw lines in $results"
