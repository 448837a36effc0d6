#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest side of one power-cut cycle (crashtest.sh drives it):
#   crash.sh write WORKLOAD SEED   make the image, then write until killed
#   crash.sh verify WORKLOAD       after the cut: check, attach, verify
#   crash.sh reorder WORKLOAD SEED SECONDS   dm-log-writes replay (reorder.sh)
# /dev/vda holds the ext4 file system with the image, /dev/vdb the log.
# Results are "crash: ok NAME" / "crash: not ok NAME" lines.
phase=$1
workload=$2
seed=${3:-1}
fs=/mnt/ext4
img=$fs/crash.qed
q=/mnt/q
log=/dev/vdb
# Live snapshots the snapshot workload takes, one a second: fewer than
# the 16 backing files a device may have.
SNAPSHOTS=15
mkdir -p "$fs" "$q"

result() {
	if [ "$1" -eq 0 ]; then echo "crash: ok $2"; else echo "crash: not ok $2"; fi
}

# Files of the ext4 workload: f$N holds N's own bytes, a size of its own.
file_content() {
	yes "file $1 of the crash test" | head -c $(( ($1 % 37 + 1) * 4096 ))
}

# The ext4 workload's log: one 512-byte record per durable file, at N*512.
log_durable() {
	printf 'durable %-502d\n' "$1" | dd of="$log" bs=512 seek="$1" oflag=direct,dsync \
		conv=notrunc status=none
}

write_phase() {
	local dev initial=zero i
	mkfs.ext4 -q -F /dev/vda && mount /dev/vda "$fs" || return 1
	case "$workload" in
	empty | ext4 | snapshot)
		qedctl create -s 256M "$img" || return 1
		;;
	full)
		# Every cluster allocated before the cut: writes go in place.
		qedctl create -s 64M "$img" && dev=$(qedctl attach "$img") &&
			qed_crash fill "$dev" $((64 << 20)) && qedctl detach "$dev" || return 1
		initial=gen0
		;;
	overlay)
		qed_crash fill "$fs/base.raw" $((64 << 20)) &&
			qedctl create -b base.raw -F raw "$img" || return 1
		initial=gen0
		;;
	esac
	echo "$initial" >"$fs/initial"
	dd if=/dev/zero of="$log" bs=1M count=1 oflag=direct status=none
	sync
	dev=$(qedctl attach "$img") || return 1
	if [ "$workload" = ext4 ]; then
		mkfs.ext4 -q "$dev" && mount -t ext4 "$dev" "$q" && sync || return 1
		echo "crash: writing (ext4 files)"
		i=1
		while :; do
			file_content "$i" >"$q/f$i"
			# Durable once the file and its directory are synced.
			sync "$q/f$i" && sync "$q" && log_durable "$i"
			[ $((i % 7)) -eq 0 ] && rm -f "$q/scratch$((i - 7))"
			file_content $((i + 100000)) >"$q/scratch$i"
			i=$((i + 1))
		done
	fi
	if [ "$workload" = snapshot ]; then
		# Live snapshots under the writer, until the cut: at any instant
		# the chain on disk must hold every flushed write.
		qed_crash write "$dev" "$log" "$seed" &
		for i in $(seq 1 "$SNAPSHOTS"); do
			sleep 1
			qedctl snapshot --no-freeze -q "$dev" "$fs/snap$i.qed" ||
				echo "crash: error: snapshot $i failed"
		done
		wait
		return 1
	fi
	exec qed_crash write "$dev" "$log" "$seed"
}

# The top of the chain the snapshot workload left: the last overlay
# qedctl created, which the device may or may not have switched to.
snapshot_top() {
	local i
	for i in $(seq "$SNAPSHOTS" -1 1); do
		[ -e "$fs/snap$i.qed" ] && { echo "$fs/snap$i.qed"; return; }
	done
	echo "$img"
}

# Every image below the top is clean: each was marked clean and flushed
# before the device left it.
snapshot_chain_clean() {
	local f rc bad=0
	for f in "$img" "$fs"/snap*.qed; do
		[ "$f" = "$1" ] && continue
		qemu-img check -q "$f"
		rc=$?
		if { [ $rc -ne 0 ] && [ $rc -ne 3 ]; } || ! qedctl info "$f" | grep -q '^dirty: no'; then
			echo "# $f is not clean"
			bad=1
		fi
	done
	return $bad
}

verify_phase() {
	local dev initial rc i top n=0 bad=0
	mount /dev/vda "$fs"
	result $? host_file_system_mounts || return 1
	initial=$(cat "$fs/initial")
	if [ "$workload" = snapshot ]; then
		top=$(snapshot_top)
		echo "# the chain's top: $top"
		snapshot_chain_clean "$top"
		result $? snapshot_images_below_the_top_clean_after_cut
		img=$top
	fi
	qemu-img check "$img"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 3 ]
	result $? "${workload}_qemu_img_check_no_corruption_after_cut"
	qedctl check --json "$img" | grep -q '"corruptions": 0,'
	result $? "${workload}_qedctl_check_no_corruption_after_cut"
	dev=$(qedctl attach "$img")
	result $? "${workload}_attach_after_cut" || return 1
	if [ "$workload" = ext4 ]; then
		mount -t ext4 "$dev" "$q"
		result $? ext4_journal_replays_after_cut || { qedctl detach "$dev"; return 1; }
		for i in $(seq 1 200000); do
			dd if="$log" bs=512 skip="$i" count=1 status=none | grep -q '^durable' || break
			n=$i
			file_content "$i" | cmp -s - "$q/f$i" || { bad=$((bad + 1)); echo "# f$i differs"; }
		done
		echo "# $n files were durable before the cut"
		[ $bad -eq 0 ]
		result $? ext4_durable_files_intact
		umount "$q"
		e2fsck -fn "$dev"
		result $? ext4_fsck_clean_after_cut
	else
		qed_crash verify "$dev" "$log" "$initial"
		result $? "${workload}_flushed_data_intact_unflushed_old_or_new"
	fi
	qedctl detach "$dev"
	qemu-img check "$img"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 3 ]
	result $? "${workload}_qemu_img_check_after_attach"
	qedctl check --json "$img" | grep -q '"corruptions": 0, .*"leaks-at-end": 0,' &&
		qedctl info "$img" | grep -q '^dirty: no'
	result $? "${workload}_repaired_and_marked_clean"
}

case "$phase" in
reorder)
	exec /opt/qed/reorder.sh "$workload" "$seed" "${4:-20}"
	;;
write)
	write_phase
	echo "crash: error: the writer stopped"
	exit 1
	;;
verify)
	verify_phase
	;;
esac
