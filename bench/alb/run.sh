#!/usr/bin/env bash
# Benchmarks madang's Application Load Balancer data plane against HAProxy,
# nginx and Caddy on this machine, in one run with the same load: wrk with
# keep-alive, 64 connections, the same thread count, ~10 s per server, all
# on 127.0.0.1. Prints requests/s, p50, p99, the proxy's CPU time per
# request and the madang/HAProxy ratio.
#
# Environment: DURATION per round (default 5s), ROUNDS (2), CONNS (64),
# THREADS (2), BASE_PORT (18080), SERVERS (which to measure, default
# "direct madang haproxy nginx caddy"), MADANG_GOMAXPROCS (harness only;
# default: Go's own choice), MADANG_ENV (extra environment for madang, e.g.
# "GODEBUG=gctrace=1"), CONNECTION=close (a new client connection per
# request instead of keep-alive).
set -euo pipefail
# Daemons serve their AWS endpoint on a free port, beside a madang on 4566.
export MADANG_AWS_LISTEN=127.0.0.1:0
export MADANG_CONSOLE_LISTEN=127.0.0.1:0

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
SERVERS=${SERVERS:-direct madang haproxy nginx caddy}
BASE=${BASE_PORT:-18080}
B1=$((BASE + 1)) B2=$((BASE + 2))
P_MADANG=$((BASE + 10)) P_HAPROXY=$((BASE + 11)) P_NGINX=$((BASE + 12)) P_CADDY=$((BASE + 13))

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/madang-alb-bench.XXXXXX)
pids=()

cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	[ -n "${KEEP_LOGS:-}" ] && cp "$work"/*.log "$KEEP_LOGS"/ 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT INT TERM

have() { command -v "$1" >/dev/null 2>&1; }

# install_if_missing CMD PACKAGE: apt-get install PACKAGE when CMD is absent.
install_if_missing() {
	if ! have "$1" && have apt-get; then
		if [ -z "${APT_UPDATED:-}" ]; then
			apt-get update -qq >/dev/null 2>&1 || true
			APT_UPDATED=1
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 || true
	fi
	have "$1"
}

install_if_missing wrk wrk || { echo "wrk is required and could not be installed" >&2; exit 1; }
HAVE_HAPROXY=0 HAVE_NGINX=0 HAVE_CADDY=0
wanted() { case " $SERVERS " in *" $1 "*) return 0 ;; esac; return 1; }
if wanted haproxy; then install_if_missing haproxy haproxy && HAVE_HAPROXY=1 || echo "skip HAProxy: could not install it"; fi
if wanted nginx; then install_if_missing nginx nginx && HAVE_NGINX=1 || echo "skip nginx: could not install it"; fi
if wanted caddy; then install_if_missing caddy caddy && HAVE_CADDY=1 || echo "skip Caddy: could not install it"; fi

echo "building madang, backend and harness..."
(cd "$root" && go build -o "$work/madang" ./cmd/madang && go build -o "$work/backend" ./bench/alb/backend && go build -o "$work/harness" ./bench/alb/harness)

start() { # start NAME CMD...: run in background, remember pid
	local name=$1
	shift
	"$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
}

wait_port() { # wait_port PORT: until something answers HTTP there
	for _ in $(seq 1 100); do
		if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "nothing listening on port $1" >&2
	return 1
}

start backend1 "$work/backend" -listen 127.0.0.1:$B1
start backend2 "$work/backend" -listen 127.0.0.1:$B2
wait_port $B1
wait_port $B2

# madang runs as users run it: `madang server` and a stack file with an
# ALB forwarding round robin to two ip targets. MADANG_ENGINE=harness runs
# the same data plane in a bare harness instead (for profiling).
if [ "${MADANG_ENGINE:-daemon}" = harness ]; then
	start madang env ${MADANG_ENV:-} "$work/harness" -port $P_MADANG -targets 127.0.0.1:$B1,127.0.0.1:$B2 -gomaxprocs "${MADANG_GOMAXPROCS:-0}"
else
	cat >"$work/alb.yaml" <<YAML
name: albbench
targetGroups:
  - name: be
    targetType: ip
    port: $B1
    attributes: {load_balancing.algorithm.type: round_robin}
    targets:
      - {ip: 127.0.0.1, port: $B1}
      - {ip: 127.0.0.1, port: $B2}
loadBalancers:
  - name: bench
    attributes: {access_logs.enabled: false}
    listeners:
      - port: $P_MADANG
        defaultActions: [{type: forward, targetGroup: be}]
YAML
	start madang env ${MADANG_ENV:-} MADANG_HOME="$work/home" "$work/madang" server
	for _ in $(seq 1 100); do MADANG_HOME="$work/home" "$work/madang" ps >/dev/null 2>&1 && break; sleep 0.05; done
	MADANG_HOME="$work/home" "$work/madang" apply -f "$work/alb.yaml" >/dev/null
	# The listeners are served by the data-plane process the daemon
	# started (it outlives the daemon): measure its CPU with the daemon's,
	# and stop it at the end.
	DP_PID=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$work/home/dataplane.json" 2>/dev/null | head -1)
	[ -n "$DP_PID" ] && pids+=("$DP_PID")
fi

if [ $HAVE_HAPROXY = 1 ]; then
	cat >"$work/haproxy.cfg" <<CFG
global
    maxconn 4096
    nbthread 2
defaults
    mode http
    timeout connect 10s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
frontend fe
    bind 127.0.0.1:$P_HAPROXY
    default_backend be
backend be
    balance roundrobin
    http-reuse always
    server s1 127.0.0.1:$B1
    server s2 127.0.0.1:$B2
CFG
	start haproxy haproxy -db -f "$work/haproxy.cfg"
	HAPROXY_PID=${pids[-1]}
fi

if [ $HAVE_NGINX = 1 ]; then
	mkdir -p "$work/nginx"
	cat >"$work/nginx.conf" <<CFG
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx;
    proxy_temp_path $work/nginx;
    fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx;
    scgi_temp_path $work/nginx;
    keepalive_requests 1000000;
    upstream be {
        server 127.0.0.1:$B1;
        server 127.0.0.1:$B2;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$P_NGINX;
        location / {
            proxy_pass http://be;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CFG
	start nginx nginx -c "$work/nginx.conf"
	NGINX_PID=${pids[-1]}
fi

if [ $HAVE_CADDY = 1 ]; then
	cat >"$work/Caddyfile" <<CFG
{
    admin off
    auto_https off
}
http://127.0.0.1:$P_CADDY {
    reverse_proxy 127.0.0.1:$B1 127.0.0.1:$B2 {
        lb_policy round_robin
    }
}
CFG
	start caddy env HOME="$work" XDG_DATA_HOME="$work" XDG_CONFIG_HOME="$work" caddy run --config "$work/Caddyfile" --adapter caddyfile
	CADDY_PID=${pids[-1]}
fi

# cpu_ticks PID...: CPU time (user+system, in clock ticks) used so far.
cpu_ticks() {
	local t=0 pid
	for pid in "$@"; do
		[ -r "/proc/$pid/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
	done
	echo "$t"
}

# measure NAME PORT PIDS: one wrk run; appends "name requests seconds
# p50_ms p99_ms cpu_ticks errors" to results.
measure() {
	local name=$1 port=$2 pids=$3
	if ! wait_port "$port"; then
		return
	fi
	wrk -t"$THREADS" -c"$CONNS" -d1s "${HDR[@]}" "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
	local c0 c1
	c0=$(cpu_ticks $pids)
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${HDR[@]}" "http://127.0.0.1:$port/" >"$work/$name.wrk" 2>&1 || true
	c1=$(cpu_ticks $pids)
	awk -v name="$name" -v cpu=$((c1 - c0)) '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/requests in/ { req = $1; sec = $4; sub(/s,?$/, "", sec) }
		$1 == "50%" { p50 = ms($2) }
		$1 == "99%" { p99 = ms($2) }
		/Non-2xx|Socket errors/ { err = err $0 }
		END { gsub(/ +/, "_", err); printf "%s %s %s %s %s %s %s\n", name, req, sec, p50, p99, cpu, (err == "" ? "-" : err) }
	' "$work/$name.wrk" >>"$work/results"
}

: >"$work/results"
HDR=()
MODE="keep-alive"
if [ "${CONNECTION:-}" = close ]; then
	HDR=(-H "Connection: close")
	MODE="a new connection per request"
fi
echo "wrk -t$THREADS -c$CONNS, $MODE, ~100 B responses, 2 backends round robin;"
echo "each server: $ROUNDS rounds of $DURATION, interleaved (other load on the machine hits all alike)"
for round in $(seq 1 "$ROUNDS"); do
	wanted direct && measure direct $B1 "${pids[0]} ${pids[1]}"
	wanted madang && measure madang $P_MADANG "${pids[2]} ${DP_PID:-}"
	[ $HAVE_HAPROXY = 1 ] && measure haproxy $P_HAPROXY "$HAPROXY_PID"
	[ $HAVE_NGINX = 1 ] && measure nginx $P_NGINX "$NGINX_PID $(pgrep -d ' ' -P "$NGINX_PID" || true)"
	[ $HAVE_CADDY = 1 ] && measure caddy $P_CADDY "$CADDY_PID"
done

# Per server: requests/s over all rounds, mean p50, worst p99, CPU
# microseconds per request of the proxy (of both backends for direct).
awk -v tick="$(getconf CLK_TCK)" '
	{ n = $1; if (!(n in req)) order[++k] = n; req[n] += $2; sec[n] += $3; p50[n] += $4; rounds[n]++; if ($5 > p99[n]) p99[n] = $5; cpu[n] += $6; if ($7 != "-") err[n] = err[n] " " $7 }
	END {
		printf "%-8s %12s %9s %9s %12s  %s\n", "server", "requests/s", "p50", "p99", "cpu us/req", "errors"
		for (i = 1; i <= k; i++) {
			n = order[i]; rps[n] = req[n] / sec[n]
			printf "%-8s %12.0f %7.2fms %7.2fms %12.1f  %s\n", n, rps[n], p50[n] / rounds[n], p99[n], cpu[n] * 1e6 / tick / req[n], (err[n] == "" ? "-" : err[n])
		}
		if (rps["haproxy"] > 0 && rps["madang"] > 0)
			printf "ratio madang/HAProxy: requests/s %.2f, p99 %.2f (lower is better)\n", rps["madang"] / rps["haproxy"], p99["madang"] / p99["haproxy"]
	}' "$work/results"
