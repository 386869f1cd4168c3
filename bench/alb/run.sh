#!/usr/bin/env bash
# Benchmarks madang's Application Load Balancer data plane against HAProxy,
# nginx and Caddy on this machine, in one run with the same load: wrk with
# keep-alive, 64 connections, the same thread count, ~10 s per server, all
# on 127.0.0.1. Prints requests/s, p50, p99 and the madang/HAProxy ratio.
#
# Environment: DURATION (default 10s), CONNS (64), THREADS (2), BASE_PORT
# (18080).
set -euo pipefail

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
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
	rm -rf "$work"
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
install_if_missing haproxy haproxy && HAVE_HAPROXY=1 || echo "skip HAProxy: could not install it"
install_if_missing nginx nginx && HAVE_NGINX=1 || echo "skip nginx: could not install it"
install_if_missing caddy caddy && HAVE_CADDY=1 || echo "skip Caddy: could not install it"

echo "building backend and harness..."
(cd "$root" && go build -o "$work/backend" ./bench/alb/backend && go build -o "$work/harness" ./bench/alb/harness)

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

start madang "$work/harness" -port $P_MADANG -targets 127.0.0.1:$B1,127.0.0.1:$B2

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
fi

# measure NAME PORT: warm up, then one wrk run; prints "name rps p50 p99".
measure() {
	local name=$1 port=$2
	if ! wait_port "$port"; then
		echo "$name - - -" >>"$work/results"
		return
	fi
	wrk -t"$THREADS" -c"$CONNS" -d2s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$port/" >"$work/$name.wrk" 2>&1 || true
	local rps p50 p99 errs
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$name.wrk")
	p50=$(awk '$1 == "50%" {print $2}' "$work/$name.wrk")
	p99=$(awk '$1 == "99%" {print $2}' "$work/$name.wrk")
	errs=$(awk '/Non-2xx|Socket errors/ {print}' "$work/$name.wrk" | tr '\n' ' ')
	echo "$name ${rps:--} ${p50:--} ${p99:--} $errs" >>"$work/results"
}

: >"$work/results"
echo "wrk -t$THREADS -c$CONNS -d$DURATION, keep-alive, ~100 B responses, 2 backends round robin"
measure direct $B1
measure madang $P_MADANG
[ $HAVE_HAPROXY = 1 ] && measure haproxy $P_HAPROXY
[ $HAVE_NGINX = 1 ] && measure nginx $P_NGINX
[ $HAVE_CADDY = 1 ] && measure caddy $P_CADDY

awk '
	{ name[NR] = $1; rps[NR] = $2; p50[NR] = $3; p99[NR] = $4; $1 = $2 = $3 = $4 = ""; note[NR] = $0; if (name[NR] == "haproxy") h = rps[NR]; if (name[NR] == "madang") m = rps[NR] }
	END {
		printf "%-8s %12s %10s %10s  %s\n", "server", "requests/s", "p50", "p99", "notes"
		for (i = 1; i <= NR; i++) printf "%-8s %12s %10s %10s %s\n", name[i], rps[i], p50[i], p99[i], note[i]
		if (h > 0 && m > 0) printf "ratio madang/HAProxy: %.2f\n", m / h
	}' "$work/results"
