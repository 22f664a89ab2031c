#!/bin/bash
# run.sh BUILDDIR: the fan-out benchmark of issue 7, in one sitting.
#
# Starts chatd, redis-server (pub/sub), the bare epoll roof and, when
# installed, nats-server, each fresh on a high loopback port for every run;
# drives them with tests/bench/loadgen through the scenarios, REPS times
# (interleaved, so drift hits every server alike); prints one markdown table
# of the medians with the ratios chatd/redis and chatd/roof.  It measures and
# never fails on a figure.  All traffic stays on 127.0.0.0/8, every run is
# bounded in time, and every process it starts is stopped by PID.
#
# Environment: BENCH_REPS (3), BENCH_SCENARIOS ("s1 s2 s3 s3l s4 s5"),
# BENCH_SERVERS ("chatd redis roof nats"), BENCH_QUICK=1 (short runs, for
# debugging), BENCH_KEEP=1 (keep the work directory with logs and configs).
set -u

BUILD=$(cd "${1:?usage: run.sh BUILDDIR}" && pwd) || exit 2
CHATD=$BUILD/src/chatd
LOADGEN=$BUILD/tests/bench/loadgen
ROOF=$BUILD/tests/bench/roof
PY=/usr/bin/python3
REPS=${BENCH_REPS:-3}
SCENARIOS=${BENCH_SCENARIOS:-"s1 s2 s3 s3l s4 s5"}
SERVERS=${BENCH_SERVERS:-"chatd redis roof nats"}
for exe in "$CHATD" "$LOADGEN" "$ROOF"; do
	[ -x "$exe" ] || { echo "run.sh: $exe: not built" >&2; exit 2; }
done
command -v redis-server >/dev/null ||
	{ echo "run.sh: redis-server is not installed" >&2; exit 2; }
command -v nats-server >/dev/null || SERVERS=${SERVERS//nats/}

if [ "${BENCH_QUICK:-0}" = 1 ]; then D=2; DL=3; SETTLE=2; D5=6
else D=4; DL=6; SETTLE=12; D5=10; fi

WORK=$(mktemp -d /tmp/chatd-bench.XXXXXX)
RAW=$WORK/results.txt
: >"$RAW"
SERVER_PID=
cleanup() {
	stop_server
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "run.sh: logs and configs kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ports above the kernel's ephemeral range, so no client socket holds one.
read -r _ EPH_HI </proc/sys/net/ipv4/ip_local_port_range
PORT_LO=$((EPH_HI + 1))
[ "$PORT_LO" -lt 65000 ] || PORT_LO=20000

# The chatd bench config: flood control and send-queue limits stay on.
#  flood-rate/-burst: a busy service with bridges and bots, set above what
#    the bench's publishers send (up to ~7,500 lines/s for one publisher in
#    scenario 1), so the bucket is checked on every line but never empties;
#  sendq-hard/-soft: the defaults (256 KiB at once; 64 KiB for 10 s);
#  max-clients/-per-ip: room for scenario 4's 19,000 clients, which the
#    load generator spreads over 127.0.0.2-20, 1,000 per address.
write_chatd_conf() {
	cat >"$WORK/chatd.conf" <<-EOF
	listen = 127.0.0.1:$1
	flood-rate = 10000
	flood-burst = 1000
	sendq-hard = 256k
	sendq-soft = 64k
	sendq-soft-seconds = 10
	max-clients = 19500
	max-per-ip = 1000
	scrollback = 20
	shutdown-grace = 1
	log-level = notice
	EOF
}

write_redis_conf() {
	cat >"$WORK/redis.conf" <<-EOF
	bind 127.0.0.1
	port $1
	protected-mode no
	daemonize no
	dir $WORK
	save ""
	appendonly no
	client-output-buffer-limit pubsub 0 0 0
	maxclients 19500
	logfile ""
	EOF
}

# Can something be reached on 127.0.0.1:$1?
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_server NAME: sets SERVER_PID and PORT; tries a few ports.
start_server() {
	local name=$1 try
	for try in 1 2 3 4 5; do
		PORT=$((PORT_LO + RANDOM % (65000 - PORT_LO)))
		port_open "$PORT" && continue
		case $name in
		chatd)	write_chatd_conf "$PORT"
			"$CHATD" -c "$WORK/chatd.conf" >"$WORK/chatd.log" 2>&1 &
			;;
		redis)	write_redis_conf "$PORT"
			redis-server "$WORK/redis.conf" >"$WORK/redis.log" 2>&1 &
			;;
		roof)	"$ROOF" 127.0.0.1 "$PORT" >"$WORK/roof.log" 2>&1 &
			;;
		nats)	nats-server -a 127.0.0.1 -p "$PORT" \
			    >"$WORK/nats.log" 2>&1 &
			;;
		esac
		SERVER_PID=$!
		for _ in $(seq 50); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			port_open "$PORT" && return 0
			sleep 0.1
		done
		stop_server
	done
	echo "run.sh: cannot start $name" >&2
	return 1
}

stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

# The load generator's arguments for a scenario.
scenario_args() {
	case $1 in
	s1)	echo "--clients 1000 --rooms 1 --publishers 1 --window 64" \
		    "--duration $D" ;;
	s2)	echo "--clients 100 --rooms 1 --publishers 10 --window 16" \
		    "--duration $D" ;;
	s3)	echo "--clients 10000 --rooms 1000 --publishers 10 --rate 1" \
		    "--duration $D" ;;
	s3l)	echo "--clients 10000 --rooms 1000 --publishers 10 --rate 0.2" \
		    "--duration $DL" ;;
	s4)	echo "--clients 19000 --rooms 1900 --idle --settle $SETTLE" ;;
	s5b)	echo "--clients 20 --rooms 1 --publishers 10 --rate 500" \
		    "--duration $D5" ;;
	s5)	echo "--clients 20 --rooms 1 --publishers 10 --rate 500" \
		    "--stall 1 --duration $D5" ;;
	esac
}

# run_one SCENARIO SERVER REP: one fresh server, one load generator run.
run_one() {
	local scen=$1 name=$2 rep=$3 out extra=
	start_server "$name" || return 0
	# shellcheck disable=SC2046
	out=$(timeout 200 "$LOADGEN" --proto "$name" --port "$PORT" \
	    --pid "$SERVER_PID" --per-src 1000 --label "$scen" --timeout 180 \
	    $(scenario_args "$scen") 2>"$WORK/loadgen.err" | grep '^RESULT')
	if [ "$name" = chatd ]; then
		extra="log_slow=$(grep -c 'slow consumer' "$WORK/chatd.log")"
	fi
	stop_server
	if [ -z "$out" ]; then
		echo "run.sh: $scen $name rep $rep: no result:" \
		    "$(tail -1 "$WORK/loadgen.err")" >&2
		return 0
	fi
	echo "$out rep=$rep $extra" >>"$RAW"
	echo "  $scen $name rep $rep: $(echo "$out" |
	    grep -o 'dpcs=[0-9]*\|p99_us=[0-9.]*\|rss_per_client_b=[0-9]*\|lost=[0-9]*\|stall_cut_s=[-0-9.]*' |
	    tr '\n' ' ')" >&2
}

START=$SECONDS
echo "run.sh: $REPS rounds of: $SCENARIOS; servers: $SERVERS" >&2
for rep in $(seq "$REPS"); do
	for scen in $SCENARIOS; do
		for name in $SERVERS; do
			case $scen:$name in
			s5:roof|s5:nats) continue ;;	# no send queue to cut
			esac
			if [ "$scen" = s5 ]; then
				run_one s5b "$name" "$rep"
			fi
			run_one "$scen" "$name" "$rep"
		done
	done
done
ELAPSED=$((SECONDS - START))

MACHINE="$(hostname), $(nproc) x $(grep -m1 'model name' /proc/cpuinfo |
    cut -d: -f2 | sed 's/^ //'), Linux $(uname -r), libevent\
 $(pkg-config --modversion libevent_core 2>/dev/null || echo '?'),\
 $(redis-server --version | sed 's/.* v=\([^ ]*\).*/redis \1/'),\
 $(nats-server --version 2>/dev/null || echo 'no nats')"
"$PY" - "$RAW" "$MACHINE" "$REPS" "$ELAPSED" "$SERVERS" "$SETTLE" <<'EOF'
import statistics, sys

raw, machine, reps, elapsed, servers, settle = sys.argv[1:7]
servers = servers.split()
runs = {}
for line in open(raw):
    kv = dict(w.split('=', 1) for w in line.split()[1:] if '=' in w)
    runs.setdefault((kv['label'], kv['proto']), []).append(kv)

def med(scen, server, key):
    vals = [float(r[key]) for r in runs.get((scen, server), []) if key in r]
    vals = [v for v in vals if v >= 0]
    return statistics.median(vals) if vals else None

def fmt(v, kind):
    if v is None:
        return 'n/a'
    if kind == 'rate':
        return f'{v / 1e6:.2f} M' if v >= 1e6 else f'{v / 1e3:.0f} k'
    if kind == 'ms':
        return f'{v / 1000:.2f} ms'
    return f'{v / 1024:.2f} KiB'

def ratio(a, b, lower_better):
    if a is None or b is None or a <= 0 or b <= 0:
        return None
    return b / a if lower_better else a / b

# A ratio is the median of the ratios within each round, where the servers
# ran back to back, so that drift between rounds cancels out.
def pratio(scen_a, server_a, scen_b, server_b, key, lower_better):
    a = {r['rep']: float(r[key]) for r in runs.get((scen_a, server_a), [])}
    b = {r['rep']: float(r[key]) for r in runs.get((scen_b, server_b), [])}
    rs = [ratio(a[k], b[k], lower_better) for k in a if k in b]
    rs = [x for x in rs if x is not None]
    return statistics.median(rs) if rs else None

def rfmt(r):
    return 'n/a' if r is None else f'{r:.2f}x'

