#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Install check, run by CI (not by make check): the release files of a
# configured tree are configured again with a temporary --prefix, built and
# installed there; then, with nothing but pkg-config pointed at the prefix,
# examples/kmbuf-cat.c is built dynamically and statically and a small C++
# program against <liburing/kmbuf.h> likewise, each binary is run, the man
# pages are looked up with man -M, and make uninstall must leave no file
# behind. One PASS/FAIL (or SKIP) line per step; exit 1 if a step failed.
#
# usage: test/install-check.sh [configured-build-dir]
# The build directory defaults to the top of the tree holding this script;
# if it is not configured, the tree's own configure script is used.
# CC and CXX choose the compilers (default cc, g++); KEEP=1 keeps the
# temporary directory.

top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "${1:-$top_srcdir}" && pwd) || exit 1
CC=${CC:-cc}
CXX=${CXX:-g++}
jobs=$(nproc 2>/dev/null || echo 1)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/install-check.XXXXXX") || exit 1
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
log=$tmp/log
failed=0

pass() { echo "PASS: $*"; }
fail() {
	echo "FAIL: $*"
	[ -s "$log" ] && sed 's/^/    /' "$log" | tail -n 40
	failed=1
}
skip() { echo "SKIP: $*"; }
# Run a step; the log of a failed step is shown
step() {
	local name=$1
	shift
	if "$@" > "$log" 2>&1; then
		pass "$name"
		return 0
	fi
	fail "$name"
	return 1
}
finish() {
	if [ $failed = 0 ]; then
		echo "install-check: all steps passed"
	else
		echo "install-check: FAILED"
	fi
	exit $failed
}

# 1. configure, build and install the release files into $prefix
if [ -f "$top_builddir/Makefile" ]; then
	# what make dist would ship, without making the tarball
	make_src() {
		make -C "$top_builddir" distdir \
			distdir="$(realpath -m --relative-to="$top_builddir" "$tmp/src")"
	}
	step "make distdir" make_src || finish
	src=$tmp/src
else
	src=$top_srcdir
	[ -x "$src/configure" ] || { fail "$src is not configured and has no configure script (run ./autogen.sh)"; finish; }
fi
build() {
	mkdir -p "$tmp/build" && cd "$tmp/build" &&
	"$src/configure" --prefix="$prefix" CC="$CC" CXX="$CXX" &&
	make -j"$jobs" && make install
}
step "configure --prefix=$prefix, make, make install" build || finish

# What is installed where, as a list for the uninstall check
find "$prefix" \( -type f -o -type l \) | sort > "$tmp/installed"
expect() {
	local f
	for f in include/liburing/kmbuf.h lib/liburing-kmbuf.so \
		 lib/liburing-kmbuf.so.1 lib/liburing-kmbuf.a \
		 lib/pkgconfig/liburing-kmbuf.pc share/man/man7/io_uring_kmbuf.7; do
		[ -e "$prefix/$f" ] || { echo "missing: $prefix/$f"; return 1; }
	done
	cat "$tmp/installed"
}
step "installed files in place ($(wc -l < "$tmp/installed") files)" expect

# 2. man pages: every public name resolves under the prefix's mandir
export MANPAGER=cat PAGER=cat MANWIDTH=80
names=$(sed -n 's/^[a-z].*[ *]\(io_uring_[a-z0-9_]*\)(.*/\1/p' \
	"$prefix/include/liburing/kmbuf.h")
man_pages() {
	local n out
	[ -n "$names" ] || { echo "no function found in kmbuf.h"; return 1; }
	for n in $names; do
		out=$(man -M "$prefix/share/man" 3 "$n" 2>&1) ||
			{ echo "man 3 $n: $out"; return 1; }
		# an alias page shows the page it includes, which names it too
		echo "$out" | grep -q "$n" ||
			{ echo "man 3 $n: page does not mention $n"; return 1; }
	done
	out=$(man -M "$prefix/share/man" 7 io_uring_kmbuf 2>&1) ||
		{ echo "man 7 io_uring_kmbuf: $out"; return 1; }
	echo "$out" | grep -q 'EXAMPLE' || { echo "io_uring_kmbuf(7) has no EXAMPLE"; return 1; }
	out=$(man -M "$prefix/share/man" io_uring_register_kmbuf_ring 2>&1) &&
		echo "$out" | grep -q IORING_REGISTER_KMBUF_RING ||
		{ echo "man io_uring_register_kmbuf_ring: $out"; return 1; }
}
if command -v man > /dev/null; then
	step "man -M $prefix/share/man finds all $(echo $names | wc -w) functions and io_uring_kmbuf(7)" man_pages
