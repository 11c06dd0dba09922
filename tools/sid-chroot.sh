#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A Debian sid chroot (liburing newer than Debian 12's 2.3), made with
# mmdebstrap from Debian's packages only and cached as a tarball, holding the
# build dependencies of debian/control (and lintian). Each command runs in a
# fresh copy of it, on a copy of this tree, and leaves the cached tarball as
# it was.
#
# usage: tools/sid-chroot.sh [--suite SUITE] COMMAND
#   make          make (or reuse) the tarball and print its path
#   build         dpkg-buildpackage -us -uc (runs make check) and lintian on
#                 the result; errors fail; ends with "sid: N passed, ..."
#   run CMD...    run CMD (a shell command line) at the top of the copied
#                 tree, e.g. tools/sid-chroot.sh run \
#                   './autogen.sh && ./configure && make -j2 && make runtests'
#   shell         an interactive shell there
#
# The tree copied is KMBUF_CHROOT_TREE (default: the one holding this
# script): in a git checkout its tracked and new files as they are in the
# work tree, without ignored ones (build products); else the whole
# directory. Environment:
#   KMBUF_CHROOT_CACHE    where tarballs live (/var/cache/liburing-kmbuf)
#   KMBUF_CHROOT_MAX_AGE  days before the tarball is made anew (7), so that
#                         the chroot follows sid
#   KMBUF_CHROOT_MIRROR   Debian mirror (http://deb.debian.org/debian)
# Exit status 77 (with a SKIP: line) if the chroot cannot be made here.
set -uo pipefail

suite=sid
if [[ ${1:-} == --suite ]]; then
	suite=$2
	shift 2
fi
cmd=${1:-}
[[ -n $cmd ]] || { sed -n '3,31p' "$0"; exit 2; }
shift

top=$(cd "${KMBUF_CHROOT_TREE:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd) ||
	exit 1
cache=${KMBUF_CHROOT_CACHE:-/var/cache/liburing-kmbuf}
max_age=${KMBUF_CHROOT_MAX_AGE:-7}
mirror=${KMBUF_CHROOT_MIRROR:-http://deb.debian.org/debian}
# Tools in the chroot besides the build dependencies
extra="lintian git"

say() { echo "sid-chroot: $*" >&2; }
skip() {
	echo "SKIP: $suite chroot: $*"
	exit 77
}
die() {
	echo "sid-chroot: ERROR: $*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || skip "needs root (chroot, mounts)"

# The tarball is keyed by the suite, the extra tools and debian/control, so
# a changed Build-Depends makes a new one.
key=$( { echo "$suite $extra"; cat "$top/debian/control"; } |
	sha256sum | cut -c1-12)
tarball=$cache/chroot-$suite-$key.tar.zst

make_tarball() {
	local tmp log
	if [[ -f $tarball ]] &&
	   [[ -n $(find "$tarball" -mtime -"$max_age" 2>/dev/null) ]]; then
		return 0
	fi
	if ! command -v mmdebstrap >/dev/null || ! command -v zstd >/dev/null; then
		say "installing mmdebstrap and zstd"
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends \
			mmdebstrap zstd; } >&2 ||
			skip "mmdebstrap could not be installed"
	fi
	mkdir -p "$cache" || skip "cannot create $cache"
	exec 8>"$cache/.chroot-$suite.lock"
	flock 8
	# made by another run meanwhile?
	if [[ -f $tarball ]] &&
	   [[ -n $(find "$tarball" -mtime -"$max_age" 2>/dev/null) ]]; then
		return 0
	fi
	# mmdebstrap takes the format from the name: keep .tar.zst at the end
	tmp=$cache/.tmp-$$-${tarball##*/}
	log=$cache/chroot-$suite.log
	say "making $tarball with mmdebstrap (log: $log)"
	# apt-get build-dep reads the Build-Depends of the copied control file
	# (with the <!nocheck> ones): one list, the one debian/control holds.
	# The archive's Valid-Until is checked against this machine's clock,
	# which may be ahead of the mirror's: not a reason to fail here.
	if ! mmdebstrap --variant=buildd --components=main \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--include="${extra// /,}" \
		--customize-hook='mkdir -p "$1/tmp/kmbuf/debian"' \
		--customize-hook="copy-in $top/debian/control /tmp/kmbuf/debian" \
		--customize-hook='chroot "$1" apt-get build-dep -y -q /tmp/kmbuf' \
		--customize-hook='chroot "$1" apt-get clean' \
		--customize-hook='rm -rf "$1/tmp/kmbuf"' \
		"$suite" "$tmp" "$mirror" >"$log" 2>&1; then
		rm -rf "$tmp"
		tail -n 20 "$log" >&2
		skip "mmdebstrap failed (see $log)"
	fi
	mv "$tmp" "$tarball" || die "cannot move $tmp"
	# tarballs of this suite made by this script and out of date
	find "$cache" -maxdepth 1 -name "chroot-$suite-*.tar.zst" \
		-mtime +"$max_age" ! -path "$tarball" -delete
	say "made $tarball ($(du -h "$tarball" | cut -f1))"
}

# Unpack a copy, put the tree in /src, run a command there; the copy goes away
in_chroot() {
	local root rc
	root=$(mktemp -d "${TMPDIR:-/var/tmp}/kmbuf-$suite.XXXXXX") || die "mktemp"
	chmod 755 "$root"
	tar -C "$root" --zstd -xf "$tarball" || { rm -rf "$root"; die "cannot unpack $tarball"; }
	mkdir -p "$root/src"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		# tracked and new files as they are in the work tree, without
		# what git ignores (build products)
		git -C "$top" ls-files -z --cached --others --exclude-standard |
			tar -C "$top" --null -T - --ignore-failed-read -cf - 2>/dev/null |
			tar -C "$root/src" -xf -
	else
		tar -C "$top" --exclude=./.git -cf - . | tar -C "$root/src" -xf -
	fi
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
	# a private mount namespace: the mounts go away with it
	unshare --mount --propagation private --fork /bin/sh -c '
		root=$1
		shift
		mount -t proc proc "$root/proc" &&
		mount --rbind /dev "$root/dev" &&
		mount -t sysfs sys "$root/sys" &&
		mount -t tmpfs tmpfs "$root/tmp" &&
		exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 TERM="${TERM:-dumb}" \
			/bin/sh -c "cd /src && $*"' sh "$root" "$@"
	rc=$?
	rm -rf "$root"
	return $rc
}

case $cmd in
make)
	make_tarball
	echo "$tarball"
	;;
run)
	make_tarball
	in_chroot "$*"
	;;
shell)
	make_tarball
	in_chroot 'exec bash -i'
	;;
