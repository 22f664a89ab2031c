#!/usr/bin/env bash
# Checks the README's two Quick start commands on a bare Debian 12: a fresh
# `debootstrap --variant=minbase bookworm` root, the repository's committed
# files copied in (git archive of HEAD), then, as root inside the chroot,
# exactly the README's command that builds and runs the daemon (it must
# listen on 127.0.0.1:7000, answer the README's nc tour line for line, and
# exit 0 on SIGTERM), and exactly its test command.  Both commands and the
# tour are read from README.md, so this tests what the README says.
# Slow (a build and the whole suite on a new system): not run by meson test.
#
# usage: tests/install/fresh-debian.sh [-k] [-r DIR] [-t TARBALL] [-l LOGDIR]
#   -r DIR      bootstrap into DIR and keep it; if DIR already holds a
#               system, reuse it as it is (quicker, but what an earlier run
#               installed is then already there: a real check wants a new DIR)
#   -t TARBALL  keep debootstrap's downloads in TARBALL (made if missing)
#   -k          keep the root (default: removed, unless it came from -r)
#   -l LOGDIR   where the logs go (default: a new directory under /var/tmp)
# Needs root (debootstrap, chroot, mount), Debian's archive, and port 7000
# free on 127.0.0.1 (the chroot shares the host's network).
set -uo pipefail

mirror=http://deb.debian.org/debian
suite=bookworm
path_in_root=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readme_port=7000

root='' tarball='' keep=0 logdir='' remove_root=0
while getopts kr:t:l: opt; do
	case $opt in
	k) keep=1 ;;
	r) root=$OPTARG ;;
	t) tarball=$OPTARG ;;
	l) logdir=$OPTARG ;;
	*) sed -n '11,17s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "fresh-debian: needs root" >&2; exit 2; }

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel) || exit 2
readme=$repo/README.md
started=$SECONDS

# ---- the commands, from the README

# The indented (code) lines of the README section whose title starts with $1.
readme_code() {
	awk -v title="## $1" '
		/^## / { on = index($0, title) == 1; next }
		on && /^    / { sub(/^    /, ""); print }' "$readme"
}

mapfile -t quick < <(readme_code "Quick start")
mapfile -t tour < <(readme_code "A one-minute tour with nc")
if [ "${#quick[@]}" != 2 ]; then
	echo "FAIL README: Quick start should hold two commands, found ${#quick[@]}"
	exit 1
fi
run_cmd=${quick[0]} test_cmd=${quick[1]}
case $run_cmd in
*"./build/src/chatd") ;;
*) echo "FAIL README: the first command does not end in ./build/src/chatd"
   exit 1 ;;
esac
case $test_cmd in
*"meson test"*) ;;
*) echo "FAIL README: the second command does not run meson test"; exit 1 ;;
esac
if [ "${tour[0]:-}" != "\$ nc 127.0.0.1 $readme_port" ]; then
	echo "FAIL README: the tour does not start with \$ nc 127.0.0.1 $readme_port"
	exit 1
fi

# ---- cleanup, on every way out

run_pid='' test_pid='' nc_pid=''

# Stop a job started by in_root_bg: its process group, politely first.
stop_group() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM -- "-$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# Mount points at or below the root, deepest first.
mounts_in_root() {
	[ -n "$root" ] || return 0
	awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' \
	    /proc/mounts | sort -r
}

cleanup() {
	local rc=$? m
	trap - EXIT INT TERM
	[ "$rc" -gt 128 ] && echo "fresh-debian: interrupted, cleaning up"
	[ -n "$nc_pid" ] && kill "$nc_pid" 2>/dev/null
	for pid in $run_pid $test_pid; do
		stop_group "$pid"
	done
	for m in $(mounts_in_root); do
		[ "$m" = "$root" ] && continue
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	if [ "$remove_root" = 1 ] && [ "$keep" = 0 ]; then
		if mounts_in_root | grep -qvx "$root"; then
			echo "fresh-debian: $root still has mounts, not removed"
		else
			rm -rf --one-file-system "$root"
		fi
	elif [ -n "$root" ]; then
		echo "root kept: $root"
	fi
	[ -n "$logdir" ] && echo "logs: $logdir"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A command inside the root, as root, with a clean environment.
in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root PATH="$path_in_root" \
	    DEBIAN_FRONTEND=noninteractive "$@"
}

# The same in the background, in a process group of its own (so that
# cleanup can stop all of it); its pid is in $!.
in_root_bg() {
	setsid chroot "$root" /usr/bin/env -i HOME=/root PATH="$path_in_root" \
	    DEBIAN_FRONTEND=noninteractive "$@" &
}