else
	skip "man pages: man(1) not installed"
fi

# 3. pkg-config, pointed at the prefix only
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
unset PKG_CONFIG_SYSROOT_DIR
pc_check() {
	local v
	v=$(pkg-config --modversion liburing-kmbuf) || return 1
	echo "version $v, cflags: $(pkg-config --cflags liburing-kmbuf)"
	echo "libs: $(pkg-config --libs liburing-kmbuf)"
	echo "static libs: $(pkg-config --static --libs liburing-kmbuf)"
	pkg-config --cflags liburing-kmbuf | grep -q -- "-I$prefix/include" &&
	pkg-config --libs liburing-kmbuf | grep -q -- "-L$prefix/lib " &&
	pkg-config --libs liburing-kmbuf | grep -q -- "-luring-kmbuf" &&
	pkg-config --libs liburing-kmbuf | grep -q -- "-luring\( \|$\)" &&
	pkg-config --exists 'liburing-kmbuf >= 1.0'
}
step "pkg-config liburing-kmbuf (Requires liburing, -I/-L into the prefix)" pc_check
cflags=$(pkg-config --cflags liburing-kmbuf)
libs=$(pkg-config --libs liburing-kmbuf)
slibs=$(pkg-config --static --libs liburing-kmbuf)

# 4. build outside the tree: C dynamic and static, C++ dynamic and static
out=$tmp/out
mkdir -p "$out"
cp "$top_srcdir/examples/kmbuf-cat.c" "$out/"
cat > "$out/kmbuf-cxx.cc" <<'CXX'
// The public header from C++: declarations, inline helpers, enums.
#include <liburing/kmbuf.h>
#include <cstdio>
#include <cstring>
#include <unistd.h>

int main()
{
	static const char msg[] = "C++ through a kmbuf ring";
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	unsigned int bid = 0;
	int fds[2], err = 0;

	if (pipe(fds) < 0 || io_uring_queue_init(4, &ring, 0) < 0)
		return 1;
	io_uring_kmbuf *kb = io_uring_kmbuf_setup(&ring, 4,
			static_cast<unsigned int>(sysconf(_SC_PAGESIZE)), 3, 0, &err);
	if (!kb) {
		std::fprintf(stderr, "setup: %s\n", std::strerror(-err));
		return 1;
	}
	std::printf("backend %s\n",
		    io_uring_kmbuf_backend_name(io_uring_kmbuf_backend(kb)));
	if (write(fds[1], msg, sizeof(msg)) != static_cast<ssize_t>(sizeof(msg)))
		return 1;
	io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fds[0], nullptr, 0, 0);
	io_uring_kmbuf_prep_select(sqe, kb);
	if (io_uring_submit_and_wait(&ring, 1) < 0 || io_uring_peek_cqe(&ring, &cqe))
		return 1;
	void *data = io_uring_kmbuf_cqe_buf(kb, cqe, &bid);
	if (!data || data != io_uring_kmbuf_addr(kb, bid) ||
	    io_uring_kmbuf_cqe_bid(cqe) != static_cast<int>(bid) ||
	    cqe->res != static_cast<int>(sizeof(msg)) ||
	    std::memcmp(data, msg, sizeof(msg)) != 0)
		return 1;
	io_uring_cqe_seen(&ring, cqe);
	const unsigned int bids[] = { bid };
	if (io_uring_kmbuf_recycle_batch(kb, bids, 1) != 1 ||
	    io_uring_kmbuf_recycle(kb, kb->nentries) != -EINVAL)
		return 1;
	if (io_uring_kmbuf_free(kb) < 0)
		return 1;
	io_uring_queue_exit(&ring);
	return 0;
}
CXX
head -c $((1024 * 1024 + 777)) /dev/urandom > "$out/in"

