#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Lint the man pages: groff -man -ww -z and mandoc -Tlint -Wwarning must
# print nothing for any page; .so pages must name a page of the set; every
# function and inline helper of the public header must have a page; every
# page carries the project's .TH footer and include line.
#
# usage: lint-man.sh srcdir header page...
# GROFF and MANDOC name the tools (empty: look them up in PATH); a missing
# tool is skipped with a message.

if [ $# -lt 3 ]; then
	echo "usage: $0 srcdir header page..." >&2
	exit 2
fi
srcdir=$1
header=$2
shift 2

: "${GROFF:=$(command -v groff)}"
: "${MANDOC:=$(command -v mandoc)}"
[ -n "$GROFF" ] || echo "SKIP: groff not found, pages not checked with groff -ww"
[ -n "$MANDOC" ] || echo "SKIP: mandoc not found, pages not checked with mandoc -Tlint"

status=0
fail() {
	echo "FAIL: $*"
	status=1
}

checked=0
for page in "$@"; do
	file=$srcdir/$page
	if [ ! -f "$file" ]; then
		fail "$page: missing"
		continue
	fi
	first=$(sed -n 1p "$file")
	case $first in
	.so\ *)
		# An alias: one line, naming a real page of this set
		target=${first#.so }
		[ "$(wc -l < "$file")" -eq 1 ] ||
			fail "$page: an .so page must hold only the .so line"
		found=0
		for p in "$@"; do
			case $target in
			man3/"$p" | man7/"$p") found=1 ;;
			esac
		done
		[ $found = 1 ] || fail "$page: .so target $target is not a page of the set"
		[ -f "$srcdir/${target#*/}" ] &&
			! sed -n 1p "$srcdir/${target#*/}" | grep -q '^\.so' ||
			fail "$page: .so target $target is not a full page"
		continue
		;;
	esac

	name=${page%.*}
	section=${page##*.}
	grep -q "^\.TH $name $section \".*\" \"liburing-kmbuf-1\.1\" \"liburing-kmbuf Manual\"$" "$file" ||
		fail "$page: .TH must be: .TH $name $section \"date\" \"liburing-kmbuf-1.1\" \"liburing-kmbuf Manual\""
	for sh in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
		grep -q "^\.SH $sh\$" "$file" || fail "$page: no $sh section"
	done
	grep -q '^\.B #include <liburing/kmbuf\.h>$' "$file" ||
		fail "$page: SYNOPSIS lacks #include <liburing/kmbuf.h>"
	if [ "$section" = 3 ]; then
		for sh in "RETURN VALUE" ERRORS; do
			grep -q "^\.SH $sh\$" "$file" || fail "$page: no $sh section"
		done
	fi

	if [ -n "$GROFF" ]; then
		out=$("$GROFF" -man -ww -z "$file" 2>&1) || fail "$page: groff failed"
		[ -z "$out" ] || fail "$page: groff -man -ww -z:
$out"
	fi
	if [ -n "$MANDOC" ]; then
		out=$("$MANDOC" -Tlint -Wwarning "$file" 2>&1) ||
			fail "$page: mandoc -Tlint -Wwarning exited non-zero"
		[ -z "$out" ] || fail "$page: mandoc -Tlint -Wwarning:
$out"
	fi
	checked=$((checked + 1))
done

# Every public function and inline helper needs a page of its own name
if [ -f "$header" ]; then
	names=$(sed -n 's/^[a-z].*[ *]\(io_uring_[a-z0-9_]*\)(.*/\1/p' "$header")
	[ -n "$names" ] || fail "no function found in $header"
	for n in $names; do
		found=0
		for p in "$@"; do
			[ "$p" = "$n.3" ] && found=1
		done
		[ $found = 1 ] || fail "$n (in $(basename "$header")) has no page $n.3"
	done
else
	fail "$header: not found"
fi

if [ $status = 0 ]; then
	echo "PASS: $checked pages linted, $# pages in all, every public function documented"
fi
exit $status
