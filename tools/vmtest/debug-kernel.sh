#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The debug kernel of `make check-debug`: Debian's linux-source-6.12 with
# KASAN, lockdep, kmemleak, KFENCE, UBSAN, DEBUG_ATOMIC_SLEEP, DEBUG_LIST
# and fault injection (failslab, fail_make_request), virtio, loop, nbd,
# ext4 and xfs built in.  Built once (about 17 minutes with 3 jobs, more on
# a busy machine) into the cache; laid out as kernel.sh lays out the others.
#
#   debug-kernel.sh          build if needed; print the directory
#   debug-kernel.sh --cached print the directory if built, else fail
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir="$QED_CACHE/kernels/debug"
if [ -f "$dir/ready" ]; then
	echo "$dir"
	exit 0
fi
[ "${1:-}" = --cached ] && exit 1

missing=()
for n in "flex flex" "bison bison" "bc bc"; do
	read -r cmd pkg <<<"$n"
	command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
[ -e /usr/include/libelf.h ] || missing+=(libelf-dev)
[ -e /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >/dev/null || die "cannot install ${missing[*]}"
fi

# Built where it stays (a kernel tree does not like to move); "ready" marks
# a finished build, and an unfinished one starts over.
tmp="$dir"
rm -rf "$tmp"
src="$tmp/src"
fetch_linux_source "$src"

log "debug kernel: configuring"
make -s -C "$src" defconfig kvm_guest.config >/dev/null
cfg() { "$src/scripts/config" --file "$src/.config" "$@"; }
for o in KASAN KASAN_INLINE PROVE_LOCKING DEBUG_ATOMIC_SLEEP DEBUG_KMEMLEAK KFENCE \
	 UBSAN UBSAN_BOUNDS FAULT_INJECTION FAILSLAB FAIL_MAKE_REQUEST \
	 FAULT_INJECTION_DEBUG_FS DEBUG_FS DEBUG_LIST VIRTIO_BLK VIRTIO_PCI BLK_DEV_LOOP \
	 BLK_DEV_NBD EXT4_FS XFS_FS MD BLK_DEV_DM DM_LOG_WRITES DM_DELAY DM_FLAKEY DEBUG_INFO_NONE; do
	cfg --enable "$o"
done
for o in DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT DEBUG_INFO_DWARF4 DEBUG_INFO_DWARF5 \
	 DEBUG_INFO_BTF MODULE_SIG RANDSTRUCT_FULL; do
	cfg --disable "$o"
done
# kmemleak must keep its early log and scan only when asked.
cfg --set-val DEBUG_KMEMLEAK_MEM_POOL_SIZE 16000 --disable DEBUG_KMEMLEAK_AUTO_SCAN
make -s -C "$src" olddefconfig >/dev/null
for o in KASAN PROVE_LOCKING DEBUG_KMEMLEAK KFENCE UBSAN FAILSLAB FAIL_MAKE_REQUEST VIRTIO_BLK; do
	grep -q "^CONFIG_$o=y" "$src/.config" || die "debug kernel: CONFIG_$o did not stick"
done

jobs=$(( $(nproc) + 1 ))
log "debug kernel: building with $jobs jobs (this takes a while)"
make -s -C "$src" -j"$jobs" bzImage modules >"$tmp/build.log" 2>&1 ||
	{ tail -n 20 "$tmp/build.log" >&2; die "debug kernel build failed; $tmp/build.log"; }
make -s -C "$src" modules_install INSTALL_MOD_PATH="$tmp/root" INSTALL_MOD_STRIP=1 >/dev/null
release=$(make -s -C "$src" kernelrelease)
cp "$src/arch/x86/boot/bzImage" "$dir/vmlinuz"
echo "$release" >"$dir/release"
# Module builds run against the source tree itself: keep its objects.
echo "$src" >"$dir/kdir"
touch "$dir/ready"
echo "$dir"