elapsed() {
	local s=$((SECONDS - $1))
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# ---- the root

# Whether a socket listens on the README's port at address $1, in the hex
# of /proc/net/tcp (0100007F is 127.0.0.1; state 0A is LISTEN).
listening_on() {
	local want
	want=$(printf '%s:%04X' "$1" "$readme_port")
	awk -v w="$want" '$2 == w && $4 == "0A" { found = 1 } END { exit !found }' \
	    /proc/net/tcp
}

if listening_on 0100007F || listening_on 00000000; then
	echo "FAIL setup: something on this machine already listens on" \
	    "127.0.0.1:$readme_port, which the README's command needs"
	exit 1
fi

logdir=${logdir:-$(mktemp -d /var/tmp/chatd-fresh-debian-logs.XXXXXX)}
mkdir -p "$logdir" || exit 1
if [ -z "$root" ]; then
	# mktemp's 0700 would become the mode of / inside, shutting out the
	# tests that run chatctl as nobody
	root=$(mktemp -d /var/tmp/chatd-fresh-debian.XXXXXX) &&
		chmod 755 "$root" || exit 1
	remove_root=1
fi
mkdir -p "$root" && root=$(realpath "$root") || exit 1
if [ -n "$(mounts_in_root)" ]; then
	echo "FAIL setup: $root has mounts already (another run?)"
	root='' remove_root=0
	exit 1
fi
[ -z "$tarball" ] || tarball=$(realpath "$tarball") || exit 1

if ! command -v debootstrap >/dev/null; then
	apt-get install -y -q debootstrap >"$logdir/host-apt.log" 2>&1 ||
		{ tail -20 "$logdir/host-apt.log"; exit 1; }
fi

t=$SECONDS
if [ -e "$root/etc/debian_version" ]; then
	echo "== reusing the system in $root (packages from earlier runs stay)"
else
	echo "== debootstrap --variant=minbase $suite $root $mirror"
	if [ -n "$tarball" ] && [ ! -e "$tarball" ]; then
		debootstrap --variant=minbase --make-tarball="$tarball" \
		    "$suite" "$root.tarball" "$mirror" \
		    >"$logdir/debootstrap.log" 2>&1
		rc=$?
		rm -rf --one-file-system "$root.tarball"
		[ "$rc" = 0 ] ||
			{ tail -20 "$logdir/debootstrap.log"; exit 1; }
	fi
	unpack=()
	[ -n "$tarball" ] && unpack=(--unpack-tarball="$tarball")
	debootstrap --variant=minbase "${unpack[@]}" "$suite" "$root" \
	    "$mirror" >>"$logdir/debootstrap.log" 2>&1 ||
		{ tail -20 "$logdir/debootstrap.log"; exit 1; }
fi
echo "   $(elapsed "$t")"

mount -t proc proc "$root/proc" &&
mount -t sysfs sysfs "$root/sys" &&
mount --bind /dev "$root/dev" &&
mount --bind /dev/pts "$root/dev/pts" || exit 1

# The README's commands start with sudo, which minbase lacks: any Debian on
# which a user may follow them has it.
if ! in_root sh -c 'command -v sudo' >/dev/null; then
	in_root apt-get install -y -q sudo >"$logdir/sudo.log" 2>&1 ||
		{ tail -20 "$logdir/sudo.log"; exit 1; }
fi

# Only what is committed counts.
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] ||
	echo "   (uncommitted changes in $repo are not part of the check)"
rm -rf --one-file-system "$root/root/chatd"
git -C "$repo" archive --prefix=chatd/ HEAD | tar -x -C "$root/root" ||
	exit 1
echo "   copied $(git -C "$repo" rev-parse --short HEAD) into /root/chatd"

# ---- the run command

results=()
pass() { echo "PASS $1"; results+=("PASS $1"); }
fail() { echo "FAIL $1: $2"; results+=("FAIL $1"); }

