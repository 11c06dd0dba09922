#!/bin/sh
# SPDX-License-Identifier: MIT
# Run bench/hotpath under callgrind and print instructions per operation of
# the library's hot paths against raw liburing, and their ratio.
# Usage: hotpath.sh ./hotpath
set -e
out=$(mktemp -d "${TMPDIR:-/tmp}/kmbuf-hotpath.XXXXXX")
trap 'rm -rf "$out"' EXIT
if ! command -v valgrind >/dev/null 2>&1; then
	echo "hotpath: valgrind not installed (apt-get install valgrind)" >&2
	exit 77
fi
prog=${1:-./hotpath}
"$prog" >/dev/null || { echo "hotpath: $prog failed" >&2; exit 1; }
valgrind --tool=callgrind --collect-atstart=no \
	--callgrind-out-file="$out/cg.out" "$prog" 2>"$out/log" ||
	{ cat "$out/log" >&2; exit 1; }
iters=100000
for f in "$out"/cg.out*; do
	name=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
	tot=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p;s/^summary: *\([0-9]*\).*/\1/p' "$f" | head -1)
	[ -n "$name" ] && echo "$name $tot"
done | sort >"$out/totals"
awk -v iters=$iters '
	{ t[$1] = $2 }
	END {
		e = t["empty"] / iters
		printf "instructions per operation (callgrind Ir); net = minus the bare loop (%.1f)\n", e
		printf "%-11s %8s %8s %8s %8s %8s %8s\n", "path", "raw", "library", "ratio",
		       "raw net", "lib net", "ratio"
		n = split("decode addr recycle completion seen", p, " ")
		for (i = 1; i <= n; i++) {
			r = t["raw-" p[i]] / iters
			l = t["lib-" p[i]] / iters
			printf "%-11s %8.2f %8.2f %7.3fx %8.2f %8.2f %7.3fx\n", p[i], r, l,
			       (r > 0 ? l / r : 0), r - e, l - e, (r - e > 0 ? (l - e) / (r - e) : 0)
		}
	}' "$out/totals"
