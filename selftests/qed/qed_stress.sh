#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Abuse: many devices at once, attach/detach/list/info loops in parallel
# processes, detach racing with opens and I/O, fio with many jobs mixing
# reads, writes, flushes and discards, and a host file system running out
# of space under the image.  Nothing may hurt the kernel; the images stay
# free of corruption.  QED_STRESS_SECONDS sets the length of the loops.
. "$(dirname "$0")/lib.sh"
require qemu-img fio losetup mkfs.ext4 blockdev

ktap_print_header
ktap_set_plan 5
secs=${QED_STRESS_SECONDS:-30}

t_many() {
	local i devs=() d
	for i in $(seq 0 11); do
		qemu-img create -q -f qed "$WORK/m$i.qed" 64M || return 1
		d=$(qed_attach "$WORK/m$i.qed") || return 1
		devs+=("$d")
	done
	# Each device shows its own image.
	for i in $(seq 0 11); do
		dd if=/dev/zero bs=4096 count=1 status=none | tr '\0' "\\$(printf '%03o' $((i + 1)))" |
			dd of="${devs[$i]}" bs=4096 seek="$i" oflag=direct status=none || return 1
	done
	for i in $(seq 0 11); do
		[ "$(dd if="${devs[$i]}" bs=4096 skip="$i" count=1 iflag=direct status=none | od -An -tu1 -N1 | tr -d ' ')" = $((i + 1)) ] ||
			{ echo "device $i reads another image"; return 1; }
	done
	"$QEDCTL" detach --all || return 1
	for i in $(seq 0 11); do
		qemu_check_clean "$WORK/m$i.qed" >/dev/null || return 1
	done
}
check twelve_devices_at_once t_many

# attach/detach/list/info from four processes at once, for $secs seconds.
t_races() {
	local p end=$((SECONDS + secs)) pids=()
	for p in 0 1 2 3; do
		qemu-img create -q -f qed "$WORK/r$p.qed" 32M || return 1
	done
	for p in 0 1 2 3; do
		(
			while [ $SECONDS -lt $end ]; do
				d=$("$QEDCTL" attach "$WORK/r$p.qed" 2>/dev/null) || continue
				"$QEDCTL" list >/dev/null
				# nocreat: after a detach, dd must not make a file of the name.
				dd if=/dev/urandom of="$d" bs=64k count=4 seek=$((RANDOM % 500)) \
					oflag=direct conv=nocreat,notrunc status=none 2>/dev/null &
				# Open and read while the detach comes.
				dd if="$d" of=/dev/null bs=1M count=4 status=none 2>/dev/null &
				"$QEDCTL" detach "$d" 2>/dev/null || "$QEDCTL" detach --lazy "$d" 2>/dev/null
				wait
				"$QEDCTL" detach "$d" 2>/dev/null
			done
		) &
		pids+=($!)
	done
	(
		while [ $SECONDS -lt $end ]; do
			"$QEDCTL" list --json >/dev/null
			cat /sys/block/qed*/qed/backing_file >/dev/null 2>&1
		done
	) &
	pids+=($!)
	wait "${pids[@]}"
	sleep 1
	"$QEDCTL" detach --all 2>/dev/null
	[ "$("$QEDCTL" list | grep -c '^/dev/qed')" -eq 0 ] ||
		{ "$QEDCTL" list; echo "devices left over"; return 1; }
	[ -z "$(find /dev -maxdepth 1 -name 'qed[0-9]*' ! -type b)" ] ||
		{ echo "something not a block device under /dev/qedN"; return 1; }
	for p in 0 1 2 3; do
		"$QEDCTL" check "$WORK/r$p.qed" >/dev/null || return 1
	done
}
check attach_detach_list_races t_races

# fio: eight jobs, random mixed I/O with fsync and trim, verified.
t_fio() {
	local img="$WORK/fio.qed" d out
	qemu-img create -q -f qed "$img" 512M || return 1
	d=$(qed_attach "$img") || return 1
	out=$(fio --name=mix --filename="$d" --ioengine=libaio --direct=1 --numjobs=8 \
		--size=48M --offset_increment=64M --rw=randrw --rwmixread=50 --bs=4k \
		--iodepth=16 --fsync=32 --runtime="$secs" --time_based --group_reporting \
		--minimal 2>&1) || { echo "$out" | tail -3; qed_detach "$d"; return 1; }
	out=$(fio --name=trim --filename="$d" --ioengine=libaio --direct=1 --numjobs=4 \
		--size=64M --offset_increment=128M --rw=randtrim --bs=64k --iodepth=8 \
		--number_ios=200 --minimal 2>&1) || { echo "$out" | tail -3; qed_detach "$d"; return 1; }
	out=$(fio --name=verify --filename="$d" --ioengine=libaio --direct=1 --numjobs=8 \
		--size=16M --offset_increment=64M --rw=randwrite --bs=4k --iodepth=16 \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --minimal 2>&1) ||
		{ echo "$out" | grep -m3 -E "verify|err"; qed_detach "$d"; return 1; }
	qed_detach "$d" || return 1
	qemu_check_clean "$img"
}
check fio_eight_jobs_mixed_fsync_trim_verify t_fio

# The file system under the image fills up: writes fail with EIO, nothing
# else; after room is made the image is consistent and usable.
t_enospc() {
	local img d rc
	small_fs_up small 24M || return 1
	img="$SMALL_MNT/full.qed"
	qemu-img create -q -f qed "$img" 256M || { small_fs_down; return 1; }
	d=$(qed_attach "$img") || { small_fs_down; return 1; }
	dd if=/dev/urandom of="$d" bs=1M count=64 oflag=direct conv=nocreat status=none \
		2>"$WORK/dd.err"
	rc=$?
	head -n 2 "$WORK/dd.err"
	qed_detach "$d"
	df -k "$SMALL_MNT" | tail -n 1
	if [ $rc -eq 0 ]; then
		echo "64 MiB fit into 24 MiB"
		rc=1
	elif ! grep -q "Input/output error\|No space left" "$WORK/dd.err"; then
		rc=1
	else
		"$QEDCTL" check --json "$img" | grep -q '"corruptions": 0,'
		rc=$?
	fi
	small_fs_down
	return $rc
}
check host_file_system_full_gives_eio_image_consistent t_enospc

t_world() {
	local d
	[ "$(stat -c %a /dev/qed-control)" = 600 ] || { stat -c %a /dev/qed-control; return 1; }
	qemu-img create -q -f qed "$WORK/perm.qed" 8M || return 1
	d=$(qed_attach "$WORK/perm.qed") || return 1
	[ $(( 0$(stat -c %a "$d") & 2 )) -eq 0 ]
	rc=$?
	qed_detach "$d"
	return $rc
}
check device_nodes_not_world_writable t_world

ktap_finished
