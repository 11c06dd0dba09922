#!/bin/bash
# PID 1 of the UML guest started by kernel/run-tests.sh. The guest's root is
# the host's / (hostfs), so the repository and the run directory are at the
# same paths as on the host. The kernel passes KMBUF_RUN=<run dir> from its
# command line in the environment. This script
#   - mounts proc, sys, dev, debugfs and guest tmpfs on /tmp, /run, /dev/shm
#     (so tests do not write into the host's),
#   - brings up the loopback interface,
#   - mounts the ext4 disk run-tests.sh gives as ubd0 (/dev/ubda), if any,
#     at $KMBUF_RUN/ext4 and exports that path as KMBUF_EXT4_DIR,
#   - runs $KMBUF_RUN/cmd from the repository root with its output to
#     $KMBUF_RUN/output,
#   - lets kmemleak scan if it is enabled, into $KMBUF_RUN/kmemleak,
#   - writes the exit status to $KMBUF_RUN/status (written last: no status
#     file means the run did not finish) and powers the guest off.
# Its own messages go to the console (the host's console log).

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TMPDIR=/tmp KMBUF_UML=1
run=${KMBUF_RUN:?KMBUF_RUN is not set}

say() { echo "kmbuf-init: $*"; }

power_off() {
	[[ -n ${KMBUF_EXT4_DIR:-} ]] && umount "$KMBUF_EXT4_DIR"
	sync
	echo o >/proc/sysrq-trigger
	sleep 5
	poweroff -f
	# if all failed, returning from PID 1 ends the kernel as well
	exit 1
}

# Nothing but / is mounted yet. (Not `mountpoint`: before proc is mounted,
# /proc is the host's, seen through hostfs.)
mnt() { # type target [options]
	mount -t "$1" ${3:+-o "$3"} "$1" "$2" || say "cannot mount $1 on $2"
}

mnt proc /proc
mnt sysfs /sys
# the kernel may have mounted devtmpfs itself (DEVTMPFS_MOUNT)
grep -q '^devtmpfs /dev ' /proc/mounts || mnt devtmpfs /dev
mkdir -p /dev/pts /dev/shm 2>/dev/null
mnt devpts /dev/pts
mnt tmpfs /dev/shm mode=1777
# A guest tmpfs must not hide the tree or the run directory (a CI clone
# may well live under /tmp): then the host's directory is used as it is.
for dir in /tmp /run; do
	case "$(cat "$run/cwd")/ $run/" in
	"$dir"/*|*" $dir"/*)
		say "not mounting tmpfs on $dir: the tree or run dir is there"
		;;
	*)
		mnt tmpfs "$dir" mode=1777
		;;
	esac
done
mnt debugfs /sys/kernel/debug

if command -v ip >/dev/null; then
	ip link set lo up || say "ip link set lo up failed"
else
	say "no 'ip' command: loopback stays down"
fi
hostname kmbuf-uml 2>/dev/null

[[ -f $run/env ]] && . "$run/env"
cd "$(cat "$run/cwd")" || { echo 125 >"$run/status"; power_off; }

# The ext4 disk run-tests.sh attaches as ubd0, if any: mounted in the run
# directory (an empty directory on the host), its path exported to tests.
unset KMBUF_EXT4_DIR
ext4_dir=$run/ext4
if [[ -b /dev/ubda ]]; then
	if mkdir -p "$ext4_dir" && mount -t ext4 /dev/ubda "$ext4_dir" &&
		chmod 1777 "$ext4_dir"; then
		export KMBUF_EXT4_DIR=$ext4_dir
	else
		say "cannot mount /dev/ubda (ext4) on $ext4_dir"
	fi
fi

kmemleak=/sys/kernel/debug/kmemleak
if [[ -w $kmemleak ]]; then
	# Forget what boot left behind; only new leaks are of interest.
	echo scan >"$kmemleak" && echo clear >"$kmemleak"
fi

say "running: $(cat "$run/cmd.txt")"
start=$(date +%s%N)
bash "$run/cmd" </dev/null >"$run/output" 2>&1
status=$?
end=$(date +%s%N)
say "command exited with status $status after $(((end - start) / 1000000)) ms"

if [[ -w $kmemleak ]]; then
	# kmemleak reports objects only once they are 5 s old (MSECS_MIN_AGE)
	sleep "${KMBUF_KMEMLEAK_WAIT:-5}"
	echo scan >"$kmemleak"
	echo scan >"$kmemleak"
	cat "$kmemleak" >"$run/kmemleak"
	if [[ -s $run/kmemleak ]]; then
		say "kmemleak found unreferenced objects:"
		cat "$run/kmemleak"
	fi
fi

echo "$status" >"$run/status"
power_off