def yes(ok):
    return 'n/a' if ok is None else ('yes' if ok else 'no')

head = ['scenario', 'metric'] + servers + ['chatd/redis', 'chatd/roof',
    'target', 'met']
rows = []

# For lower-is-better metrics a ratio says how many times better chatd is.
def row(scen, title, metric, key, kind, target, check, lower_better=False):
    v = {s: med(scen, s, key) for s in servers}
    rr, rf = (pratio(scen, 'chatd', scen, x, key, lower_better)
              for x in ('redis', 'roof'))
    rows.append([title, metric] + [fmt(v[s], kind) for s in servers] +
        [rfmt(rr), rfmt(rf), target, check(v['chatd'], rr, rf)])

def s1_check(c, rr, rf):
    if rr is None or rf is None:
        return 'n/a'
    return (f'{yes(rr >= 1.1 and rf >= 0.9)} (redis {yes(rr >= 1.1)}, '
            f'roof {yes(rf >= 0.9)})')

row('s1', '1: 1 room x 1,000 members, 1 publisher, 64 in flight',
    'deliveries per daemon-CPU-s', 'dpcs', 'rate',
    '>= 1.1x redis, >= 0.9x roof', s1_check)
row('s1', '1: (same)', 'p99 latency', 'p99_us', 'ms', '',
    lambda *a: '', lower_better=True)
row('s2', '2: 1 room x 100 members, 10 publishers, 16 in flight each',
    'deliveries per daemon-CPU-s', 'dpcs', 'rate', '>= 2x redis',
    lambda c, rr, rf: yes(None if rr is None else rr >= 2))
row('s3', '3: 1,000 rooms x 10 members, 1 msg/s each',
    'deliveries per daemon-CPU-s', 'dpcs', 'rate', '>= 1.0x redis',
    lambda c, rr, rf: yes(None if rr is None else rr >= 1.0))
row('s3l', '3: (same) at 0.2 msg/s each', 'p99 latency', 'p99_us', 'ms',
    '<= 0.7 ms', lambda c, rr, rf: yes(None if c is None else c <= 700),
    lower_better=True)
row('s4', f'4: 19,000 idle clients in 1,900 rooms, after {settle} s',
    'daemon RSS per client', 'rss_per_client_b', 'bytes', '<= 1.5 KiB',
    lambda c, rr, rf: yes(None if c is None else c <= 1536),
    lower_better=True)

# Scenario 5: the others' p99 with and without a member that stops reading.
base = {s: med('s5b', s, 'p99_us') for s in servers}
stall = {s: med('s5', s, 'p99_us') for s in servers}
rows.append(['5: 1 room x 20 members, 10 publishers x 500 msg/s',
    'p99 latency'] + [fmt(base[s], 'ms') for s in servers] +
    [rfmt(pratio('s5b', 'chatd', 's5b', 'redis', 'p99_us', True)), 'n/a',
     '', ''])
change = pratio('s5', 'chatd', 's5b', 'chatd', 'p99_us', False)
rows.append(['5: (same), one member stops reading',
    'p99 latency of the others'] + [fmt(stall[s], 'ms') for s in servers] +
    [rfmt(pratio('s5', 'chatd', 's5', 'redis', 'p99_us', True)), 'n/a',
     'no change', 'n/a' if change is None else
     f'{yes(change <= 1.25)} ({change:.2f}x the baseline)'])
cut = {}
for s in servers:
    c = [float(r['stall_cut_s']) for r in runs.get(('s5', s), [])]
    cut[s] = ('n/a' if not c else 'never' if max(c) < 0 else
              f'{statistics.median([x for x in c if x >= 0]):.1f} s' +
              ('' if min(c) >= 0 else ' (not every run)'))
chatd_cuts = [float(r['stall_cut_s']) for r in runs.get(('s5', 'chatd'), [])]
rows.append(['5: (same)', 'the stalled member is cut after'] +
    [cut[s] for s in servers] + ['', '', 'cut at sendq-hard',
     yes(min(chatd_cuts) >= 0 if chatd_cuts else None)])

def faults(s):
    rs = [r for (sc, sv), l in runs.items() if sv == s for r in l
          if r.get('mode') != 'idle']
    if not rs:
        return None
    return sum(int(r[k]) for r in rs for k in ('lost', 'dup', 'ooo', 'bad'))
f = {s: faults(s) for s in servers}
rows.append(['all', 'lost + duplicated + out-of-order deliveries'] +
    ['n/a' if f[s] is None else str(f[s]) for s in servers] +
    ['', '', '0', yes(None if f['chatd'] is None else f['chatd'] == 0)])

print(f'**{machine}**; each cell the median of {reps} rounds, each ratio '
      f'the median of the ratios within a round; {elapsed} s in all.')
print()
print('| ' + ' | '.join(head) + ' |')
print('|' + '|'.join(['---'] * len(head)) + '|')
for r in rows:
    print('| ' + ' | '.join(r) + ' |')
EOF
