#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Build the Debian packages from a clean clone of the repository, check them
# with lintian, install them, build and run examples/kmbuf-cat against the
# installed packages, run the autopkgtest (debian/tests, null runner; and
# once more where io_uring is blocked, where it must skip), and remove the
# packages again.
#
# usage: debian/ci-check.sh [--keep] [REPO]
#   REPO    git repository to clone (default: the one holding this script);
#           what is checked is its committed HEAD, not the work tree
#   --keep  keep the temporary directory (build tree, .debs, logs)
#
# Needs root (or sudo) for apt-get and dpkg. Prints PASS/FAIL per step and
# exits non-zero on the first failure. The packages are removed on exit even
# if a later step failed; build dependencies installed here are left in place.
set -u

keep=0
repo=
for arg; do
	case $arg in
	--keep) keep=1 ;;
	-h|--help) sed -n '3,16p' "$0"; exit 0 ;;
	*) repo=$arg ;;
	esac
done
[ -n "$repo" ] || repo=$(cd "$(dirname "$0")/.." && pwd)

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "FAIL: need root or sudo"; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive

work=$(mktemp -d /tmp/kmbuf-deb.XXXXXX)
installed=0
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	if [ "$installed" = 1 ]; then
		if $SUDO apt-get remove -y liburing-kmbuf-dev liburing-kmbuf1 \
			>"$work/remove.log" 2>&1; then
			echo "PASS: remove packages"
		else
			echo "FAIL: remove packages (see $work/remove.log)"
			keep=1
		fi
	fi
	if [ "$keep" = 1 ]; then
		echo "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

step_ok() { echo "PASS: $1"; }
step_fail() {
	echo "FAIL: $1"
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -n 40 "$2" | sed 's/^/    /'
	keep=1
	exit 1
}