# An executable must not depend on the library dynamically if built static
no_dyn_kmbuf() {
	if readelf -d "$1" | grep -q 'NEEDED.*liburing'; then
		readelf -d "$1" | grep NEEDED
		return 1
	fi
}
is_dyn_kmbuf() {
	LD_LIBRARY_PATH=$prefix/lib ldd "$1" | grep -q "$prefix/lib/liburing-kmbuf.so.1" ||
		{ LD_LIBRARY_PATH=$prefix/lib ldd "$1"; return 1; }
}
build_c_dyn() {
	cd "$out" && $CC -Wall -Wextra -Werror -o cat-dyn kmbuf-cat.c $cflags $libs &&
	is_dyn_kmbuf cat-dyn
}
build_c_static() {
	cd "$out" && $CC -Wall -Wextra -Werror -o cat-static kmbuf-cat.c \
		$(pkg-config --static --cflags liburing-kmbuf) \
		-Wl,-Bstatic $slibs -Wl,-Bdynamic &&
	no_dyn_kmbuf cat-static
}
build_cxx_dyn() {
	cd "$out" && $CXX -Wall -Wextra -Werror -pedantic-errors -o cxx-dyn \
		kmbuf-cxx.cc $cflags $libs &&
	is_dyn_kmbuf cxx-dyn
}
build_cxx_static() {
	cd "$out" && $CXX -Wall -Wextra -Werror -pedantic-errors -o cxx-static \
		kmbuf-cxx.cc $(pkg-config --static --cflags liburing-kmbuf) \
		-Wl,-Bstatic $slibs -Wl,-Bdynamic &&
	no_dyn_kmbuf cxx-static
}
run_cat() {
	local bin=$1
	shift
	cd "$out" && rm -f copy &&
	env "$@" "./$bin" in "$top_srcdir/README.md" > copy &&
	cat in "$top_srcdir/README.md" | cmp - copy
}
run_cxx() {
	local bin=$1
	shift
	cd "$out" && env "$@" "./$bin"
}
# A run step: a binary that fails because this machine has no io_uring is
# a skip, not a failure of the install
run_step() {
	local name=$1
	shift
	if "$@" > "$log" 2>&1; then
		pass "$name"
	elif grep -q 'queue_init: \(Function not implemented\|Operation not permitted\)' "$log"; then
		skip "$name: io_uring is not available here"
	else
		fail "$name"
	fi
}

if ! command -v "$CC" > /dev/null; then
	skip "C builds: $CC not found"
else
	step "C, dynamic: $CC kmbuf-cat.c \$(pkg-config --cflags --libs liburing-kmbuf)" build_c_dyn &&
	run_step "run C dynamic (LD_LIBRARY_PATH=$prefix/lib): copy and cmp" \
		run_cat cat-dyn LD_LIBRARY_PATH="$prefix/lib"
	step "C, static: -Wl,-Bstatic \$(pkg-config --static --libs liburing-kmbuf)" build_c_static &&
	run_step "run C static (no LD_LIBRARY_PATH): copy and cmp" \
		run_cat cat-static -u LD_LIBRARY_PATH
fi
if ! command -v "$CXX" > /dev/null; then
	skip "C++ builds: $CXX not found"
else
	step "C++, dynamic: $CXX -Wall -Wextra -Werror -pedantic-errors" build_cxx_dyn &&
	run_step "run C++ dynamic: read a pipe, check bid and data, recycle" \
		run_cxx cxx-dyn LD_LIBRARY_PATH="$prefix/lib"
	step "C++, static: -Wl,-Bstatic \$(pkg-config --static --libs liburing-kmbuf)" build_cxx_static &&
	run_step "run C++ static (no LD_LIBRARY_PATH)" \
		run_cxx cxx-static -u LD_LIBRARY_PATH
fi

# 5. make uninstall leaves no file under the prefix
uninstall() {
	local left
	make -C "$tmp/build" uninstall || return 1
	left=$(find "$prefix" \( -type f -o -type l \) 2>/dev/null)
	if [ -n "$left" ]; then
		echo "left behind by make uninstall:"
		echo "$left"
		return 1
	fi
}
step "make uninstall leaves no file under $prefix" uninstall

finish
