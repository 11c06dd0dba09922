#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Set up a fresh Debian 12 machine and build the tree: install the build
# dependencies (only those missing), generate ./configure, configure and
# build the library, tests and examples. Safe to run again.
set -e
cd "$(dirname "$0")/.."

deps="autoconf automake libtool autoconf-archive pkg-config make gcc g++
liburing-dev valgrind mandoc groff-base"

missing=""
for p in $deps; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ]; then
		sudo=""
	else
		sudo="sudo"
	fi
	echo "bootstrap: installing$missing"
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing
fi

[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure
make -j"$(nproc)"
