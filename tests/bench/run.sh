#!/bin/bash
# run.sh BUILDDIR: the fan-out benchmarks of issues 7, 10 and 11, in one
# sitting.
#
# Starts chatd, redis-server (pub/sub), the bare epoll roof and, when
# installed, nats-server, each fresh on a high loopback port for every run;
# and chatd's IRC front-end ("chatd-irc": this chatd, its clients on its
# listen-irc port) beside inspircd and ngircd when installed, which run
# scenario 1 only (one room of 1,000 members), with a table of their own;
# drives them with tests/bench/loadgen through the scenarios, REPS times
# (interleaved, so drift hits every server alike); prints one markdown table
# of the medians with the ratios chatd/redis and chatd/roof.  With
# BENCH_CHATD_BEFORE=PATH an older chatd runs beside this one as a server of
# its own ("chatd-v0.1", or BENCH_CHATD_BEFORE_NAME), with a column and the
# ratio after/before.  The attack scenario (chatd servers only) has one
# address attack the room its bystanders chat in (attack.py) and prints a
# second table.  It measures and never fails on a figure.  All traffic stays
# on 127.0.0.0/8, every run is bounded in time, and every process it starts
# is stopped by PID.
#
# Environment: BENCH_REPS (3), BENCH_SCENARIOS ("s1 s2 s3 s3l s4 s5
# attack"), BENCH_SERVERS ("chatd redis roof nats chatd-irc inspircd
# ngircd"; the last three run scenario 1 only, and inspircd, ngircd and nats
# only when installed; BENCH_SERVERS="chatd chatd-irc inspircd ngircd"
# BENCH_SCENARIOS=s1 is issue 11's comparison alone), BENCH_CHATD_BEFORE,
# BENCH_SNDBUF (this chatd's socket-send-buffer in s1-s5; its default
# otherwise), BENCH_SNDBUF_ALT=SIZE (adds "chatd-sndbuf": this chatd with
# that socket-send-buffer, in s1-s5), BENCH_ATTACK_PHASES (the attack's
# kinds of burst, in order: "utf8,ascii,flood,msg,nick,churn"),
# BENCH_DB=1 (adds "chatd-db": this chatd with a database, the SQLite
# writer thread's CPU counted with the daemon's), BENCH_PIN="S L"
# (servers on CPU S, the load generator on CPU L),
# BENCH_QUICK=1 (short runs, for debugging), BENCH_KEEP=1 (keep the work
# directory with logs and configs).
set -u

BUILD=$(cd "${1:?usage: run.sh BUILDDIR}" && pwd) || exit 2
CHATD=$BUILD/src/chatd
CHATCTL=$BUILD/src/chatctl
CHATD_BEFORE=${BENCH_CHATD_BEFORE:-}
BEFORE=${BENCH_CHATD_BEFORE_NAME:-chatd-v0.1}
HERE=$(cd "$(dirname "$0")" && pwd)
ATTACK=$HERE/attack.py
LOADGEN=$BUILD/tests/bench/loadgen
ROOF=$BUILD/tests/bench/roof
PY=/usr/bin/python3
REPS=${BENCH_REPS:-3}
# BENCH_PIN="S L": every server on CPU S, the load generator on CPU L
# (taskset), so the two never share a core.
read -r PIN_SERVER PIN_LOAD <<<"${BENCH_PIN:-}"
PIN_S=() PIN_L=()
[ -n "${PIN_SERVER:-}" ] && PIN_S=(taskset -c "$PIN_SERVER")
[ -n "${PIN_LOAD:-}" ] && PIN_L=(taskset -c "$PIN_LOAD")
SCENARIOS=${BENCH_SCENARIOS:-"s1 s2 s3 s3l s4 s5 attack"}
SERVERS=${BENCH_SERVERS:-"chatd redis roof nats chatd-irc inspircd ngircd"}
if [ -n "$CHATD_BEFORE" ] && [[ " $SERVERS " != *" $BEFORE "* ]]; then
	SERVERS=${SERVERS/chatd/chatd $BEFORE}
fi
if [ -n "${BENCH_SNDBUF_ALT:-}" ]; then
	SERVERS=${SERVERS/chatd/chatd chatd-sndbuf}
fi
if [ "${BENCH_DB:-0}" = 1 ]; then
	SERVERS=${SERVERS/chatd/chatd chatd-db}
fi
for exe in "$CHATD" "$CHATCTL" "$LOADGEN" "$ROOF" ${CHATD_BEFORE:+"$CHATD_BEFORE"}; do
	[ -x "$exe" ] || { echo "run.sh: $exe: not built" >&2; exit 2; }
done
for f in "$ATTACK" "$HERE/table.py"; do
	[ -f "$f" ] || { echo "run.sh: $f: missing" >&2; exit 2; }
