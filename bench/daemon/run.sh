#!/usr/bin/env bash
# Measures requests failed through a madang Application Load Balancer
# while the daemon goes away and comes back, under steady keep-alive load
# (bench/daemon/loadgen, WORKERS workers for DURATION per scenario):
#
#   kill9    kill -9 of `madang server`, then the same binary started again:
#            the data-plane process is re-adopted (same pid).
#   replace  `madang server` stopped (SIGTERM), then a second madang binary
#            (a copy at another path) started: the new data plane takes the
#            listening sockets over from the old one (SCM_RIGHTS), the old
#            one drains and exits (another pid).
#   replace9 the same with kill -9 of the daemon instead of SIGTERM.
#
# Prints total and failed requests per scenario. Environment: WORKERS (8),
# DURATION (10s), PORT (listener, default a free one), SCENARIOS
# ("kill9 replace replace9"), LOAD (loadgen, or wrk: 2 threads, WORKERS
# connections; wrk does not retry a request whose kept-alive connection
# the server closed, Go's client does).
set -euo pipefail
# Daemons serve their AWS endpoint on a free port, beside a madang on 4566.
export MADANG_AWS_LISTEN=127.0.0.1:0
export MADANG_CONSOLE_LISTEN=127.0.0.1:0

WORKERS=${WORKERS:-8}
DURATION=${DURATION:-10s}
SCENARIOS=${SCENARIOS:-kill9 replace replace9}
LOAD=${LOAD:-loadgen}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/madang-daemon-bench.XXXXXX)
export MADANG_HOME=$work/home
daemon_pid=""
cur_bin=""

cleanup() {
	if [ -n "$daemon_pid" ]; then
		"$cur_bin" destroy -f "$work/madang.yaml" >/dev/null 2>&1 || true
		kill "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	[ -n "${KEEP_LOGS:-}" ] && cp -r "$work"/*.log "$MADANG_HOME"/logs "$KEEP_LOGS"/ 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

PORT=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}

echo "building madang, a second madang binary, the load generator and the sample app"
(cd "$root" && go build -o "$work/madang" ./cmd/madang && go build -o "$work/loadgen" ./bench/daemon/loadgen)
mkdir -p "$work/v2" "$work/app"
cp "$work/madang" "$work/v2/madang"
(cd "$root/examples/quickstart/app" && go build -o "$work/app/hello" .)

cat >"$work/madang.yaml" <<YAML
name: daemon-bench
images:
  - name: hello
    source: ./app
    command: ./hello
    port: 3000
launchTemplates:
  - name: hello
    image: hello
instances:
  - name: web
    launchTemplate: hello
    count: 2
targetGroups:
  - name: web
    port: 3000
    healthCheck: {path: /health, intervalSeconds: 5, timeoutSeconds: 2, healthyThresholdCount: 2, unhealthyThresholdCount: 2}
    targets:
      - instances: web
loadBalancers:
  - name: web
    listeners:
      - port: $PORT
        defaultActions: [{type: forward, targetGroup: web}]
YAML

# start_daemon BIN: runs BIN server in the background and waits for its API.
start_daemon() {
	cur_bin=$1
	"$cur_bin" server >>"$work/daemon.log" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 200); do
		"$cur_bin" ps >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "daemon did not start; log:" >&2
	tail -20 "$work/daemon.log" >&2
	exit 1
}

# wrk_summary FILE: total and failed requests (socket errors and non-2xx/3xx)
# from wrk's output.
wrk_summary() {
	awk '/requests in/ {total=$1}
		/Socket errors/ {gsub(",", ""); errs=$4+$6+$8+$10}
		/Non-2xx/ {bad=$5}
		END {printf "total=%d failed=%d (socket errors %d, non-2xx/3xx %d)\n", total, errs+bad, errs, bad}' "$1"
}

dataplane_pid() { sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$MADANG_HOME/dataplane.json"; }

start_daemon "$work/madang"
"$work/madang" apply -f "$work/madang.yaml" >/dev/null
for _ in $(seq 400); do
	[ "$("$work/madang" tg health web 2>/dev/null | grep -c ' healthy ')" = 2 ] && break
	sleep 0.05
done
"$work/madang" tg health web

# scenario NAME: load for DURATION; 2 s in, the daemon goes away and a new
# one (BIN) starts 1 s later.
scenario() {
	local name=$1 how=$2 bin=$3
	local before after
	before=$(dataplane_pid)
	if [ "$LOAD" = wrk ]; then
		wrk -t2 -c"$WORKERS" -d"$DURATION" "http://127.0.0.1:$PORT/" >"$work/$name.wrk" &
	else
		"$work/loadgen" -url "http://127.0.0.1:$PORT/" -c "$WORKERS" -d "$DURATION" >"$work/$name.out" &
	fi
	local lg=$!
	sleep 2
	if [ "$how" = kill9 ]; then
		kill -9 "$daemon_pid"
	else
		kill -TERM "$daemon_pid"
	fi
	wait "$daemon_pid" 2>/dev/null || true
	sleep 1
	start_daemon "$bin"
	wait "$lg"
	after=$(dataplane_pid)
	echo "== $name: data plane pid $before -> $after"
	if [ "$LOAD" = wrk ]; then
		wrk_summary "$work/$name.wrk"
	else
		cat "$work/$name.out"
	fi
}

for s in $SCENARIOS; do
	case $s in
	kill9) scenario kill9 kill9 "$work/madang" ;;
	replace) scenario replace term "$work/v2/madang" ;;
	replace9) scenario replace9 kill9 "$work/madang" ;;
	*) echo "unknown scenario $s" >&2; exit 2 ;;
	esac
done
