#!/bin/sh
# Install into a temporary DESTDIR and check the layout a distribution
# expects: binaries, man pages in their sections (lint clean), the example
# config in sysconfdir, and systemd units that systemd-analyze accepts.
# usage: check-install.sh BUILDDIR
set -eu
build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null

prefix=$(meson introspect "$build" --buildoptions |
	/usr/bin/python3 -c 'import json,sys
o={x["name"]:x["value"] for x in json.load(sys.stdin)}
print(o["prefix"]); print(o["sysconfdir"]); print(o["mandir"])
print(o["bindir"]); print(o["sbindir"])')
set -- $prefix
prefix=$1 sysconfdir=$2 mandir=$3 bindir=$4 sbindir=$5
case $sysconfdir in /*) ;; *) sysconfdir=$prefix/$sysconfdir ;; esac
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)

fail=0
need() {
	if [ -e "$dest$1" ]; then echo "ok   $1"; else echo "MISS $1"; fail=1; fi
}
need "$prefix/$sbindir/chatd"
need "$prefix/$bindir/chatctl"
need "$sysconfdir/chatd/chatd.conf"
for page in man1/chatctl.1 man5/chatd.conf.5 man7/chatd-protocol.7 \
    man7/chatd-irc.7 man8/chatd.8; do
	need "$prefix/$mandir/$page"
done
for unit in chatd.service chatd.socket chatd-control.socket; do
	need "$unitdir/$unit"
done
[ "$fail" = 0 ] || exit 1

# The installed daemon accepts the installed example config.
"$dest$prefix/$sbindir/chatd" -t -c "$dest$sysconfdir/chatd/chatd.conf"

# Man pages: mandoc lint at warning level and up must be silent.
lint=$(mandoc -Tlint -W warning "$dest$prefix/$mandir"/man*/* 2>&1) || true
if [ -n "$lint" ]; then
	echo "$lint"
	exit 1
fi
echo "ok   mandoc -Tlint"

# Units: systemd-analyze verify, with ExecStart pointing at the installed
# binary (the unit names its final path, which is not on this machine).
units=$(mktemp -d)
trap 'rm -rf "$dest" "$units"' EXIT
for unit in chatd.service chatd.socket chatd-control.socket; do
	sed "s|$prefix/$sbindir/chatd|$dest$prefix/$sbindir/chatd|" \
	    "$dest$unitdir/$unit" >"$units/$unit"
done
grep -q "^ExecStart=$dest" "$units/chatd.service"
systemd-analyze verify --man=no "$units/chatd.service" \
    "$units/chatd.socket" "$units/chatd-control.socket"
echo "ok   systemd-analyze verify"

# The sandbox: systemd's exposure score for the service stays under 2.0
# (README quotes it).
score=$(systemd-analyze security --offline=true "$units/chatd.service" |
	sed -n 's/.*Overall exposure level for chatd.service: \([0-9.]*\).*/\1/p')
echo "ok   systemd-analyze security: exposure $score"
awk -v s="$score" 'BEGIN { exit !(s != "" && s < 2.0) }'
