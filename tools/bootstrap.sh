#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Set up a fresh Debian 12 machine and build the tree: install the build
# dependencies (only if some are missing), generate ./configure, configure
# and build the library, tests and examples. Safe to run again.
#
# The build dependencies are those of debian/control (Build-Depends, with
# the test-only ones), installed by `apt-get build-dep ./`: the one list.
# Besides them a developer's machine gets the tools of the checks that are
# not part of a package build: valgrind (make check-valgrind), g++
# (test/install-check.sh builds C++ against the header) and clang
# (test/header-hygiene.sh compiles the header with gcc and clang).
set -e
cd "$(dirname "$0")/.."

dev_tools="valgrind g++ clang"

if [ "$(id -u)" = 0 ]; then
	sudo=""
else
	sudo="sudo"
fi
installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

missing=""
for p in dpkg-dev $dev_tools; do
	installed "$p" || missing="$missing $p"
done
# dpkg-checkbuilddeps (dpkg-dev) says whether debian/control's are there
builddeps=""
if ! installed dpkg-dev || ! dpkg-checkbuilddeps >/dev/null 2>&1; then
	builddeps=" the build dependencies of debian/control"
fi
if [ -n "$missing$builddeps" ]; then
	echo "bootstrap: installing$missing${builddeps:+${missing:+,}$builddeps}"
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
		--no-install-recommends dpkg-dev $dev_tools
	DEBIAN_FRONTEND=noninteractive $sudo apt-get build-dep -y -q ./
fi

[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure
make -j"$(nproc)"
