#!/bin/bash
# Build the project's User-Mode-Linux kernel: Debian's linux-source-6.12
# with kernel/patches/*.patch applied by `git am` and kernel/config.fragment
# merged onto `make ARCH=um defconfig`. Prints the path of the `linux` binary
# as the last line on stdout; everything else goes to stderr.
#
#   kernel/build.sh            build (or reuse) the kernel, print its path
#   kernel/build.sh --check    also build every patch of the series in turn
#                              and run checkpatch.pl --strict on each patch
#   kernel/build.sh --tree     print the source tree directory (after a build)
#
# The tree lives in ${KMBUF_KERNEL_CACHE:-/var/cache/liburing-kmbuf}/linux-HASH,
# HASH covering the source package version and every file that affects the
# build (this script, check-config.sh, config.fragment, patches/*.patch).
# Environment: KMBUF_KERNEL_CACHE, KMBUF_KERNEL_JOBS (default nproc),
# KMBUF_KERNEL_KEEP (trees kept in the cache, default 4),
# KMBUF_KERNEL_VERBOSE=1 (show make output instead of logging it to a file),
# KMBUF_KERNEL_FRESH=1 (unpack afresh instead of copying the newest tree).
{ # the whole script is parsed before it runs: editing it mid-run is safe
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${KMBUF_KERNEL_CACHE:-/var/cache/liburing-kmbuf}
jobs=${KMBUF_KERNEL_JOBS:-$(nproc)}
keep=${KMBUF_KERNEL_KEEP:-4}
srcpkg=linux-source-6.12
srctar=/usr/src/linux-source-6.12.tar.xz
fragment=$here/config.fragment

export GIT_AUTHOR_NAME="liburing-kmbuf build" GIT_AUTHOR_EMAIL="kmbuf@example.invalid"
export GIT_COMMITTER_NAME="liburing-kmbuf build" GIT_COMMITTER_EMAIL="kmbuf@example.invalid"

log() { echo "build.sh: $*" >&2; }
die() { echo "build.sh: ERROR: $*" >&2; exit 1; }

mode=build
case ${1:-} in
"") ;;
--check) mode=check ;;
--tree) mode=tree ;;
-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) die "unknown argument '$1' (try --help)" ;;
esac

# --- (a) packages ------------------------------------------------------------
pkgs=(make gcc libc6-dev flex bison bc libelf-dev xz-utils git perl python3 "$srcpkg")
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	log "installing missing packages: ${missing[*]}"
	[[ $(id -u) == 0 ]] || die "not root: install these first: ${missing[*]}"
	apt-get update -qq >&2 || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
fi
[[ -r $srctar ]] || die "$srctar is missing (package $srcpkg)"

