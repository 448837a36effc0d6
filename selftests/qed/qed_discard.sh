#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Space comes back: fstrim and blkdiscard release whole clusters to the
# host file system, the image stays clean; resize grows an attached image.
. "$(dirname "$0")/lib.sh"
require qemu-img qemu-io sha256sum cmp blkdiscard fstrim mkfs.ext4 e2fsck blockdev

ktap_print_header
ktap_set_plan 7

M=$((1024 * 1024))
mnt="$WORK/mnt"
mkdir -p "$mnt"

# Kilobytes the image file uses on the host.
used_kb() {
	du -k "$1" | cut -f1
}

t_fstrim() {
	local img="$WORK/trim.qed" dev before after rc
	qemu-img create -q -f qed "$img" 256M || return 1
	dev=$(qed_attach "$img") || return 1
	mkfs.ext4 -q -F "$dev" && mount -t ext4 "$dev" "$mnt" || { qed_detach "$dev"; return 1; }
	dd if=/dev/urandom of="$mnt/big" bs=1M count=48 status=none && sync
	before=$(used_kb "$img")
	rm "$mnt/big" && sync
	fstrim "$mnt"
	rc=$?
	sync
	after=$(used_kb "$img")
	umount "$mnt"
	echo "image uses ${before} KiB with the file, ${after} KiB after rm + fstrim"
	e2fsck -fn "$dev" >/dev/null || { qed_detach "$dev"; echo "fsck"; return 1; }
	qed_detach "$dev" || return 1
	[ $rc -eq 0 ] || { echo "fstrim failed"; return 1; }
	[ "$after" -lt $((before - 40 * 1024)) ] || { echo "not 40 MiB less"; return 1; }
	# No leaked cluster, nothing corrupt: exactly clean for both checks.
	"$QEDCTL" check "$img" || return 1
	qemu-img check -q "$img"
}
check fstrim_gives_space_back_image_stays_clean t_fstrim

t_discard_overlay() {
	local dev base="$WORK/base.raw" ov="$WORK/ov.qed" bsum
	head -c $((4 * M)) /dev/urandom >"$base"
	bsum=$(sum "$base")
	qemu-img create -q -f qed -b base.raw -F raw "$ov" || return 1
	qemu-io -f qed -c 'write -P 9 0 64k' "$ov" >/dev/null || return 1
	dev=$(qed_attach "$ov") || return 1
	blkdiscard "$dev" || { qed_detach "$dev"; return 1; }
	# Discarded: neither the old data nor the base shows through.
	cmp -n $((4 * M)) "$dev" /dev/zero || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	[ "$(sum "$base")" = "$bsum" ] || { echo "base changed"; return 1; }
	[ "$("$QEDCTL" info --json "$ov" | sed 's/.*"zero-clusters": \([0-9]*\).*/\1/')" -eq 63 ] ||
		{ "$QEDCTL" info "$ov"; return 1; }
	head -c $((4 * M)) /dev/zero >"$WORK/zero.raw"
	qemu-img compare -q -f qed -F raw "$ov" "$WORK/zero.raw" || { echo "qemu reads data"; return 1; }
	"$QEDCTL" check "$ov" && qemu-img check -q "$ov"
}
check discard_over_backing_file_makes_zero_clusters t_discard_overlay

t_discard_partial() {
	local img="$WORK/part.qed" dev want
	qemu-img create -q -f qed "$img" 4M || return 1
	qemu-io -f qed -c 'write -P 7 0 128k' "$img" >/dev/null || return 1
	want=$(qemu_raw_sum "$img")
	dev=$(qed_attach "$img") || return 1
	# Inside one cluster: advisory, nothing to release, nothing changes.
	blkdiscard -o 4096 -l 8192 "$dev" || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	[ "$(qemu_raw_sum "$img")" = "$want" ]
}
check discard_inside_a_cluster_changes_nothing t_discard_partial