build)
	make_tarball
	in_chroot '
		pass=0 fail=0
		echo "liburing in the chroot: $(dpkg-query -W -f="\${Version}" liburing-dev)"
		if DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc \
			>/tmp/build.log 2>&1; then
			echo "PASS dpkg-buildpackage -us -uc"
			pass=$((pass + 1))
		else
			echo "FAIL dpkg-buildpackage -us -uc"
			tail -n 60 /tmp/build.log | sed "s/^/    /"
			fail=$((fail + 1))
		fi
		# make check (dh_auto_test) counts too
		n() { sed -n "s/^# $1: *\([0-9]*\)$/\1/p" /tmp/build.log | tail -n 1; }
		echo "    make check: $(grep -E "^# (TOTAL|PASS|SKIP|FAIL|ERROR):" /tmp/build.log |
			tr -s " " | paste -sd " ")"
		skip=$(n SKIP)
		pass=$((pass + $(n PASS) + 0))
		fail=$((fail + $(n FAIL) + $(n ERROR) + 0))
		if [ $fail = 0 ]; then
			lintian --tag-display-limit 0 ../liburing-kmbuf_*.changes \
				>/tmp/lintian.log 2>&1
			sed -n "s/^\([EW]: \)/    \1/p" /tmp/lintian.log
			if grep -q "^[EW]: " /tmp/lintian.log; then
				echo "FAIL lintian $(lintian --version) (errors or warnings)"
				fail=$((fail + 1))
			else
				echo "PASS lintian $(lintian --version), no errors or warnings"
				pass=$((pass + 1))
			fi
		fi
		echo "sid: $pass passed, $fail failed, ${skip:-0} skipped"
		[ $fail = 0 ]'
	;;
*)
	sed -n '3,31p' "$0"
	exit 2
	;;
esac
