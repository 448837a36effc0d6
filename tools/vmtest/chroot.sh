#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A debootstrapped Debian trixie tree with gcc-14, for kernels whose
# kbuild tools need trixie's libc.  Prints its path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir="$QED_CACHE/trixie"
if [ -f "$dir/.ready" ]; then
	echo "$dir"
	exit 0
fi
command -v debootstrap >/dev/null || die "debootstrap is not installed"
rm -rf "$dir"
log "debootstrapping a trixie build tree into $dir"
debootstrap --variant=minbase \
	--include=gcc-14,make,libc6-dev,bc,kmod,libelf-dev,libssl-dev,pahole \
	trixie "$dir" "$(debian_mirror)" >"$QED_CACHE/debootstrap.log" 2>&1 ||
	{ tail -n 20 "$QED_CACHE/debootstrap.log" >&2; die "debootstrap trixie failed"; }
ln -sf gcc-14 "$dir/usr/bin/gcc"
touch "$dir/.ready"
echo "$dir"