done
command -v redis-server >/dev/null ||
	{ echo "run.sh: redis-server is not installed" >&2; exit 2; }
command -v nats-server >/dev/null || SERVERS=${SERVERS//nats/}
for ircd in inspircd ngircd; do
	if [[ " $SERVERS " == *" $ircd "* ]] && ! command -v "$ircd" >/dev/null
	then
		echo "run.sh: $ircd is not installed (apt-get install $ircd)" >&2
		SERVERS=${SERVERS//$ircd/}
	fi
done

# The attack's kinds of burst, in order (attack.py), one phase each.
PHASES_ARG=${BENCH_ATTACK_PHASES:-utf8,ascii,flood,msg,nick,churn}
IFS=, read -r -a ATTACK_PHASES <<<"$PHASES_ARG"

if [ "${BENCH_QUICK:-0}" = 1 ]; then D=2; DL=3; SETTLE=2; D5=6; DA=6
else D=4; DL=6; SETTLE=12; D5=10; DA=12; fi

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

# Does the chatd at $1 know the keys of issue 10 (per-address limits)?
declare -A KNOWS_HOSTS
knows_hosts() {
	if [ -z "${KNOWS_HOSTS[$1]:-}" ]; then
		printf 'listen = 127.0.0.1:1\nflood-rate-per-ip = 0\n' \
		    >"$WORK/probe.conf"
		if "$1" -t -c "$WORK/probe.conf" >/dev/null 2>&1; then
			KNOWS_HOSTS[$1]=yes
		else
			KNOWS_HOSTS[$1]=no
		fi
	fi
	[ "${KNOWS_HOSTS[$1]}" = yes ]
}

# The chatd bench config (PORT SCENARIO SERVER): flood control and
# send-queue limits stay on; every run has a control socket, for stats.
#  flood-rate/-burst: a busy service with bridges and bots, set above what
#    the bench's publishers send (up to ~8,000 lines/s for one publisher in
#    scenario 1, which cost the new chatd 2 tokens each: 1,000 recipients
#    over flood-fanout 500), so the bucket is checked on every line but
#    never empties (stats flood_pauses is 0 in every run);
#  sendq-hard/-soft: the defaults (256 KiB at once; 64 KiB for 10 s);
#  max-clients/-per-ip: room for scenario 4's 19,000 clients, which the
#    load generator spreads over 127.0.0.2-20, 1,000 per address;
#  for a chatd that has them, the per-address limits are off: the load
#    generator's 1,000 clients per address and its publishers sharing one
#    address are a bench's layout, not one user's (flood-rate-per-ip,
#    connect-rate-per-ip and max-memory-per-ip 0; max-memory, 512m, stays);
#    socket-send-buffer is its default (64k) unless BENCH_SNDBUF says.
# The attack scenario runs with the defaults: an operator's chatd.
write_chatd_conf() {
	local port=$1 scen=$2 name=$3 bin
	bin=$(chatd_bin "$name")
	{
		if [ "$name" = chatd-irc ]; then
			echo "listen-irc = 127.0.0.1:$port"
		else
			echo "listen = 127.0.0.1:$port"
		fi
		echo "control = $WORK/control.sock"
		echo "shutdown-grace = 1"
		echo "log-level = notice"
		case $scen in
		attack*) ;;
		*)	cat <<-EOF
			flood-rate = 50000
			flood-burst = 5000
			sendq-hard = 256k
			sendq-soft = 64k
			sendq-soft-seconds = 10
			max-clients = 19500
			max-per-ip = 1000
			scrollback = 20
			EOF
			if knows_hosts "$bin"; then
				cat <<-EOF
				flood-rate-per-ip = 0
				connect-rate-per-ip = 0
				max-memory-per-ip = 0
				EOF
				if [ "$name" = chatd-db ]; then
					# chatd started as root runs as nobody
					chmod o+x "$WORK"
					mkdir -p -m 0777 "$WORK/db"
					rm -f "$WORK"/db/chatd.db*
					echo "database = $WORK/db/chatd.db"
				fi
				if [ "$name" = chatd-sndbuf ]; then
					echo "socket-send-buffer = $BENCH_SNDBUF_ALT"
				elif [ -n "${BENCH_SNDBUF:-}" ]; then
					echo "socket-send-buffer = $BENCH_SNDBUF"
				fi
			fi
			;;
		esac
	} >"$WORK/chatd.conf"
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

# The IRC peers' configs (PORT): everything that limits a client, a class
# or a channel is off or far above what the scenario does, so that the run
# measures fan-out, not their limits (RESULTS.md, "IRC front-end"):
#  inspircd: one connect class for everyone with fakelag off, a command
#    rate of 100,000 lines/s and a flood threshold of 1,000,000 (the
#    publisher sends ~10,000 lines/s), recvq 1M, softsendq 1M, hardsendq
#    4M, localmax/globalmax/limit 20000 (the load generator puts 1,000
#    clients on each source address), maxchans 20, no DNS or ident
#    lookups, no clone check on connect, softlimit 19500; no modules
#    loaded (so no connflood, connectban or chanfilter), no channel limit.
#  ngircd: MaxConnections and MaxConnectionsIP 0 (no limit), MaxJoins 0,
#    MaxPenaltyTime 0 (no penalty delay on any command: its flood
#    control), no DNS, ident or PAM, PingTimeout 120 s.
write_inspircd_conf() {
	: >"$WORK/motd.txt"
	cat >"$WORK/inspircd.conf" <<-EOF
	<server name="bench.local" description="chatd bench" network="bench">
	<admin name="bench" nick="bench" email="bench@localhost">
	<bind address="127.0.0.1" port="$1" type="clients">
	<connect name="bench" allow="*" maxchans="20" timeout="60"
	    pingfreq="2m" hardsendq="4M" softsendq="1M" recvq="1M"
	    threshold="1000000" commandrate="100000000" fakelag="no"
	    localmax="20000" globalmax="20000" maxconnwarn="no"
	    resolvehostnames="no" useident="no" limit="20000">
	<performance netbuffersize="10240" somaxconn="1024" softlimit="19500"
	    clonesonconnect="no" timeskipwarn="2s" quietbursts="yes">
	<files motd="$WORK/motd.txt">
	<pid file="$WORK/inspircd.pid">
	<log method="file" type="* -USERINPUT -USEROUTPUT" level="default"
	    target="$WORK/inspircd-file.log">
	EOF
}

write_ngircd_conf() {
	mkdir -p "$WORK/ngircd.d"
	cat >"$WORK/ngircd.conf" <<-EOF
	[Global]
	Name = bench.local
	Info = chatd bench
	Listen = 127.0.0.1
	Ports = $1
	MotdPhrase = bench
	PidFile = $WORK/ngircd.pid
	[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxPenaltyTime = 0
	PingTimeout = 120
	PongTimeout = 20
	IdleTimeout = 0
	[Options]
	DNS = no
	Ident = no
	PAM = no
	IncludeDir = $WORK/ngircd.d
	EOF
}

# Can something be reached on 127.0.0.1:$1?
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The binary of a chatd server.
chatd_bin() {
	if [ "$1" = "$BEFORE" ]; then echo "$CHATD_BEFORE"; else echo "$CHATD"; fi
}

# start_server NAME SCENARIO: sets SERVER_PID and PORT; tries a few ports.
start_server() {
	local name=$1 scen=$2 try
	for try in 1 2 3 4 5; do
		PORT=$((PORT_LO + RANDOM % (65000 - PORT_LO)))
		port_open "$PORT" && continue
		case $name in
		chatd*)	write_chatd_conf "$PORT" "$scen" "$name"
			"${PIN_S[@]}" "$(chatd_bin "$name")" -c "$WORK/chatd.conf" \
			    >"$WORK/chatd.log" 2>&1 &
			;;
		redis)	write_redis_conf "$PORT"
			"${PIN_S[@]}" redis-server "$WORK/redis.conf" >"$WORK/redis.log" 2>&1 &
			;;
		roof)	"${PIN_S[@]}" "$ROOF" 127.0.0.1 "$PORT" >"$WORK/roof.log" 2>&1 &
			;;
		nats)	"${PIN_S[@]}" nats-server -a 127.0.0.1 -p "$PORT" \
			    >"$WORK/nats.log" 2>&1 &
			;;
		inspircd) write_inspircd_conf "$PORT"
			# It refuses root unless told; as anyone else it
			# runs as that user.
			inspircd --nofork --config "$WORK/inspircd.conf" \
			    $([ "$(id -u)" = 0 ] && echo --runasroot) \
			    >"$WORK/inspircd.log" 2>&1 &
			;;
		ngircd)	write_ngircd_conf "$PORT"
			ngircd --nodaemon --config "$WORK/ngircd.conf" \
			    >"$WORK/ngircd.log" 2>&1 &
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
	attack*) echo "--clients 200 --rooms 1 --publishers 10 --rate 8" \
		    "--sources 10 --lobby --duration $DA" ;;
	esac
}

