#!/bin/sh
# The integration suite with every daemon the tests start (conftest.py's
# Daemon) run under valgrind's memcheck, then a verdict from valgrind's own
# logs: any definite or indirect leak, or any memory error, fails.
#
#   tests/valgrind.sh [BUILDDIR] [meson test arguments...]
#   tests/valgrind.sh build integration-chat integration-hostile_fanout
#
# Tests that assert on timing or RSS can fail under valgrind's slowdown
# (hostile.py skips its RSS checks under a wrapper); the verdict that
# matters here is the leak and error summary at the end.  LeakSanitizer
# does the same job in CI's ASan build.
set -u
build=${1:-build}
[ $# -gt 0 ] && shift
logdir=$(mktemp -d "${TMPDIR:-/tmp}/chatd-valgrind.XXXXXX")

CHATD_WRAPPER="valgrind --quiet --vgdb=no --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=1 --num-callers=30 --log-file=$logdir/chatd.%p.log"
export CHATD_WRAPPER
export CHATD_TEST_ALARM=900

if [ $# -gt 0 ]; then
	meson test -C "$build" --timeout-multiplier 10 --print-errorlogs "$@"
else
	meson test -C "$build" --timeout-multiplier 10 --print-errorlogs \
	    --suite integration
fi
tests_rc=$?

daemons=$(ls "$logdir" | wc -l)
# --quiet: a log says something only when there is an error or a leak
bad=$(find "$logdir" -name '*.log' -size +0 | sort)
echo "valgrind: $daemons daemons run, logs in $logdir"
if [ -n "$bad" ]; then
	for f in $bad; do
		echo "== $f"
		cat "$f"
	done
	echo "valgrind: errors or leaks in $(echo "$bad" | wc -l) daemons"
	exit 1
fi
echo "valgrind: no leaks (definite, indirect) and no memory errors"
[ "$tests_rc" = 0 ] || echo "valgrind: (some tests failed, see above;" \
    "under valgrind that may be timing)"
exit 0