# The chatd the run command started: the last step of its &&, which bash
# runs in its own process (bash 5.2 execs it) or in a child.
run_chatd() {
	local pid
	for pid in "$run_pid" $(cat /proc/"$run_pid"/task/*/children); do
		[ "$(cat /proc/"$pid"/comm)" = chatd ] && echo "$pid"
	done 2>/dev/null
}

# Drive the README's nc tour line by line: a line whose first word is in
# capitals is the daemon's, to be read and compared; any other line is
# typed.  After the last line (BYE) the daemon must close the connection:
# nc keeps running while its input is open, but once that is closed too
# it exits, and only then (without -q it waits for the daemon's EOF).
nc_tour() {
	local line got status i nc_in
	coproc NC {
		exec chroot "$root" /usr/bin/env -i PATH="$path_in_root" \
		    nc 127.0.0.1 "$readme_port" 2>&1
	}
	# shellcheck disable=SC2153 # NC_PID is set by coproc NC
	nc_pid=$NC_PID
	for ((i = 1; i < ${#tour[@]}; i++)); do
		line=${tour[$i]}
		if [[ $line =~ ^[A-Z]+(\ |$) ]]; then
			IFS= read -r -t 10 -u "${NC[0]}" got
			status=$?
			got=${got%$'\r'}
			if [ "$status" != 0 ]; then
				echo "   tour: no line where the README shows: $line"
				return 1
			fi
			if [ "$got" != "$line" ]; then
				echo "   tour: the README shows: $line"
				echo "   tour: the daemon sent:  $got"
				return 1
			fi
		else
			printf '%s\n' "$line" >&"${NC[1]}"
		fi
	done
	nc_in=${NC[1]}
	exec {nc_in}>&-
	IFS= read -r -t 10 -u "${NC[0]}" got
	status=$?
	if [ "$status" = 0 ]; then
		echo "   tour: a line after the last one the README shows: $got"
		return 1
	elif [ "$status" -gt 128 ]; then
		echo "   tour: connection still open 10 s after the last line"
		return 1
	fi
	wait "$nc_pid" 2>/dev/null
	nc_pid=
	echo "   tour: ${#tour[@]} lines as the README shows them"
}

# Start the run command, wait for its build and its listener, take the
# tour, stop chatd with SIGTERM.
run_command_steps() {
	local log=$logdir/run.log t=$SECONDS pid rc i
	echo "== run command: $run_cmd"
	in_root_bg /bin/bash -c "cd /root/chatd && $run_cmd" >"$log" 2>&1
	run_pid=$!
	# apt and the build come first: allow them 40 minutes
	for ((i = 0; i < 1200; i++)); do
		grep -q "listening on 127.0.0.1:$readme_port" "$log" && break
		kill -0 "$run_pid" 2>/dev/null || break
		sleep 2
	done
	if ! kill -0 "$run_pid" 2>/dev/null; then
		wait "$run_pid"
		rc=$?
		run_pid=
		tail -30 "$log"
		fail "run command" "exited with status $rc before listening"
		return
	fi
	if ! grep -q "listening on 127.0.0.1:$readme_port" "$log"; then
		tail -30 "$log"
		fail "run command" "no 'listening on 127.0.0.1:$readme_port' in 40 min"
		return
	fi
	echo "   built and started in $(elapsed "$t")"
	if ! listening_on 0100007F; then
		fail "run command" "chatd logged it listens, but 127.0.0.1:$readme_port has no listener"
		return
	fi
	pid=$(run_chatd)
	if [ -z "$pid" ]; then
		fail "run command" "no chatd process from the run command"
		return
	fi
	if ! nc_tour; then
		tail -20 "$log"
		fail "run command" "the nc tour differs from the README"
		return
	fi
	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$run_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$run_pid" 2>/dev/null; then
		fail "run command" "chatd did not exit within 10 s of SIGTERM"
		return
	fi
	wait "$run_pid"
	rc=$?
	run_pid=
	if [ "$rc" != 0 ]; then
		tail -20 "$log"
		fail "run command" "exited with status $rc after SIGTERM"
		return
	fi
	pass "run command (listens on 127.0.0.1:$readme_port, nc tour, SIGTERM: exit 0) in $(elapsed "$t")"
}

check_run_command() {
	run_command_steps
	stop_group "$run_pid"
	run_pid=
}

check_test_command() {
	local log=$logdir/test.log t=$SECONDS rc
	echo "== test command: $test_cmd"
	in_root_bg /bin/bash -c "cd /root/chatd && $test_cmd" >"$log" 2>&1
	test_pid=$!
	wait "$test_pid"
	rc=$?
	test_pid=
	grep -E '^(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout): ' "$log" |
		sed 's/^/   /'
	if [ "$rc" != 0 ]; then
		grep -E '^ *[0-9]+/[0-9]+ .* (FAIL|TIMEOUT|ERROR) ' "$log" | sed 's/^/   /'
		echo "   (whole log: $log)"
		fail "test command" "exit status $rc"
		return
	fi
	pass "test command in $(elapsed "$t")"
}

check_run_command
check_test_command

echo "== fresh Debian $suite minbase, $(elapsed "$started") in all:"
printf '   %s\n' "${results[@]}"
! printf '%s\n' "${results[@]}" | grep -q '^FAIL'
