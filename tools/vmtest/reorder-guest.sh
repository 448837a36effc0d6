#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Reordered and lost unflushed writes (crashtest.sh drives it): the file
# system holding the image sits on dm-log-writes, which logs every write in
# the order it reached the disk; after the workload the log is replayed
# onto a fresh disk up to points a power cut could have stopped it at (each
# sampled FLUSH, and points between them), and each such disk is mounted
# (journal replay), checked, attached and verified, as xfstests' log-writes
# tests do.
#   reorder.sh WORKLOAD SEED SECONDS
# Disks: vda data, vdb dm-log-writes log, vdc replay target, vdd the
# writer's own log.  Results are "crash: ok NAME" / "crash: not ok NAME".
workload=$1
seed=${2:-1}
secs=${3:-20}
data=/dev/vda
dmlog=/dev/vdb
replay=/dev/vdc
wlog=/dev/vdd
mnt=/mnt/lw
export DM_DISABLE_UDEV=1
mkdir -p "$mnt"

result() {
	if [ "$1" -eq 0 ]; then echo "crash: ok $2"; else echo "crash: not ok $2"; fi
}

modprobe dm_log_writes 2>/dev/null
modprobe dm_snapshot 2>/dev/null
size=$(blockdev --getsz "$data")
dmsetup create lw --table "0 $size log-writes $data $dmlog" ||
	{ echo "crash: error: no dm-log-writes"; exit 1; }
mkfs.ext4 -q -E nodiscard /dev/mapper/lw && mount /dev/mapper/lw "$mnt" ||
	{ echo "crash: error: mkfs on dm-log-writes"; exit 1; }
img="$mnt/r.qed"
initial=zero
case "$workload" in
overlay)
	qed_crash fill "$mnt/base.raw" $((32 << 20)) &&
		qedctl create -b base.raw -F raw "$img" || exit 1
	initial=gen0
	;;
*)
	qedctl create -s 128M "$img" || exit 1
	;;
esac
echo "$initial" >"$mnt/initial"
dd if=/dev/zero of="$wlog" bs=1M count=1 oflag=direct status=none
sync
# Replay points start here: a cut inside mkfs leaves nothing to mount.
dmsetup message lw 0 mark ready || { echo "crash: error: dm-log-writes mark"; exit 1; }
dev=$(qedctl attach "$img") || exit 1
timeout "$secs" qed_crash write "$dev" "$wlog" "$seed" >/dev/null
qedctl detach "$dev"
umount "$mnt"
dmsetup remove lw

# Sample the points: up to 5 flushes spread over the log, 3 points between
# flushes, and the end.
points=$(qed_crash points "$dmlog" 3 | awk '
	$2 == "flush" { f[nf++] = $1 } $2 != "flush" { print $1 }
	END { for (i = 1; i <= 5 && nf; i++) print f[int((nf - 1) * i / 5)] }' | sort -n | uniq)
echo "# replay points (log entries): ${points//$'\n'/ }"

rsize=$(blockdev --getsz "$replay")
prev=0
n=0
for p in $points; do
	n=$((n + 1))
	qed_crash replay "$dmlog" "$replay" "$prev" "$p" || { result 1 "replay_to_$p"; continue; }
	prev=$p
	# A snapshot takes the mount's journal replay; the disk goes on from $p.
	rm -f /tmp/cow
	truncate -s 512M /tmp/cow
	cow=$(losetup -f --show /tmp/cow)
	dmsetup create snap --table "0 $rsize snapshot $replay $cow N 8" || { result 1 "snapshot_$p"; continue; }
	(
		mount -t ext4 /dev/mapper/snap "$mnt" || { result 1 "${workload}_point_${n}_mounts"; exit; }
		if [ -f "$img" ]; then
			qemu-img check "$img" >/dev/null 2>&1
			rc=$?
			[ $rc -eq 0 ] || [ $rc -eq 3 ]
			result $? "${workload}_point_${n}_qemu_img_check_no_corruption"
			d=$(qedctl attach "$img")
			result $? "${workload}_point_${n}_attaches" &&
				qed_crash verify-any "$d" "$wlog" "$(cat "$mnt/initial")" | tail -n 1 &&
				result "${PIPESTATUS[0]}" "${workload}_point_${n}_every_sector_old_or_new"
			[ -n "$d" ] && qedctl detach "$d"
			qedctl check --json "$img" | grep -q '"corruptions": 0,'
			result $? "${workload}_point_${n}_repaired_without_corruption"
		else
			echo "# point $n: before the image was made"
		fi
		umount "$mnt"
	)
	dmsetup remove snap
	losetup -d "$cow"
done
