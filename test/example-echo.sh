#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: examples/kmbuf-echo, a multishot receive per connection,
# echoes checksummed streams intact over loopback TCP: one client with a
# roomy group, and four clients at once on a group of two 4 KiB buffers,
# where the multishot receives must run dry (ENOBUFS, counted as stalls)
# and be armed again without losing or reordering a byte. Skips (77) where
# io_uring is blocked or loopback is down.
echo_bin=${KMBUF_EXAMPLES:-../examples}/kmbuf-echo
[ -x "$echo_bin" ] || { echo "FAIL: $echo_bin not built"; exit 1; }

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

# run backend min_stalls clients selftest-args...
run() {
	backend=$1
	min_stalls=$2
	clients=$3
	shift 3
	if ! LIBURING_KMBUF_BACKEND=$backend "$echo_bin" selftest -k "$clients" \
	     "$@" > "$out" 2>&1; then
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
		echo "FAIL: kmbuf-echo selftest -k $clients $* ($backend):"
		cat "$out"
		exit 1
	fi
	cat "$out"
	intact=$(grep -c "echoed intact" "$out")
	if [ "$intact" != "$clients" ]; then
		echo "FAIL: $intact of $clients clients got their data back"
		exit 1
	fi
	stalls=$(sed -n 's/^server: .* \([0-9][0-9]*\) ENOBUFS stalls$/\1/p' "$out")
	if [ -z "$stalls" ] || [ "$stalls" -lt "$min_stalls" ]; then
		echo "FAIL: ${stalls:-no} ENOBUFS stalls, want at least $min_stalls"
		exit 1
	fi
}

for backend in emulated kernel; do
	run $backend 0 1 -s 8000000
	# exhaustion is forced: 4 streams share 2 buffers
	run $backend 1 4 -s 3000000 -b 4 -n 2
done
exit 0
