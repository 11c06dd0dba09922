#!/bin/bash
# Usage: check-config.sh FRAGMENT DOTCONFIG
# Fails (exit 1) unless every option set in FRAGMENT has that value in
# DOTCONFIG: "CONFIG_X=v" must appear verbatim, "# CONFIG_X is not set"
# means DOTCONFIG must not set CONFIG_X. Kconfig silently drops an option
# whose dependencies are not met; this makes that loud.
set -euo pipefail

frag=${1:?usage: check-config.sh FRAGMENT DOTCONFIG}
dotconfig=${2:?usage: check-config.sh FRAGMENT DOTCONFIG}

bad=0
checked=0
while IFS= read -r line || [[ -n $line ]]; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		opt=${BASH_REMATCH[1]}
		if ! grep -qxF -- "$line" "$dotconfig"; then
			have=$(grep -E "^(# )?$opt[= ]" "$dotconfig" || true)
			echo "check-config: $opt: wanted '$line', .config has '${have:-nothing}'" >&2
			bad=1
		fi
		checked=$((checked + 1))
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		opt=${BASH_REMATCH[1]}
		if have=$(grep -E "^$opt=" "$dotconfig"); then
			echo "check-config: $opt: wanted unset, .config has '$have'" >&2
			bad=1
		fi
		checked=$((checked + 1))
	fi
done <"$frag"

if [[ $bad != 0 ]]; then
	echo "check-config: FAILED: $frag is not fully applied to $dotconfig" >&2
	exit 1
fi
echo "check-config: all $checked options of $(basename "$frag") are in .config"
