#!/usr/bin/env bash
# Benchmarks madang's instance supervisor against pm2 on this machine, in
# one run, with the same Go HTTP app (examples/quickstart/app) under both:
#
#   1. crash-to-serving restart latency: SIGKILL the app KILLS times and
#      time until the port accepts connections again and a new process
#      answers GET / with 200 (bench/supervisor/supbench does the killing
#      and the 1 ms polling);
#   2. COUNT instances: time until all serve, then the RSS/PSS of the
#      supervisor daemon, of madang's per-instance shims and of the apps;
#      and the same apps started by a shell loop without a supervisor,
#      the floor under both.
#
# Everything listens on loopback; everything started is stopped and
# removed on exit. Raw numbers are kept in /tmp/madang-sup-bench-*.txt.
#
# Environment: KILLS (30), GAP (1200ms, pause after the app serves again,
# before the next kill; more than both supervisors' minUptime of 1s, so no
# run counts as unstable), DEFAULT_KILLS (7, kills of the extra series with
# madang's default backoff), COUNT (50), BASE_PORT (23100: madang's image
# port; pm2 uses BASE_PORT+100 and BASE_PORT+200..), ONLY (empty: both
# parts; "restart" or "count": only that part), ROUNDS (3: the group of
# COUNT and pm2's COUNT processes are measured this many times, taking
# turns; the report gives medians), SETTLE (auto: seconds each measured
# launch waits after the latest destroy, 36 on ext4 without a journal and
# 0 elsewhere; see settle).
set -euo pipefail
# Daemons serve their AWS endpoint on a free port, beside a madang on 4566.
export MADANG_AWS_LISTEN=127.0.0.1:0
export MADANG_CONSOLE_LISTEN=127.0.0.1:0

KILLS=${KILLS:-30}
GAP=${GAP:-1200ms}
DEFAULT_KILLS=${DEFAULT_KILLS:-7}
COUNT=${COUNT:-50}
ONLY=${ONLY:-}
ROUNDS=${ROUNDS:-3}
SETTLE=${SETTLE:-auto}
case $ONLY in "" | restart | count) ;; *) echo "ONLY must be empty, restart or count, not $ONLY" >&2; exit 2 ;; esac
PORT=${BASE_PORT:-23100}
PM2_PORT=$((PORT + 100))
PM2_BASE=$((PORT + 200))

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/madang-sup-bench.XXXXXX)
results=/tmp/madang-sup-bench-$(date +%Y%m%d-%H%M%S).txt
bin=$work/bin
madang=$bin/madang
supbench=$bin/supbench

daemon_pid=""   # the running madang daemon
freed_at=0      # when the latest destroy or removal of files ended (see settle)
applied=()      # stack files applied to it
pm2_homes=()    # PM2_HOME directories used

have() { command -v "$1" >/dev/null 2>&1; }
log() { printf '%s\n' "$*" >&2; }
record() { printf '%s\n' "$*" >>"$results"; }

# mdg ARGS...: the madang CLI against this run's daemon.
mdg() { MADANG_HOME=$home "$madang" "$@"; }

stop_madang() {
	local f
	if [ -n "$daemon_pid" ]; then
		for f in "${applied[@]}"; do
			timeout 60 env MADANG_HOME="$home" "$madang" destroy -f "$f" >/dev/null 2>&1 || log "warning: destroy $f failed"
		done
		kill "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
		freed_at=$(date +%s)
	fi
	daemon_pid="" applied=()
}

stop_pm2() {
	local h
	for h in "${pm2_homes[@]}"; do
		[ -f "$h/pm2.pid" ] && PM2_HOME=$h timeout 30 pm2 kill >/dev/null 2>&1 || true
	done
	pm2_homes=()
	freed_at=$(date +%s)
}

