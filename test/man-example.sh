#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The EXAMPLE programs of man/io_uring_kmbuf.7 must compile against the
# library built in this tree and run successfully. Each program is taken
# from the page source between a pair of BEGIN/END EXAMPLE comments and its
# roff escapes undone; if mandoc is installed, every line is also checked
# against the rendered page, so the program tested is the one readers see.
# Each must also compile with -std=c11 and -std=c99, as the page's rule
# on the include order promises. A program the machine cannot run (no io_uring, a backend or kernel
# feature missing) is reported; the test skips only if none ran.
#
# Exit 0 pass, 77 skip (with a SKIP: line), 1 fail, as the other tests.
# Run from test/ of the build tree (make check, make runtests); srcdir,
# top_builddir, CC, CFLAGS, URING_CFLAGS and URING_LIBS may be set in the
# environment.

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${srcdir:-$here}
top_srcdir=$(cd "$srcdir/.." && pwd)
top_builddir=$(cd "${top_builddir:-..}" && pwd)
page=$top_srcdir/man/io_uring_kmbuf.7
libtool=$top_builddir/libtool
la=$top_builddir/src/liburing-kmbuf.la
CC=${CC:-cc}

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*"
	exit 1
}

[ -f "$page" ] || fail "$page not found"
[ -x "$libtool" ] && [ -f "$la" ] ||
	skip "library not built in $top_builddir (no libtool or src/liburing-kmbuf.la)"
if [ -z "${URING_LIBS+set}" ]; then
	URING_CFLAGS=$(pkg-config --cflags liburing 2>/dev/null)
	URING_LIBS=$(pkg-config --libs liburing 2>/dev/null || echo -luring)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/man-example.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT

# The programs: the lines between each pair of markers, less .EX/.EE
awk -v dir="$tmp" '
	/^\.\\" BEGIN EXAMPLE$/ { n++; inside = 1; next }
	/^\.\\" END EXAMPLE$/ { inside = 0; next }
	inside && !/^\.\\"/ && !/^\.EX$/ && !/^\.EE$/ { print > (dir "/roff." n) }
	END { print n + 0 > (dir "/count") }' "$page"
count=$(cat "$tmp/count")
[ "$count" -gt 0 ] || fail "no BEGIN/END EXAMPLE markers in $page"

if command -v mandoc > /dev/null 2>&1; then
	mandoc -Tascii -O width=200 "$page" > "$tmp/rendered" ||
		fail "mandoc could not render $page"
else
	echo "note: mandoc not found, rendered page not compared"
fi

# check_example N: unescape program N, compare, build and run it.
# Returns 0 if it ran, 77 if the machine cannot run it (with a reason).
check_example() {
	n=$1
	roff=$tmp/roff.$n
	[ -s "$roff" ] || fail "example $n is empty"
	if grep -n '^[.'\'']' "$roff" | grep -v '^[0-9]*:\.[ 	]*$' > "$tmp/requests"; then
		fail "roff requests inside example $n, cannot extract it:
$(cat "$tmp/requests")"
	fi
	# \e is a backslash; hold it aside so that it is not read as an escape
	sed -e 's/\\e/\x01/g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" \
		-e 's/\\(dq/"/g' -e 's/\\&//g' "$roff" > "$tmp/c"
	if grep -n '\\' "$tmp/c" > "$tmp/escapes"; then
		fail "unknown roff escape in example $n:
$(cat "$tmp/escapes")"
	fi
	tr '\001' '\\' < "$tmp/c" > "$tmp/example$n.c"

	# What mandoc renders must be the same program, line for line
	if [ -f "$tmp/rendered" ]; then
		awk 'NR == FNR { gsub(/[ \t]/, ""); seen[$0] = 1; next }
		     { line = $0; gsub(/[ \t]/, "", line)
		       if (line != "" && !(line in seen)) {
			       print "not in the rendered page: " $0; bad = 1 } }
		     END { exit bad }' "$tmp/rendered" "$tmp/example$n.c" ||
			fail "example $n differs from the rendered page"
	fi

	"$libtool" --quiet --tag=CC --mode=link $CC -Wall -Wextra -Werror \
		${CFLAGS:-} -I"$top_srcdir/src/include" $URING_CFLAGS \
		-o "$tmp/example$n" "$tmp/example$n.c" "$la" $URING_LIBS \
		> "$tmp/build.log" 2>&1 ||
		fail "example $n does not build:
$(cat "$tmp/build.log")
$(cat -n "$tmp/example$n.c")"

	# The page's rule: with <liburing/kmbuf.h> first, a strict ISO
	# standard builds too (it asks for the POSIX declarations liburing.h
	# needs). Its own examples must follow it.
	for std in c11 c99; do
		$CC -std=$std -Wall -Wextra -Werror ${CFLAGS:-} \
			-I"$top_srcdir/src/include" $URING_CFLAGS \
			-c -o "$tmp/example$n.$std.o" "$tmp/example$n.c" \
			> "$tmp/build.log" 2>&1 ||
			fail "example $n does not build with -std=$std:
$(head -n 20 "$tmp/build.log")"
	done

	"$libtool" --mode=execute "$tmp/example$n" > "$tmp/run.log" 2>&1
	rc=$?
	cat "$tmp/run.log"
	if [ $rc != 0 ]; then
		# no io_uring at all is a limit of the machine, not of the page
		if grep -q '^queue_init: \(Function not implemented\|Operation not permitted\)' "$tmp/run.log"; then
			why="io_uring is not available: $(grep '^queue_init:' "$tmp/run.log")"
			return 77
		fi
		# LIBURING_KMBUF_BACKEND=kernel on a kernel without kmbuf
		# support, or a kernel without what the example needs
		if grep -q '^kmbuf_setup: Operation not supported' "$tmp/run.log"; then
			why="backend ${LIBURING_KMBUF_BACKEND:-auto} cannot run example $n here"
			return 77
		fi
		fail "example $n exited with status $rc"
	fi
	return 0
}

ran=0
i=1
while [ $i -le "$count" ]; do
	why=
	check_example $i
	case $? in
	0) ran=$((ran + 1)) ;;
	*) echo "example $i not run: $why"; last_why=$why ;;
	esac
	i=$((i + 1))
done
[ $ran -gt 0 ] || skip "$last_why"
echo "PASS: $ran of the $count examples of io_uring_kmbuf(7) build and run"
exit 0