# What runs beside the load generator in the attack scenario (from the
# start of the measured window, for as long): attack.py, which in the
# baseline run only samples the daemon.
attack_cmd() {
	echo "$PY $ATTACK --port $PORT --duration $DA" \
	    "--phase $((DA / ${#ATTACK_PHASES[@]})) --phases $PHASES_ARG" \
	    "--source 127.0.0.99 --victim b199 --control $WORK/control.sock" \
	    "--pid $SERVER_PID$([ "$1" = attackb ] && echo ' --idle')"
}

# The daemon's own counters after a run, as key=value (chatctl stats).
chatd_stats() {
	"$CHATCTL" -s "$WORK/control.sock" --json stats 2>/dev/null |
	    "$PY" -c 'import json, sys
d = json.load(sys.stdin)
print(" ".join(f"st_{k}={d.get(k, -1)}" for k in ("flood_pauses",
    "closed_slow_consumer", "refused_per_ip", "refused_connect_rate",
    "refused_memory")))' 2>/dev/null
}

# run_one SCENARIO SERVER REP: one fresh server, one load generator run.
run_one() {
	local scen=$1 name=$2 rep=$3 out proto=$2 extra= hook=() load
	local extra_args=()
	read -r load _ </proc/loadavg	# what else ran: in the table
	start_server "$name" "$scen" || return 0
	case $name in
	chatd-irc|inspircd|ngircd) proto=irc ;;
	chatd*)	proto=chatd ;;
	esac
	# ngircd listens with a backlog of 10: more connects at once overflow
	# it, and the dropped ones retry after 1, 3, 7... s (RESULTS.md).
	[ "$name" = ngircd ] && extra_args=(--pending 8)
	case $scen in attack*) hook=(--at-start "$(attack_cmd "$scen")") ;; esac
	# shellcheck disable=SC2046
	timeout 200 "${PIN_L[@]}" "$LOADGEN" --proto "$proto" --port "$PORT" \
	    --pid "$SERVER_PID" --per-src 1000 --label "$scen" --timeout 180 \
	    $(scenario_args "$scen") "${extra_args[@]}" "${hook[@]}" \
	    >"$WORK/loadgen.out" \
	    2>"$WORK/loadgen.err"
	out=$(grep '^RESULT' "$WORK/loadgen.out")
	[ -z "$out" ] || out+=" $(grep '^ATTACK' "$WORK/loadgen.out" |
	    cut -d' ' -f2-)"
	if [[ $name == chatd* ]]; then
		extra="$(chatd_stats)"
		extra+=" log_slow=$(grep -c 'slow consumer' "$WORK/chatd.log")"
	fi
	stop_server
	if [ -z "$out" ]; then
		echo "run.sh: $scen $name rep $rep: no result:" \
		    "$(tail -1 "$WORK/loadgen.err")" >&2
		return 0
	fi
	echo "$out server=$name rep=$rep load=$load $extra" >>"$RAW"
	echo "  $scen $name rep $rep: $(echo "$out $extra" | tr ' ' '\n' |
	    grep '^dpcs=\|^p99_us=\|^rss_per_client_b=\|^lost=\|^stall_cut_s=\|^cut=\|^a_held_max=\|^st_flood_pauses=' |
	    tr '\n' ' ')" >&2
}

