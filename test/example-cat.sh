#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: examples/kmbuf-cat copies files intact, on every backend the
# running kernel offers, with buffer counts, sizes and queue depths that
# force many recycles and a partial last buffer. Skips (77) where io_uring
# is blocked.
cat_bin=${KMBUF_EXAMPLES:-../examples}/kmbuf-cat
[ -x "$cat_bin" ] || { echo "FAIL: $cat_bin not built"; exit 1; }

dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
# 3 MiB + 4321 bytes of random data, and an empty file
head -c $((3 * 1024 * 1024 + 4321)) /dev/urandom > "$dir/in" || exit 1
: > "$dir/empty"

run() {
	backend=$1
	shift
	LIBURING_KMBUF_BACKEND=$backend "$cat_bin" "$@" "$dir/in" "$dir/empty" \
		"$dir/in" > "$dir/out" 2> "$dir/err"
	rc=$?
	if [ $rc != 0 ]; then
		# a container's seccomp profile, gVisor, io_uring_disabled=2
		if grep -q "io_uring_queue_init: \(Operation not permitted\|Function not implemented\)" "$dir/err"; then
			echo "SKIP: io_uring is not available here: $(cat "$dir/err")"
			exit 77
		fi
		if [ "$backend" = kernel ] &&
		   grep -q "Operation not supported" "$dir/err"; then
			echo "kernel backend not available: not checked"
			return 0
		fi
		echo "FAIL: kmbuf-cat $* ($backend) exited $rc:"
		cat "$dir/err"
		exit 1
	fi
	grep -q "kmbuf-cat: $backend backend" "$dir/err" || {
		[ "$backend" = auto ] || {
			echo "FAIL: kmbuf-cat did not report the $backend backend"
			cat "$dir/err"
			exit 1
		}
	}
	cat "$dir/in" "$dir/in" | cmp -s - "$dir/out" || {
		echo "FAIL: kmbuf-cat $* ($backend): output differs"
		exit 1
	}
	echo "ok: $backend $*"
}

for backend in auto emulated kernel; do
	run $backend
	run $backend -b 4 -n 2 -q 2
	run $backend -b 64 -n 8 -q 8
	run $backend -b 1024 -n 1 -q 1
done

# errors are reported, with a non-zero exit
if "$cat_bin" "$dir/missing" > /dev/null 2> "$dir/err"; then
	echo "FAIL: kmbuf-cat succeeded on a missing file"
	exit 1
fi
grep -q "No such file" "$dir/err" || { cat "$dir/err"; exit 1; }
if "$cat_bin" -q 4 -n 2 "$dir/in" > /dev/null 2>&1; then
	echo "FAIL: kmbuf-cat accepted more reads than buffers"
	exit 1
fi
exit 0