# --- (b) cache directory keyed by the inputs -----------------------------------
shopt -s nullglob
patches=("$here"/patches/*.patch)
shopt -u nullglob
hash=$({
	dpkg-query -W -f='${Package} ${Version}\n' "$srcpkg"
	for f in "$here/build.sh" "$here/check-config.sh" "$fragment" "${patches[@]}"; do
		echo "== ${f#"$here"/}"
		cat "$f"
	done
} | sha256sum | cut -c1-16)
dir=$cache/linux-$hash

mkdir -p "$cache" || die "cannot create $cache (set KMBUF_KERNEL_CACHE)"
exec 9>"$cache/.lock"
if ! flock -n 9; then
	log "waiting for another build.sh using $cache"
	flock 9
fi

if [[ $mode == tree ]]; then
	[[ -d $dir ]] || die "no tree for the current inputs yet: run build.sh first"
	echo "$dir"
	exit 0
fi

built_stamp=$dir/.kmbuf-built
if [[ $mode == build && -f $built_stamp && -x $dir/linux ]] &&
	[[ $(cat "$built_stamp") == "$(git -C "$dir" rev-parse HEAD 2>/dev/null)" ]]; then
	touch "$dir"
	echo "$dir/linux"
	exit 0
fi

# --- (c) unpack, git init, git am ---------------------------------------------
srcver=$(dpkg-query -W -f='${Version}' "$srcpkg")
pristine_subject="$srcpkg $srcver as shipped"

# The most recently used complete tree of the same source version, if any:
# starting from a copy of it, make rebuilds only what the changed patches and
# options touch (minutes) instead of everything (10+ minutes).
seed_tree() {
	local d
	for d in $(ls -1dt "$cache"/linux-* 2>/dev/null); do
		[[ $d =~ /linux-[0-9a-f]{16}$ && $d != "$dir" && -f $d/.kmbuf-unpacked ]] || continue
		[[ $(git -C "$d" log -1 --format=%s pristine 2>/dev/null) == "$pristine_subject" ]] || continue
		echo "$d"
		return
	done
}

seed_tip=
if [[ ! -f $dir/.kmbuf-unpacked ]]; then
	rm -rf "$dir" "$dir.tmp"
	seed=$(seed_tree)
	if [[ -n $seed && ${KMBUF_KERNEL_FRESH:-0} != 1 ]]; then
		log "copying $seed to $dir (an incremental build from there)"
		cp -a --reflink=auto "$seed" "$dir.tmp" || die "copying $seed failed"
		cd "$dir.tmp"
		rm -f .kmbuf-unpacked .kmbuf-built
		git config gc.auto 0
		git am --abort >/dev/null 2>&1 || true
		# The index holds the old tree's inode numbers: refresh it
		# (content compare) first, or the reset rewrites every file
		# and make rebuilds everything.
		git update-index -q --refresh >/dev/null || true
		seed_tip=$(git rev-parse HEAD)
		# back to the pristine tree; git rewrites (and so re-dates for
		# make) only the files that the old series had changed
		git checkout -q -f main && git reset -q --hard pristine ||
			die "cannot reset $dir.tmp to the pristine tree"
	else
		log "unpacking $srctar into $dir"
		mkdir -p "$dir.tmp"
		tar -xJf "$srctar" -C "$dir.tmp" --strip-components=1 || die "unpacking $srctar failed"
		cd "$dir.tmp"
		git init -q -b main .
		# no background "git gc --auto": it would repack the whole kernel and
		# keep holding the cache lock (fd 9) long after this script
		git config gc.auto 0
		git config gc.autoDetach false
		# Debian's top-level .gitignore ignores everything at the top level
		# ("/*"), so add by force. New files in a patch need `git add -f` too.
		git add -A -f .
		git commit -q -m "$pristine_subject"
		git tag pristine
	fi
	for p in "${patches[@]}"; do
		log "applying ${p#"$here"/}"
		if ! git am -q "$p" >&2; then
			git am --abort 2>/dev/null || true
			die "${p#"$here"/} does not apply on top of the patches before it"
		fi
	done
	if [[ -n ${seed_tip:-} ]]; then
		# Files the old and the new series leave alike get their old
		# dates back, so that make does not rebuild their users (patch
		# 0001 changes headers that nearly every file includes).
		while IFS= read -r f; do
			if [[ -f $f && -f $seed/$f ]] && git diff --quiet "$seed_tip" HEAD -- "$f"; then
				touch -r "$seed/$f" "$f"
			fi
		done < <(git diff --name-only pristine "$seed_tip")
	fi
	touch .kmbuf-unpacked
	cd /
	mv "$dir.tmp" "$dir"
fi
cd "$dir"

# --- (d) configure and build --------------------------------------------------
configure() { # $1: 1 to verify the fragment
	make ARCH=um defconfig >/dev/null || return 1
	ARCH=um scripts/kconfig/merge_config.sh -m .config "$fragment" >/dev/null || return 1
	make ARCH=um olddefconfig >/dev/null || return 1
	if [[ $1 == 1 ]]; then
		"$here/check-config.sh" "$fragment" .config >&2 || return 1
	fi
}

run_make() { # $1: log file
	local start=$SECONDS rc=0
	if [[ ${KMBUF_KERNEL_VERBOSE:-0} == 1 ]]; then
		make ARCH=um -j"$jobs" >&2 || rc=$?
	else
		make ARCH=um -j"$jobs" >"$1" 2>&1 || rc=$?
		if ((rc)); then
			echo "---- last lines of $1 ----" >&2
			grep -E 'error|Error' "$1" | head -20 >&2 || true
			tail -40 "$1" >&2
		fi
	fi
	log "make took $((SECONDS - start)) s (exit $rc)"
	return $rc
}

rm -f "$built_stamp"

check_failed=0
if [[ $mode == check ]]; then
	mapfile -t commits < <(git rev-list --reverse pristine..main)
	((${#commits[@]} == ${#patches[@]})) ||
		die "tree has ${#commits[@]} commits but there are ${#patches[@]} patches"
	results=()
	for i in "${!commits[@]}"; do
		c=${commits[$i]}
		p=${patches[$i]}
		name=${p#"$here"/}
		log "--- [$((i + 1))/${#commits[@]}] $name"
		# The tree has no upstream history: every upstream commit
		# named by a Fixes: tag would be reported as unknown.
		if scripts/checkpatch.pl --strict --quiet \
			--ignore UNKNOWN_COMMIT_ID "$p" >&2; then
			cp=ok
		else
			cp=FAILED
			check_failed=1
		fi
		git checkout -q --detach "$c"
		last=0
		((i + 1 == ${#commits[@]})) && last=1
		if configure "$last" && run_make "$dir/build-$((i + 1)).log"; then
			b=ok
		else
			b=FAILED
			check_failed=1
		fi
		results+=("$(printf '%-60s checkpatch %-6s build %s' "$name" "$cp" "$b")")
	done
	git checkout -q main
	log "--- summary of --check"
	printf '  %s\n' "${results[@]}" >&2
fi

log "configuring $dir"
configure 1 || die "configuration failed"
log "building (make ARCH=um -j$jobs, log in $dir/build.log)"
run_make "$dir/build.log" || die "kernel build failed"
[[ -x $dir/linux ]] || die "make succeeded but $dir/linux is missing"
git rev-parse HEAD >"$built_stamp"
touch "$dir"

# keep the newest $keep trees of the cache
mapfile -t old < <(ls -1dt "$cache"/linux-* 2>/dev/null | grep -E '/linux-[0-9a-f]{16}(\.tmp)?$' |
	grep -vxF "$dir" | tail -n +"$keep")
for o in "${old[@]}"; do
	log "removing old tree $o"
	rm -rf "$o"
done

((check_failed == 0)) || die "--check found problems (see the summary above)"
echo "$dir/linux"
exit
}
