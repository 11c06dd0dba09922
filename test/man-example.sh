#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The EXAMPLE program of man/io_uring_kmbuf.7 must compile against the
# library built in this tree and run successfully. The program is taken
# from the page source between the BEGIN/END EXAMPLE comments and its roff
# escapes undone; if mandoc is installed, every line is also checked
# against the rendered page, so the program tested is the one readers see.
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

# The program: the lines between the markers, less .EX/.EE, unescaped
sed -n '/^\.\\" BEGIN EXAMPLE$/,/^\.\\" END EXAMPLE$/p' "$page" |
	sed -e '/^\.\\"/d' -e '/^\.EX$/d' -e '/^\.EE$/d' > "$tmp/roff"
[ -s "$tmp/roff" ] || fail "no BEGIN/END EXAMPLE markers in $page"
if grep -n '^[.'\'']' "$tmp/roff" | grep -v '^[0-9]*:\.[ 	]*$' > "$tmp/requests"; then
	fail "roff requests inside the example, cannot extract it:
$(cat "$tmp/requests")"
fi
# \e is a backslash; hold it aside so that it is not read as an escape
sed -e 's/\\e/\x01/g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" \
	-e 's/\\(dq/"/g' -e 's/\\&//g' "$tmp/roff" > "$tmp/c"
if grep -n '\\' "$tmp/c" > "$tmp/escapes"; then
	fail "unknown roff escape in the example:
$(cat "$tmp/escapes")"
fi
tr '\001' '\\' < "$tmp/c" > "$tmp/example.c"

# What mandoc renders must be the same program, line for line
if command -v mandoc > /dev/null 2>&1; then
	mandoc -Tascii -O width=200 "$page" > "$tmp/rendered" ||
		fail "mandoc could not render $page"
	awk 'NR == FNR { gsub(/[ \t]/, ""); seen[$0] = 1; next }
	     { line = $0; gsub(/[ \t]/, "", line)
	       if (line != "" && !(line in seen)) {
		       print "not in the rendered page: " $0; bad = 1 } }
	     END { exit bad }' "$tmp/rendered" "$tmp/example.c" ||
		fail "the extracted program differs from the rendered page"
else
	echo "note: mandoc not found, rendered page not compared"
fi

"$libtool" --quiet --tag=CC --mode=link $CC -Wall -Wextra -Werror \
	${CFLAGS:-} -I"$top_srcdir/src/include" $URING_CFLAGS \
	-o "$tmp/example" "$tmp/example.c" "$la" $URING_LIBS \
	> "$tmp/build.log" 2>&1 ||
	fail "the example does not build:
$(cat "$tmp/build.log")
$(cat -n "$tmp/example.c")"

"$libtool" --mode=execute "$tmp/example" > "$tmp/run.log" 2>&1
rc=$?
cat "$tmp/run.log"
if [ $rc != 0 ]; then
	# no io_uring at all is a limit of the machine, not of the page
	if grep -q '^queue_init: \(Function not implemented\|Operation not permitted\)' "$tmp/run.log"; then
		skip "io_uring is not available: $(grep '^queue_init:' "$tmp/run.log")"
	fi
	# LIBURING_KMBUF_BACKEND=kernel on a kernel without kmbuf support
	if grep -q '^kmbuf_setup: Operation not supported' "$tmp/run.log"; then
		skip "backend ${LIBURING_KMBUF_BACKEND:-auto} not available here"
	fi
	fail "the example exited with status $rc"
fi
echo "PASS: the example of io_uring_kmbuf(7) builds and runs"
exit 0
