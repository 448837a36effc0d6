#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build qedblk.ko for one kernel of the matrix, with W=1 and warnings as
# errors.  Prints the path of the built module.
#
#   build-module.sh NAME OUTDIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: build-module.sh NAME OUTDIR}
out=${2:?usage: build-module.sh NAME OUTDIR}
mkdir -p "$out" && out=$(cd "$out" && pwd)
kern=$("$(dirname "$0")/kernel.sh" "$name")
kdir=$(cat "$kern/kdir")
chroot=
[ -f "$kern/chroot" ] && chroot=$(cat "$kern/chroot")

# A private copy per kernel, so builds for different kernels never share
# objects with each other or with the work tree.
if [ -n "$chroot" ]; then
	src="$chroot/build/qed-$name"
	inner="/build/qed-$name"
else
	src="$out/src"
	inner="$src"
fi
rm -rf "$src"
mkdir -p "$src" "$out"
cp -r "$QED_TOP/Kbuild" "$QED_TOP/drivers" "$QED_TOP/include" "$src/"

args=(-C "$kdir" M="$inner" W=1 KCFLAGS=-Werror CONFIG_DEBUG_INFO_BTF_MODULES= modules)
# QED_SPARSE=1: run sparse over every file too (C=2); its warnings fail.
# The trixie chroot has no sparse: 7.3 builds go without.
if [ -n "${QED_SPARSE:-}" ] && [ -z "$chroot" ] && command -v sparse >/dev/null; then
	args+=(C=2)
fi
log "building qedblk.ko for $name ($(cat "$kern/release"))"
if [ -n "$chroot" ]; then
	# objtool reads /proc; a private mount namespace cleans it up.
	unshare -m /bin/sh -c 'mount -t proc proc "$1/proc" && shift &&
		exec chroot "$0" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root make "$@"' \
		"$chroot" "$chroot" "${args[@]}" \
		>"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; die "module build for $name failed"; }
else
	make "${args[@]}" >"$out/build.log" 2>&1 ||
		{ cat "$out/build.log" >&2; die "module build for $name failed"; }
fi
if grep -q 'warning:' "$out/build.log"; then
	grep 'warning:' "$out/build.log" >&2
	die "module build for $name has warnings"
fi
cp "$src/drivers/block/qed/qedblk.ko" "$out/qedblk.ko"
echo "$out/qedblk.ko"
