#!/bin/sh
# SPDX-License-Identifier: MIT
# Generate ./configure and the Makefile.in files. A missing tool or macro
# package is named, with what to install.
cd "$(dirname "$0")" || exit 1
debian="Debian, Ubuntu: apt-get install autoconf automake libtool autoconf-archive pkgconf"
for tool in autoreconf autoconf automake aclocal libtoolize; do
	if ! command -v $tool > /dev/null 2>&1; then
		echo "autogen.sh: $tool not found: install autoconf, automake," \
		     "libtool, autoconf-archive and pkg-config ($debian)." >&2
		exit 1
	fi
done
# libtoolize and aclocal write into m4/, which must exist beforehand
mkdir -p m4 || exit 1
log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT
autoreconf --force --install --verbose > "$log" 2>&1
rc=$?
cat "$log"
[ $rc = 0 ] && exit 0
if grep -q 'undefined macro: AX_' "$log"; then
	echo "autogen.sh: the AX_* macros come from the GNU Autoconf Archive," \
	     "which is not installed (or not where aclocal looks): install" \
	     "autoconf-archive (Debian, Ubuntu: apt-get install autoconf-archive;" \
	     "Fedora: dnf install autoconf-archive) and run ./autogen.sh again." >&2
elif grep -q 'undefined macro: PKG_' "$log"; then
	echo "autogen.sh: the PKG_* macros come from pkg-config, which is not" \
	     "installed: install pkgconf (apt-get install pkgconf) and run" \
	     "./autogen.sh again." >&2
elif grep -q 'undefined macro: \(LT_\|AC_PROG_LIBTOOL\)' "$log"; then
	echo "autogen.sh: the LT_* macros come from libtool, which is not" \
	     "installed: install libtool (apt-get install libtool) and run" \
	     "./autogen.sh again." >&2
else
	echo "autogen.sh: autoreconf failed (exit status $rc), see above." >&2
fi
exit 1