START=$SECONDS
echo "run.sh: $REPS rounds of: $SCENARIOS; servers: $SERVERS" >&2
for rep in $(seq "$REPS"); do
	for scen in $SCENARIOS; do
		for name in $SERVERS; do
			case $scen:$name in
			s1:chatd-irc|s1:inspircd|s1:ngircd) ;;
			*:chatd-irc|*:inspircd|*:ngircd) continue ;; # s1 only
			s5:roof|s5:nats) continue ;;	# no send queue to cut
			attack:chatd-sndbuf|attack:chatd-db) continue ;; # defaults only
			attack:chatd*) ;;
			attack:*) continue ;;		# chatd's protocol
			esac
			case $scen in
			s5) run_one s5b "$name" "$rep" ;;
			attack) run_one attackb "$name" "$rep" ;;
			esac
			run_one "$scen" "$name" "$rep"
		done
	done
done
ELAPSED=$((SECONDS - START))

MACHINE="$(hostname), $(nproc) x $(grep -m1 'model name' /proc/cpuinfo |
    cut -d: -f2 | sed 's/^ //'), Linux $(uname -r), libevent\
 $(pkg-config --modversion libevent_core 2>/dev/null || echo '?'),\
 $(redis-server --version | sed 's/.* v=\([^ ]*\).*/redis \1/'),\
 $(nats-server --version 2>/dev/null || echo 'no nats'),\
 $(inspircd --version 2>/dev/null | head -1 || echo 'no inspircd'),\
 $(ngircd --version 2>/dev/null | head -1 | cut -d- -f1 || echo 'no ngircd')"
"$PY" "$HERE/table.py" "$RAW" "$MACHINE" "$REPS" "$ELAPSED" \
    "$SERVERS" "$SETTLE" "${CHATD_BEFORE:+$BEFORE}"
