#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest's initramfs for one kernel of the matrix:
#   initramfs.sh NAME MODULE_KO OUT.cpio
# It holds busybox, the real tools the tests use (with the libraries ldd
# names), the kernel's own modules for virtio, loop, nbd, xfs and dm, the
# qedblk module, qedctl, the selftests and the kselftest runner.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: initramfs.sh NAME MODULE_KO OUT}
ko=${2:?}
out=${3:?}
kern=$("$(dirname "$0")/kernel.sh" "$name")
release=$(cat "$kern/release")
ksrc=$("$(dirname "$0")/ksrc.sh")

root=$(mktemp -d "${TMPDIR:-/tmp}/qed-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
# A merged /usr, as on the host, so that the paths ldd prints just work.
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,tmp,run,mnt,opt/qed}
for d in bin sbin lib lib64; do
	ln -s "usr/$d" "$root/$d"
done
mkdir -p "$root/lib/modules"

# Copy an executable and every library ldd names, at the same paths.
copy_bin() {
	local src
	src=$(command -v "$1") || die "'$1' is not installed on the host"
	src=$(readlink -f "$src")
	mkdir -p "$root$(dirname "$src")"
	cp -n "$src" "$root$src"
	if [ "$(readlink -f "$(command -v "$1")")" != "$(command -v "$1")" ]; then
		mkdir -p "$root$(dirname "$(command -v "$1")")"
		ln -sf "$src" "$root$(command -v "$1")"
	fi
	copy_libs "$src"
}

# Every library ldd names for the file $1, at the same paths.
copy_libs() {
	local lib
	for lib in $(ldd "$1" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

cp "$(command -v busybox)" "$root/bin/busybox"
for t in bash mke2fs mkfs.ext4 e2fsck fsck.ext4 fsck mkfs.xfs xfs_repair qemu-img qemu-io \
	 qemu-nbd fio blockdev losetup blkdiscard fstrim setpriv timeout sha256sum cmp kmod \
	 stat truncate dd od sync numfmt dmesg yes dmsetup filefrag jq fincore fsfreeze resize2fs; do
	copy_bin "$t"
done
for t in modprobe insmod rmmod lsmod depmod; do
	ln -sf "$(readlink -f "$(command -v kmod)")" "$root/usr/sbin/$t"
done
# qemu-img wants its block driver modules only for exotic formats.
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$root/etc/"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

# The kernel's modules the guest needs, with their dependencies.
kroot="$kern/root"
mods="$root/lib/modules/$release"
mkdir -p "$mods"
for m in virtio_pci virtio_blk loop nbd xfs dm_mod dm_log_writes dm_snapshot dm_delay crc32c_generic \
	 crc32c_intel; do
	# Not every kernel has every module (7.3 has no crc32c_generic).
	{ modprobe -d "$kroot" -S "$release" --show-depends "$m" 2>/dev/null || true; } |
		awk '$1 == "insmod" { print $2 }' | while read -r f; do
			rel=${f#"$kroot"/lib/modules/"$release"/}
			mkdir -p "$mods/$(dirname "$rel")"
			cp -n "$f" "$mods/$rel"
		done
done
cp "$kroot/lib/modules/$release"/modules.{order,builtin,builtin.modinfo} "$mods/" 2>/dev/null || true
# qedblk where modprobe finds it too: opening /dev/qed-control's fixed
# minor loads it on demand (qed_rmmod.sh).
mkdir -p "$mods/updates"
cp "$ko" "$mods/updates/qedblk.ko"
depmod -b "$root" "$release"

# The project: module, tool, selftests and the kselftest runner.
cp "$ko" "$root/opt/qed/qedblk.ko"
cp "$QED_TOP/tools/qedctl/qedctl" "$root/usr/bin/qedctl"
copy_libs "$QED_TOP/tools/qedctl/qedctl"
[ -x "$QED_TOP/tools/crashtest/qed_crash" ] &&
	cp "$QED_TOP/tools/crashtest/qed_crash" "$root/usr/bin/qed_crash"
mkdir -p "$root/opt/selftests"
cp -r "$ksrc/tools/testing/selftests/kselftest" "$root/opt/selftests/"
cp -r "$QED_TOP/selftests/qed" "$root/opt/selftests/qed"
find "$root/opt/selftests/qed" -name '*.c' -delete
cp "$(dirname "$0")/guest-init.sh" "$root/init"
cp "$(dirname "$0")/demo.sh" "$root/opt/qed/demo.sh"
cp "$(dirname "$0")/bench-guest.sh" "$root/opt/qed/bench.sh"
cp "$(dirname "$0")/reorder-guest.sh" "$root/opt/qed/reorder.sh"
[ -n "${QED_GUEST_SCRIPT:-}" ] && cp "$QED_GUEST_SCRIPT" "$root/opt/qed/script.sh"
chmod +x "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet) >"$out"
