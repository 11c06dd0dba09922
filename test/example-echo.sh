#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: examples/kmbuf-echo echoes a checksummed stream intact over
# loopback TCP, including with a group so small that receives can stall on
# ENOBUFS until sends give buffers back. Skips (77) where io_uring is
# blocked or loopback is down.
echo_bin=${KMBUF_EXAMPLES:-../examples}/kmbuf-echo
[ -x "$echo_bin" ] || { echo "FAIL: $echo_bin not built"; exit 1; }

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

run() {
	backend=$1
	shift
	if ! LIBURING_KMBUF_BACKEND=$backend "$echo_bin" selftest "$@" \
	     > "$out" 2>&1; then
		# a container's seccomp profile, gVisor, io_uring_disabled=2
		if grep -q "io_uring_queue_init: \(Operation not permitted\|Function not implemented\)" "$out"; then
			echo "SKIP: io_uring is not available here: $(grep io_uring_queue_init "$out")"
			exit 77
		fi
		# a network namespace whose loopback is down (unshare -n)
		if grep -q "kmbuf-echo: \(bind\|connect\): \(Network is unreachable\|Cannot assign requested address\|No route to host\)" "$out"; then
			echo "SKIP: no TCP on 127.0.0.1 here (loopback down?): $(grep -E 'kmbuf-echo: (bind|connect):' "$out")"
			exit 77
		fi
		if [ "$backend" = kernel ] &&
		   grep -q "Operation not supported" "$out"; then
			echo "kernel backend not available: not checked"
			return 0
		fi
		echo "FAIL: kmbuf-echo selftest $* ($backend):"
		cat "$out"
		exit 1
	fi
	grep -q "echoed intact" "$out" || { cat "$out"; exit 1; }
	cat "$out"
}

for backend in emulated kernel; do
	run $backend -s 8000000
	run $backend -s 3000000 -b 4 -n 2
done
exit 0
