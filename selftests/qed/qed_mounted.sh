#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Control commands on a device whose file system is mounted and being
# written: the image grows (then ext4 with it, online) and direct I/O
# goes on and off.  Each stops the device's requests while it writes back
# the image; the debug lane's lockdep checks that against the writeback of
# the ext4 on top, whose locks share classes with the host's ext4 below.
. "$(dirname "$0")/lib.sh"
require qemu-img mkfs.ext4 e2fsck resize2fs

ktap_print_header
ktap_set_plan 1

MNT="$WORK/mnt"
mkdir -p "$MNT"

t_change_mounted() {
	local img="$SCRATCH/change-$$.qed" dev pid rc=0
	qemu-img create -q -f qed "$img" 64M || return 1
	dev=$(qed_attach "$img") || return 1
	mkfs.ext4 -q -F "$dev" && mount "$dev" "$MNT" || { qed_detach "$dev"; return 1; }
	mkdir -p "$MNT/w"
	(
		i=0
		while :; do
			dd if=/dev/urandom of="$MNT/w/f$((i % 40))" bs=64k count=4 status=none
			i=$((i + 1))
		done
	) &
	pid=$!
	sleep 1
	"$QEDCTL" resize "$dev" +64M && resize2fs "$dev" >/dev/null 2>&1 || rc=1
	"$QEDCTL" set --direct-io=on "$dev" && sysfs_is "$dev" dio 1 || rc=1
	sleep 1
	"$QEDCTL" set --direct-io=off "$dev" && sysfs_is "$dev" dio 0 || rc=1
	kill $pid
	wait $pid
	[ "$(df -k "$MNT" | awk 'NR == 2 { print $2 }')" -gt 70000 ] ||
		{ echo "ext4 did not grow"; df -k "$MNT"; rc=1; }
	umount "$MNT" || rc=1
	e2fsck -fn "$dev" >/dev/null || { echo "e2fsck"; rc=1; }
	qed_detach "$dev" || rc=1
	qemu_check_clean "$img" >/dev/null || rc=1
	rm -f "$img"
	return $rc
}
check "resize_and_direct_io_switch_under_mounted_ext4" t_change_mounted
ktap_finished