apt_updated=0
apt_install() {
	# apt-get update only when a package has no install candidate
	local p
	for p; do
		if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [^(]'; then
			if [ "$apt_updated" = 0 ]; then
				$SUDO apt-get update -q >>"$work/deps.log" 2>&1
				apt_updated=1
			fi
		fi
	done
	$SUDO apt-get install -y --no-install-recommends "$@" >>"$work/deps.log" 2>&1
}

# 1. Tools, then the source package's Build-Depends
need=
for t in git:git dpkg-buildpackage:dpkg-dev dpkg-checkbuilddeps:dpkg-dev \
	 lintian:lintian gcc:gcc make:make cmp:diffutils \
	 autopkgtest:autopkgtest readelf:binutils; do
	command -v "${t%%:*}" >/dev/null || need="$need ${t#*:}"
done
dpkg-query -W -f='${Status}' build-essential 2>/dev/null | grep -q 'ok installed' ||
	need="$need build-essential"
if [ -n "$need" ]; then
	# shellcheck disable=SC2086
	apt_install $need || step_fail "install tools:$need" "$work/deps.log"
fi

git clone -q "$repo" "$work/src" >"$work/clone.log" 2>&1 ||
	step_fail "git clone $repo" "$work/clone.log"
cd "$work/src" || exit 1

# The build dependencies are debian/control's: apt-get build-dep reads them
unmet=
if ! dpkg-checkbuilddeps >"$work/deps.log" 2>&1; then
	unmet=$(sed -n 's/.*Unmet build dependencies: //p' "$work/deps.log")
	{ $SUDO apt-get update -q && $SUDO apt-get build-dep -y -q ./; } \
		>>"$work/deps.log" 2>&1 ||
		step_fail "apt-get build-dep ./ ($unmet)" "$work/deps.log"
	dpkg-checkbuilddeps >>"$work/deps.log" 2>&1 ||
		step_fail "build dependencies" "$work/deps.log"
fi
step_ok "build dependencies${unmet:+ (installed: $unmet)}"

# 2. Build (clean clone; the products land in $work)
jobs=$(nproc 2>/dev/null || echo 1)
DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1 ||
	step_fail "dpkg-buildpackage -us -uc -b" "$work/build.log"
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$work/build.log" | tr -s ' ' |
	paste -sd ' ' | sed 's/^/    make check: /'
step_ok "dpkg-buildpackage -us -uc -b"

# 3. lintian: errors fail, warnings are shown
changes=$(ls "$work"/liburing-kmbuf_*.changes)
lintian --tag-display-limit 0 "$changes" >"$work/lintian.log" 2>&1
grep -E '^[EWI]: ' "$work/lintian.log" | sed 's/^/    /'
if grep -q '^E: ' "$work/lintian.log"; then
	step_fail "lintian (errors)"
fi
step_ok "lintian ($(grep -c '^W: ' "$work/lintian.log") warnings, no errors)"

# 4. Install the packages (not the -dbgsym one)
installed=1
$SUDO apt-get install -y --no-install-recommends \
	"$work"/liburing-kmbuf1_*.deb "$work"/liburing-kmbuf-dev_*.deb \
	>"$work/install.log" 2>&1 || step_fail "install packages" "$work/install.log"
step_ok "install packages"

# 5. Build the example shipped in liburing-kmbuf-dev against the installed
#    packages, dynamically and with the static library, and run both.
ex=/usr/share/doc/liburing-kmbuf-dev/examples/kmbuf-cat.c
[ -f "$ex" ] || ex=$work/src/examples/kmbuf-cat.c
mkdir -p "$work/ex" && cd "$work/ex" || exit 1
# shellcheck disable=SC2046
gcc -O2 -Wall -o kmbuf-cat "$ex" $(pkg-config --cflags --libs liburing-kmbuf) \
	>"$work/ex.log" 2>&1 || step_fail "build kmbuf-cat with pkg-config" "$work/ex.log"
ldd ./kmbuf-cat | grep -Eq 'liburing-kmbuf\.so\.1 => (/usr)?/lib/' ||
	step_fail "kmbuf-cat does not load the packaged liburing-kmbuf.so.1"
./kmbuf-cat /etc/os-release 2>"$work/ex.log" | cmp - /etc/os-release >>"$work/ex.log" 2>&1 ||
	step_fail "./kmbuf-cat /etc/os-release | cmp - /etc/os-release" "$work/ex.log"
step_ok "kmbuf-cat built with pkg-config, output matches ($(tr '\n' ' ' <"$work/ex.log"))"

# shellcheck disable=SC2046
gcc -O2 -Wall -o kmbuf-cat-static "$ex" $(pkg-config --cflags liburing-kmbuf) \
	-Wl,-Bstatic -luring-kmbuf -Wl,-Bdynamic $(pkg-config --libs liburing) \
	>"$work/ex.log" 2>&1 || step_fail "build kmbuf-cat with liburing-kmbuf.a" "$work/ex.log"
./kmbuf-cat-static /etc/os-release 2>"$work/ex.log" | cmp - /etc/os-release >>"$work/ex.log" 2>&1 ||
	step_fail "kmbuf-cat-static /etc/os-release | cmp" "$work/ex.log"
step_ok "kmbuf-cat linked with liburing-kmbuf.a, output matches"

# 6. The package's autopkgtest (debian/tests) with the null runner, on the
#    built .debs: exit 0 is a pass, 2 a skip (io_uring blocked here)
cd "$work/src" || exit 1
autopkgtest "$work"/liburing-kmbuf1_*.deb "$work"/liburing-kmbuf-dev_*.deb \
	"$work/src" -- null >"$work/autopkgtest.log" 2>&1
rc=$?
grep -E '^[a-z-]+ +(PASS|SKIP|FAIL|FLAKY)' "$work/autopkgtest.log" | sort -u | sed 's/^/    /'
case $rc in
0) step_ok "autopkgtest (null runner): debian/tests passed" ;;
2) step_ok "autopkgtest (null runner): skipped here" ;;
*) step_fail "autopkgtest (null runner) exited $rc" "$work/autopkgtest.log" ;;
esac

# 7. The same test where io_uring is blocked (seccomp, as in a container)
#    must skip with its reason, not fail
gcc -O2 -o "$work/no-io-uring" "$work/src/test/no-io-uring.c" \
	>"$work/niu.log" 2>&1 || step_fail "build test/no-io-uring.c" "$work/niu.log"
mkdir -p "$work/niu"
AUTOPKGTEST_TMP=$work/niu "$work/no-io-uring" debian/tests/build-example \
	>"$work/niu.log" 2>&1
rc=$?
[ $rc = 77 ] && grep -q '^SKIP: io_uring is not available' "$work/niu.log" ||
	step_fail "debian/tests/build-example under no-io-uring exited $rc, not 77" "$work/niu.log"
step_ok "debian/tests/build-example skips where io_uring is blocked ($(grep '^SKIP' "$work/niu.log"))"

# 8. (cleanup removes the packages)
exit 0
