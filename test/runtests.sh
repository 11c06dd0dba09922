#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Run test programs one by one with a timeout each, the way liburing's
# runtests.sh does: exit 0 is a pass, 77 a skip, anything else a failure.
# As root, a test that leaves BUG/WARNING/Oops (or a KASAN, lockdep or
# kmemleak report) in the kernel log fails too.
#
# usage: [srcdir=DIR] runtests.sh [-t seconds] test-program...
# With no programs, runs every executable listed in the TESTS variable of
# the environment, or else every *.t program next to this script.

timeout_s=${TEST_TIMEOUT:-60}
if [ "$1" = "-t" ]; then
	timeout_s=$2
	shift 2
fi

if [ $# -eq 0 ]; then
	if [ -n "$TESTS" ]; then
		set -- $TESTS
	else
		set -- "$(dirname "$0")"/*.t
	fi
fi

splat='BUG:|WARNING:|Oops|KASAN:|general protection fault|possible circular locking|inconsistent lock state|possible recursive locking|suspicious RCU usage|unreferenced object|UBSAN:|kernel BUG'
can_dmesg=0
if [ "$(id -u)" = 0 ] && dmesg >/dev/null 2>&1; then
	can_dmesg=1
fi

passed=0
failed=0
skipped=0
failed_names=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "$@"; do
	name=$(basename "$t")
	case "$t" in
	*/*) prog=$t ;;
	*) prog=./$t ;;
	esac
	# scripts live in the source tree when building out of tree
	if [ ! -e "$prog" ] && [ -n "$srcdir" ] && [ -e "$srcdir/$t" ]; then
		prog=$srcdir/$t
	fi
	if [ $can_dmesg = 1 ]; then
		echo "runtests: running $name" > /dev/kmsg 2>/dev/null
		before=$(dmesg | wc -l)
	fi

	timeout -s INT -k 10 "$timeout_s" "$prog" > "$log" 2>&1
	rc=$?

	kmsg=""
	if [ $can_dmesg = 1 ]; then
		kmsg=$(dmesg | tail -n +$((before + 1)) | grep -E "$splat")
	fi

	if [ -n "$kmsg" ]; then
		status="FAIL"
		reason="kernel log: $(echo "$kmsg" | head -n 1)"
	elif [ $rc = 0 ]; then
		status="PASS"
	elif [ $rc = 77 ]; then
		status="SKIP"
		reason=$(grep '^SKIP:' "$log" | tail -n 1 | sed 's/^SKIP: *//')
		[ -n "$reason" ] || reason="(the test gave no reason)"
	elif [ $rc = 124 ] || [ $rc = 137 ]; then
		status="FAIL"
		reason="timed out after ${timeout_s}s"
	else
		status="FAIL"
		reason="exit status $rc"
	fi

	case $status in
	PASS)
		passed=$((passed + 1))
		echo "PASS $name"
		;;
	SKIP)
		skipped=$((skipped + 1))
		echo "SKIP $name: $reason"
		;;
	FAIL)
		failed=$((failed + 1))
		failed_names+=("$name")
		echo "FAIL $name: $reason"
		sed 's/^/    /' "$log"
		[ -n "$kmsg" ] && echo "$kmsg" | sed 's/^/    kernel: /'
		;;
	esac
done

if [ $failed -gt 0 ]; then
	echo "Failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