t_resize() {
	local img="$WORK/grow.qed" dev n
	qemu-img create -q -f qed "$img" 16M || return 1
	dev=$(qed_attach "$img") || return 1
	n=${dev#/dev/}
	"$QEDCTL" resize "$dev" +16M || { qed_detach "$dev"; return 1; }
	[ "$(blockdev --getsize64 "$dev")" -eq $((32 * M)) ] &&
		[ "$(cat "/sys/block/$n/size")" -eq 65536 ] || { qed_detach "$dev"; echo "size"; return 1; }
	head -c 65536 /dev/zero | tr '\0' '\125' |
		dd of="$dev" bs=64k seek=511 oflag=direct status=none || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	qemu-img info "$img" | grep -q "virtual size: 32 MiB" || { qemu-img info "$img"; return 1; }
	qemu-io -f qed -c "read -P 0x55 $((32 * M - 65536)) 64k" "$img" | grep -q "^read 65536" || return 1
	qemu_check_clean "$img"
}
check resize_grows_an_attached_image t_resize

t_resize_l1() {
	local img="$WORK/growl1.qed" dev
	# 4 KiB clusters, one-cluster tables: an L1 entry covers 2 MiB, so
	# growing from 4 MiB to 64 MiB needs 30 more L1 entries in memory.
	# qemu-img: qedctl creates only geometries QEMU can open again.
	qemu-img create -q -f qed -o cluster_size=4K,table_size=1 "$img" 4M || return 1
	dev=$(qed_attach "$img") || return 1
	"$QEDCTL" resize "$dev" 64M || { qed_detach "$dev"; return 1; }
	head -c 8192 /dev/zero | tr '\0' '\143' |
		dd of="$dev" bs=4096 seek=$((60 * 256)) oflag=direct status=none &&
	dd if="$dev" bs=4096 skip=$((60 * 256)) count=2 iflag=direct status=none |
		cmp - <(head -c 8192 /dev/zero | tr '\0' '\143') || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	"$QEDCTL" check "$img" || return 1
	# QEMU 7.2 cannot open one-cluster tables; our own reading must do.
	dev=$(qed_attach "$img" -r) || return 1
	dd if="$dev" bs=4096 skip=$((60 * 256)) count=2 status=none |
		cmp - <(head -c 8192 /dev/zero | tr '\0' '\143')
	local rc=$?
	qed_detach "$dev"
	return $rc
}
check resize_grows_the_l1_table_in_memory t_resize_l1

t_resize_refused() {
	local img="$WORK/norz.qed" dev out
	qemu-img create -q -f qed "$img" 16M || return 1
	dev=$(qed_attach "$img") || return 1
	out=$("$QEDCTL" resize "$dev" 8M 2>&1) && { qed_detach "$dev"; echo "shrank"; return 1; }
	echo "$out"
	echo "$out" | grep -q "shrinking is refused" || { qed_detach "$dev"; return 1; }
	"$QEDCTL" resize "$dev" $((16 * M + 100)) 2>/dev/null && { qed_detach "$dev"; return 1; }
	"$QEDCTL" resize "$dev" 100T 2>&1 | grep -q "File too large" || { qed_detach "$dev"; return 1; }
	[ "$(blockdev --getsize64 "$dev")" -eq $((16 * M)) ] || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	qemu-img info "$img" | grep -q "virtual size: 16 MiB"
}
check resize_refuses_shrinking_and_bad_sizes t_resize_refused

t_resize_ro() {
	local img="$WORK/rorz.qed" dev out
	qemu-img create -q -f qed "$img" 16M || return 1
	dev=$(qed_attach "$img" -r) || return 1
	out=$("$QEDCTL" resize "$dev" 32M 2>&1)
	local rc=$?
	qed_detach "$dev"
	echo "$out"
	[ $rc -ne 0 ] && echo "$out" | grep -q "Read-only file system"
}
check resize_refused_on_read_only_device t_resize_ro
ktap_finished
