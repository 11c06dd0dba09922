#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: <liburing/kmbuf.h> on its own compiles cleanly as C99, C11,
# GNU89 (gcc only), C++11 and C++20 with gcc and clang under -Wall -Wextra -pedantic
# -Wconversion -Wsign-conversion -Werror, and its version macros work in
# the preprocessor. The header is taken from the source tree with -I, so
# its own warnings count; liburing's headers stay system headers.
#
# Environment: CC, CXX, URING_CFLAGS (set by make check), srcdir.
# Exit 0 pass, 1 fail, 77 skip when a compiler family is missing.

srcdir=${srcdir:-$(dirname "$0")}
inc="$srcdir/../src/include"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

warn="-Wall -Wextra -pedantic -Wconversion -Wsign-conversion -Werror"

# The header alone, then every inline helper used, so their bodies are
# checked as the caller's compiler sees them; and the version macros.
cat > "$tmp/t.c" <<'EOF'
#include <liburing/kmbuf.h>

#if !defined(IO_URING_KMBUF_VERSION_MAJOR) || \
	!defined(IO_URING_KMBUF_VERSION_MINOR)
#error "version macros missing"
#endif
#if !IO_URING_KMBUF_CHECK_VERSION(1, 0)
#error "IO_URING_KMBUF_CHECK_VERSION(1, 0) must hold"
#endif
#if IO_URING_KMBUF_CHECK_VERSION(IO_URING_KMBUF_VERSION_MAJOR, \
				 IO_URING_KMBUF_VERSION_MINOR + 1)
#error "IO_URING_KMBUF_CHECK_VERSION must fail for a newer minor"
#endif
#if IO_URING_KMBUF_CHECK_VERSION(IO_URING_KMBUF_VERSION_MAJOR + 1, 0)
#error "IO_URING_KMBUF_CHECK_VERSION must fail for a newer major"
#endif

int hygiene_use(struct io_uring_kmbuf *kb, struct io_uring_cqe *cqe,
		struct io_uring_sqe *sqe, int fd);

int hygiene_use(struct io_uring_kmbuf *kb, struct io_uring_cqe *cqe,
		struct io_uring_sqe *sqe, int fd)
{
	unsigned int bid = 0, bids[2] = { 0, 1 };
	int ret = 0;

	if (io_uring_kmbuf_addr(kb, 0) && io_uring_kmbuf_cqe_buf(kb, cqe, &bid))
		ret += io_uring_kmbuf_cqe_bid(cqe);
	ret += io_uring_kmbuf_add(kb, bid, 0);
	io_uring_kmbuf_advance(kb, 1);
	ret += io_uring_kmbuf_recycle(kb, bid);
	ret += io_uring_kmbuf_recycle_batch(kb, bids, 2);
	io_uring_kmbuf_prep_select(sqe, kb);
	io_uring_kmbuf_prep_recv_multishot(sqe, kb, fd, 0);
	io_uring_kmbuf_prep_read_multishot(sqe, kb, fd, 0);
	ret += io_uring_kmbuf_cqe_seen(kb, cqe);
	ret += io_uring_kmbuf_backend(kb);
	ret += io_uring_kmbuf_major_version() + io_uring_kmbuf_minor_version();
	ret += io_uring_kmbuf_check_version(1, 0);
	return ret;
}
EOF
cp "$tmp/t.c" "$tmp/t.cc"

missing=""
failed=0
checked=0

try() {	# compiler std source
	if ! command -v "$1" >/dev/null 2>&1; then
		case " $missing " in
		*" $1 "*) ;;
		*) missing="$missing $1" ;;
		esac
		return
	fi
	# shellcheck disable=SC2086
	if "$1" -std="$2" $warn -I"$inc" $URING_CFLAGS -c "$3" \
		-o "$tmp/out.o" > "$tmp/log" 2>&1; then
		echo "ok: $1 -std=$2"
		checked=$((checked + 1))
	else
		echo "FAIL: $1 -std=$2:"
		sed 's/^/    /' "$tmp/log"
		failed=$((failed + 1))
	fi
}

cc=${CC:-gcc}
cxx=${CXX:-g++}
case "$cc" in *clang*) cc=gcc ;; esac
case "$cxx" in *clang*) cxx=g++ ;; esac
# gcc accepts 'inline' in gnu89 without a pedantic warning (clang calls
# it an extension), so there the header's own C90 slips show: trailing
# commas in enums, for one.
try "$cc" gnu89 "$tmp/t.c"
for std in c99 c11; do
	try "$cc" $std "$tmp/t.c"
	try clang $std "$tmp/t.c"
done
for std in c++11 c++20; do
	try "$cxx" $std "$tmp/t.cc"
	try clang++ $std "$tmp/t.cc"
done

if [ $failed -ne 0 ]; then
	echo "$failed compiler/standard pairs failed"
	exit 1
fi
if [ -n "$missing" ]; then
	echo "SKIP: not installed:$missing ($checked pairs checked and clean)"
	exit 77
fi
exit 0