# settle: wait until the files the latest destroy removed no longer slow
# down making new ones. ext4 without a journal skips inodes freed in the
# last 30 s (35 s while their inode table block is dirty) when it
# allocates one, so each new file or directory made right after a destroy
# first scans past those of the destroyed instances (about a millisecond
# each on this machine). A launch measured right after the previous one's
# destroy would pay for the previous one's files, and the order of the
# rows would decide the ratios. One row measures that case on purpose.
settle() {
	local wait=$((freed_at + settle_s - $(date +%s)))
	if [ "$wait" -gt 0 ]; then
		log "  waiting ${wait}s for the inodes the last destroy freed (see settle)..."
		sleep "$wait"
	fi
}

cleanup() {
	set +e
	stop_madang
	stop_pm2
	# Anything still running from this run (a shim or app left by a failed
	# destroy, a pm2 app): processes whose command line or working
	# directory is under $work.
	local p pid
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" = $$ ] && continue
		if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF "$work" ||
			[[ $(readlink "$p/cwd" 2>/dev/null) == "$work"* ]]; then
			kill -9 "$pid" 2>/dev/null
		fi
	done
	# Empty cgroups of this run's instances (destroy removes them).
	if [ -f "$work/ids" ]; then
		for id in $(sort -u "$work/ids"); do
			rmdir /sys/fs/cgroup/*/madang/"$id" /sys/fs/cgroup/madang/"$id" 2>/dev/null
		done
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# port_free HOST PORT: nothing accepts connections there.
port_free() { ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# start_madang LABEL [SERVER-FLAGS...]: a fresh daemon with its own data
# directory.
start_madang() {
	local label=$1
	shift
	home=$work/madang-$label
	mkdir -p "$home"
	MADANG_HOME=$home "$madang" server "$@" >"$work/madang-$label.log" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 1 200); do
		mdg ps >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	log "madang daemon did not come up; see its log:"
	cat "$work/madang-$label.log" >&2
	exit 1
}

# start_pm2 NAME: a fresh pm2 God daemon in its own PM2_HOME.
start_pm2() {
	export PM2_HOME=$work/pm2-$1
	pm2_homes+=("$PM2_HOME")
	timeout 60 pm2 ping >/dev/null
}

# madang_addrs N: the addresses of the daemon's N instances.
madang_addrs() {
	local a
	for _ in $(seq 1 100); do
		if a=$(mdg ps -o json | "$supbench" addrs -want "$1" 2>/dev/null); then
			mdg ps -o json | grep -o '"id": *"i-[0-9a-f]*"' | grep -o 'i-[0-9a-f]*' >>"$work/ids" || true
			echo "$a"
			return 0
		fi
		sleep 0.05
	done
	log "madang did not list $1 instances with addresses"
	mdg ps >&2
	exit 1
}

# wait_madang LABEL: record the time from $t0 until the daemon's $COUNT
# instances all serve. supbench learns their addresses from the daemon's
# API socket as they appear (pm2's are known in advance), so no CLI runs
# in the measured time.
wait_madang() {
	"$supbench" waitup -since "$t0" -madang-socket "$home/madang.sock" -want "$COUNT" -timeout 120s | sed "s/^/$1 /" >>"$results"
}

# restart_series LABEL ADDR KILLS: kill the app on ADDR KILLS times.
restart_series() {
	local label=$1 addr=$2 n=$3
	log "  $label: $n kills of the app on $addr, $GAP apart..."
	timeout 60 "$supbench" waitup -addrs "$addr" -timeout 30s >/dev/null
	timeout 300 "$supbench" restart -addr "$addr" -n "$n" -gap "$GAP" -timeout 30s -label "$label" |
		sed "s/^/$label restart /" >>"$results"
	log "  $(grep "^$label restart summary" "$results")"
}

# cpu_ms: CPU time the whole machine has spent (user, system, irq), in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / {print int(($2 + $3 + $4 + $7 + $8) * 1000 / hz); exit}' /proc/stat; }

# mem_levels LABEL PID: record the memory of the process tree under PID.
mem_levels() { "$supbench" mem -root "$2" | sed "s/^/$1 mem /" >>"$results"; }

# --- machine facts --------------------------------------------------------
{
	echo "# madang supervisor vs pm2 — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "nproc: $(nproc)   kernel: $(uname -sr)   cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)   load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "go: $(go version | cut -d' ' -f3)   node: $(node --version 2>/dev/null || echo none)   /bin/sh: $(readlink -f /bin/sh)"
} | tee "$results"

# --- build ----------------------------------------------------------------
log "building madang, supbench and the app (examples/quickstart/app)..."
mkdir -p "$bin" "$work/app"
(cd "$root" && go build -o "$madang" ./cmd/madang && go build -o "$supbench" ./bench/supervisor/supbench)
(cd "$root/examples/quickstart/app" && go build -o "$work/app/hello" .)
freed_at=$(date +%s) # the builds made and removed temporary files

HAVE_PM2=1
if ! have pm2; then
	if have npm; then
		log "installing pm2 (npm install -g pm2)..."
		timeout 120 npm install -g pm2 >/dev/null 2>&1 || true
	fi
	have pm2 || { HAVE_PM2=0; echo "pm2 is not installed and could not be installed: reporting madang's numbers only" | tee -a "$results"; }
fi
# The version from pm2's package.json: `pm2 --version` would start a daemon.
[ $HAVE_PM2 = 1 ] && echo "pm2: $(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$(dirname "$(readlink -f "$(command -v pm2)")")/../package.json" | head -1)" | tee -a "$results"
for i in $(seq 2 $((COUNT + 1))); do # madang hands out 127.16.0.2, .3, …
	port_free "127.16.0.$i" "$PORT" || { log "127.16.0.$i:$PORT is in use; set BASE_PORT to a free port"; exit 1; }
done
# pm2's ports, also those of the apps started without a supervisor.
for p in $PM2_PORT $(seq $PM2_BASE $((PM2_BASE + COUNT - 1))); do
	port_free 127.0.0.1 "$p" || { log "127.0.0.1:$p is in use; set BASE_PORT to a free range"; exit 1; }
done

# --- stack files and pm2 ecosystem files ------------------------------------
# stack NAME COUNT [SUPERVISION-YAML]: a stack of COUNT instances of the app.
stack() {
	cat >"$work/$1.yaml" <<YAML
name: sup-bench-$1
images:
  - name: hello
    source: ./app
    command: ./hello
    port: $PORT
launchTemplates:
  - name: hello
    image: hello
${3:-}
instances:
  - name: $1
    launchTemplate: hello
    count: $2
YAML
}
# Each kill is the next restart in a row (madang starts a row over only
# after 30s of uptime), so with the defaults restart k waits
# 100ms*2^(k-2). For the comparison with pm2's restart_delay 0, the
# backoff is set to its smallest: 1ms.
stack restart 1 '    supervision:
      backoffInitial: 1ms
      backoffMax: 1ms'
stack default 1
stack many "$COUNT"
# The same COUNT as an Auto Scaling group (one zone, EC2 health checks):
# the controller launches, then counts each InService.
cat >"$work/asg.yaml" <<YAML
name: sup-bench-asg
images:
  - name: hello
    source: ./app
    command: ./hello
    port: $PORT
launchTemplates:
  - name: hello
    image: hello
autoScalingGroups:
  - name: many
    launchTemplate: hello
    minSize: 0
    maxSize: $COUNT
    desiredCapacity: $COUNT
    availabilityZones: [local-1a]
YAML

# ecosystem NAME INSTANCES PORT: pm2's defaults (fork mode, autorestart,
# restart_delay 0, min_uptime 1s), the binary run without an interpreter.
ecosystem() {
	cat >"$work/$1.config.js" <<JS
module.exports = { apps: [{
  name: 'hello', script: '$work/app/hello', cwd: '$work/app',
  interpreter: 'none', exec_mode: 'fork', instances: $2, increment_var: 'PORT',
  env: { HOST: '127.0.0.1', PORT: $3 },
}] };
JS
}
ecosystem restart 1 $PM2_PORT
ecosystem many "$COUNT" $PM2_BASE

# --- 1. restart latency ---------------------------------------------------
if [ "$ONLY" != count ]; then
log "restart latency:"
start_madang restart
mdg apply -f "$work/restart.yaml" >/dev/null
applied+=("$work/restart.yaml")
restart_series madang "$(madang_addrs 1)" "$KILLS"
mdg destroy -f "$work/restart.yaml" >/dev/null
applied=()
mdg apply -f "$work/default.yaml" >/dev/null
applied+=("$work/default.yaml")
restart_series madang-defaults "$(madang_addrs 1)" "$DEFAULT_KILLS"
stop_madang

if [ $HAVE_PM2 = 1 ]; then
	start_pm2 restart
	timeout 60 pm2 start "$work/restart.config.js" >/dev/null
	restart_series pm2 "127.0.0.1:$PM2_PORT" "$KILLS"
	stop_pm2
fi
fi

# --- 2. COUNT instances: time to serve, memory ------------------------------
# launch_group LABEL [SERVER-FLAGS...]: the group of COUNT in a fresh daemon,
# from apply to all serving, then destroyed.
launch_group() {
	local label=$1
	shift
	start_madang "$label" "$@"
	t0=$(date +%s%N)
	mdg apply -f "$work/asg.yaml" >/dev/null
	applied+=("$work/asg.yaml")
	wait_madang "$label"
	madang_addrs "$COUNT" >/dev/null
	log "  $label: $(tail -1 "$results")"
	stop_madang
}

# launch_pm2 ROUND: pm2's COUNT processes in a fresh pm2, the memory of the
# first round's.
launch_pm2() {
	start_pm2 "many-$1"
	addrs=$(seq -s, -f "127.0.0.1:%g" $PM2_BASE $((PM2_BASE + COUNT - 1)))
	c0=$(cpu_ms)
	t0=$(date +%s%N)
	timeout 120 pm2 start "$work/many.config.js" >/dev/null
	"$supbench" waitup -since "$t0" -addrs "$addrs" -timeout 120s | sed 's/^/pm2 /' >>"$results"
	record "pm2 cpu ms=$(($(cpu_ms) - c0))"
	log "  pm2: $(tail -2 "$results" | head -1)"
	if [ "$1" = 1 ]; then
		sleep 2
		mem_levels pm2 "$(cat "$PM2_HOME/pm2.pid")"
	fi
	stop_pm2
}

# launch_bare: the COUNT apps started by a shell loop on pm2's ports,
# with no supervisor: the floor under both (the apps' own starts and the
# poller), measured the same way.
launch_bare() {
	local i pids=()
	addrs=$(seq -s, -f "127.0.0.1:%g" $PM2_BASE $((PM2_BASE + COUNT - 1)))
	t0=$(date +%s%N)
	for i in $(seq 0 $((COUNT - 1))); do
		(cd "$work/app" && HOST=127.0.0.1 PORT=$((PM2_BASE + i)) exec ./hello >/dev/null 2>&1) &
		pids+=($!)
	done
	"$supbench" waitup -since "$t0" -addrs "$addrs" -timeout 60s | sed 's/^/bare /' >>"$results"
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	log "  no supervisor: $(tail -1 "$results")"
}

if [ "$ONLY" != restart ]; then
	if [ "$SETTLE" = auto ]; then
		settle_s=0
		src=$(df --output=source "$work" | tail -1)
		if [ "$(df --output=fstype "$work" | tail -1)" = ext4 ] && ! compgen -G "/proc/fs/jbd2/$(basename "$src")-*" >/dev/null; then
			settle_s=36
		fi
	else
		settle_s=$SETTLE
	fi
	record "settle: ${settle_s}s after each destroy   rounds: $ROUNDS"
	log "$COUNT instances ($ROUNDS rounds; ${settle_s}s settling before each launch):"
	settle
	start_madang many
	c0=$(cpu_ms)
	t0=$(date +%s%N)
	mdg apply -f "$work/many.yaml" >/dev/null
	applied+=("$work/many.yaml")
	record "madang apply ms=$((($(date +%s%N) - t0) / 1000000))"
	wait_madang madang
	record "madang cpu ms=$(($(cpu_ms) - c0))"
	madang_addrs "$COUNT" >/dev/null # records the instance ids for the cleanup
	log "  madang: $(tail -1 "$results")"
	sleep 2
	mem_levels madang "$daemon_pid"
	stop_madang

	for round in $(seq 1 "$ROUNDS"); do
		settle
		launch_group madang-asg
		if [ "$round" = 1 ]; then
			# Right after the destroy of the group just measured.
			launch_group madang-asg-hot
			# One process per shim, as before the shim host.
			settle
			launch_group madang-asg-proc --process-shims
		fi
		if [ $HAVE_PM2 = 1 ]; then
			settle
			launch_pm2 "$round"
		fi
		launch_bare
	done
fi
record "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- report ---------------------------------------------------------------
echo
awk -v count="$COUNT" -v kills="$KILLS" '
	function field(line, key,    n, i, kv) {
		n = split(line, kv, " ")
		for (i = 1; i <= n; i++) if (index(kv[i], key "=") == 1) return substr(kv[i], length(key) + 2)
		return ""
	}
	$2 == "restart" && $3 == "summary" {
		for (k = 1; k <= 3; k++) { split("median_ms p90_ms max_ms", ks, " "); v[$1, ks[k]] = field($0, ks[k]) }
	}
	$2 == "restart" && $3 ~ /^iter=/ && $1 == "madang-defaults" { series = series sprintf(" %.0f", field($0, "http_ms")) }
	$2 == "up" { add($1 SUBSEP "up_ms", field($0, "ms")) }
	$2 == "cpu" { add($1 SUBSEP "cpu_ms", field($0, "ms")) }
	$2 == "apply" { apply = field($0, "ms") }
	$2 == "mem" {
		side = $1; d = field($0, "depth"); comm = field($0, "comm")
		rss = field($0, "rss_kib") / 1024; pss = field($0, "pss_kib") / 1024
		role = (comm ~ /hello/) ? "app" : (d == 0) ? "daemon" : (d == 1) ? "shim" : "wrap"
		v[side, role "_rss"] += rss; v[side, role "_pss"] += pss; v[side, role "_n"] += field($0, "count")
		v[side, "total_rss"] += rss; v[side, "total_pss"] += pss
	}
	# add(KEY, X): one more measurement of KEY; v[KEY] is their median.
	function add(key, x,    i, j, t, m) {
		m = ++cnt[key]
		vals[key, m] = x + 0
		for (i = 2; i <= m; i++) for (j = i; j > 1 && vals[key, j - 1] > vals[key, j]; j--) {
			t = vals[key, j]; vals[key, j] = vals[key, j - 1]; vals[key, j - 1] = t
		}
		v[key] = (m % 2) ? vals[key, (m + 1) / 2] : (vals[key, m / 2] + vals[key, m / 2 + 1]) / 2
		all[key] = ""
		for (i = 1; i <= m; i++) all[key] = all[key] (i > 1 ? ", " : "") vals[key, i]
	}
	function row(name, m, p, fmt,    r) {
		r = (m != "" && p != "" && p + 0 > 0) ? sprintf("%.2fx", m / p) : "n/a"
		printf "| %-46s | %12s | %12s | %7s |\n", name, (m == "" ? "n/a" : sprintf(fmt, m)), (p == "" ? "n/a" : sprintf(fmt, p)), r
	}
	END {
		printf "| %-46s | %12s | %12s | %7s |\n", "metric", "madang", "pm2", "ratio"
		printf "|%s|%s|%s|%s|\n", "------------------------------------------------", "--------------", "--------------", "---------"
		row("restart, kill -9 to serving: median (ms)", v["madang", "median_ms"], v["pm2", "median_ms"], "%.1f")
		row("restart, kill -9 to serving: p90 (ms)", v["madang", "p90_ms"], v["pm2", "p90_ms"], "%.1f")
		row("restart, kill -9 to serving: max (ms)", v["madang", "max_ms"], v["pm2", "max_ms"], "%.1f")
		row(count " instances: start to all serving (ms)", v["madang", "up_ms"], v["pm2", "up_ms"], "%.0f")
		row("  CPU time used meanwhile, machine-wide (ms)", v["madang", "cpu_ms"], v["pm2", "cpu_ms"], "%.0f")
		row(count " as an Auto Scaling group: to all serving (ms)", v["madang-asg", "up_ms"], v["pm2", "up_ms"], "%.0f")
		row("  the same, right after a destroy of " count, v["madang-asg-hot", "up_ms"], v["pm2", "up_ms"], "%.0f")
		row("  the same, one process per shim (--process-shims)", v["madang-asg-proc", "up_ms"], v["pm2", "up_ms"], "%.0f")
		row("  the apps alone, from a shell loop (the floor)", v["bare", "up_ms"], v["pm2", "up_ms"], "%.0f")
		row("daemon RSS (MiB)", v["madang", "daemon_rss"], v["pm2", "daemon_rss"], "%.1f")
		shims = (v["madang", "shim_n"] > 2) ? (v["madang", "shim_n"] - 1) " shims" : "the shim host"
		row(shims " and the data plane, RSS (MiB)", v["madang", "shim_rss"], "", "%.1f")
		if (v["madang", "wrap_n"] > 0) row(v["madang", "wrap_n"] " /bin/sh wrappers RSS, total (MiB)", v["madang", "wrap_rss"], "", "%.1f")
		row(count " apps RSS, total (MiB)", v["madang", "app_rss"], v["pm2", "app_rss"], "%.1f")
		row("whole tree RSS (MiB)", v["madang", "total_rss"], v["pm2", "total_rss"], "%.1f")
		row("whole tree PSS (MiB, shared pages split)", v["madang", "total_pss"], v["pm2", "total_pss"], "%.1f")
		row("  of which daemon PSS (MiB)", v["madang", "daemon_pss"], v["pm2", "daemon_pss"], "%.1f")
		row("  of which " shims " and the data plane PSS (MiB)", v["madang", "shim_pss"], "", "%.1f")
		row("  of which apps PSS (MiB)", v["madang", "app_pss"], v["pm2", "app_pss"], "%.1f")
		printf "\nratio = madang / pm2; lower is better in every row.\n"
		printf "restart latency: %d kills each, 1 ms polling; madang with backoffInitial=backoffMax=1ms, pm2 with its defaults (restart_delay 0).\n", kills
		if (apply != "") printf "the madang time for %d instances includes madang apply (%s ms: validation, image snapshot, each instance directory with the image hard-linked, one state commit).\n", count, apply
		if (series != "") printf "madang with its default backoff, kill after kill (ms):%s\n", series
		if (cnt["madang-asg" SUBSEP "up_ms"] > 1) printf "medians of %d rounds; the group: %s ms; pm2: %s ms; the apps alone: %s ms (sorted).\n", cnt["madang-asg" SUBSEP "up_ms"], all["madang-asg" SUBSEP "up_ms"], all["pm2" SUBSEP "up_ms"], all["bare" SUBSEP "up_ms"]
	}' "$results" | tee -a "$results"
echo
grep '^load average at end' "$results"
echo "raw numbers: $results"
