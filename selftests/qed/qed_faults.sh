#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fault injection (debug kernels only: CONFIG_FAILSLAB, FAIL_MAKE_REQUEST):
# allocations of the test's own processes and I/O of the disk under the
# image fail at random while images are attached, written, read, resized
# and detached.  Operations may fail; the kernel must not complain, and the
# image must stay free of corruption.
. "$(dirname "$0")/lib.sh"
require qemu-img dd losetup mkfs.ext4 e2fsck blkdiscard

dbg=/sys/kernel/debug
ktap_print_header
if [ ! -d "$dbg/failslab" ] || [ ! -e /proc/self/make-it-fail ]; then
	ktap_skip_all "no fault injection in this kernel (CONFIG_FAILSLAB, FAIL_MAKE_REQUEST)"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 4

faults_on() {
	echo "$1" >"$dbg/$2/probability"
	echo -1 >"$dbg/$2/times"
	echo 0 >"$dbg/$2/interval"
	echo 0 >"$dbg/$2/verbose"
	echo "$3" >"$dbg/$2/task-filter"
}
faults_off() {
	echo 0 >"$dbg/$1/probability"
}

# A workload in a process that makes itself fail.
workload() {
	local img=$1 d
	echo 1 >/proc/self/make-it-fail
	for _ in $(seq 1 "$2"); do
		d=$("$QEDCTL" attach "$img" 2>/dev/null) || continue
		dd if=/dev/urandom of="$d" bs=64k count=32 seek=$((RANDOM % 480)) oflag=direct \
			status=none 2>/dev/null
		dd if="$d" of=/dev/null bs=1M iflag=direct status=none 2>/dev/null
		blkdiscard -o $(( (RANDOM % 30) << 20 )) -l $((1 << 20)) "$d" 2>/dev/null
		"$QEDCTL" resize "$d" +1M 2>/dev/null
		"$QEDCTL" detach "$d" 2>/dev/null || { sleep 1; "$QEDCTL" detach "$d" 2>/dev/null; }
	done
	return 0
}

no_corruption() {
	"$QEDCTL" detach --all 2>/dev/null
	# A read-write attach repairs what an interrupted allocation left.
	local d
	d=$("$QEDCTL" attach "$1") || return 1
	"$QEDCTL" detach "$d" || return 1
	qemu_no_corruption "$1" && "$QEDCTL" check --json "$1" | grep -q '"corruptions": 0,'
}

t_failslab() {
	local img="$WORK/slab.qed"
	qemu-img create -q -f qed "$img" 32M || return 1
	faults_on 10 failslab 1
	(workload "$img" 30)
	faults_off failslab
	no_corruption "$img"
}
check failslab_during_attach_io_resize_detach t_failslab

t_fail_request() {
	local img rc
	# The failing requests hit only this file system.
	small_fs_up "fi" 256M || return 1
	img="$SMALL_MNT/req.qed"
	qemu-img create -q -f qed "$img" 32M || { small_fs_down; return 1; }
	sync
	# The requests come from qedblk's workers, not from the test: no task filter.
	faults_on 3 fail_make_request 0
	echo 1 >"/sys/block/${SMALL_LOOP#/dev/}/make-it-fail"
	(workload "$img" 20)
	echo 0 >"/sys/block/${SMALL_LOOP#/dev/}/make-it-fail"
	faults_off fail_make_request
	"$QEDCTL" detach --all 2>/dev/null
	umount "$SMALL_MNT"
	# The file system may have given up; let fsck put it right first.
	e2fsck -fy "$SMALL_LOOP" >/dev/null
	mount -t ext4 "$SMALL_LOOP" "$SMALL_MNT" || { losetup -d "$SMALL_LOOP"; return 1; }
	no_corruption "$img"
	rc=$?
	small_fs_down
	return $rc
}
check failed_disk_requests_under_the_image t_fail_request

# Issue 12 point 6: a guest's I/O never fails with ENOMEM.  Every
# allocation from the L2 cache's slab fails (the debug guest boots with
# slub_debug=A,qedblk_l2_chunk, so failslab's cache-filter picks it alone),
# including those that may sleep, while reads miss the cache on every table
# page and writes allocate new tables: the device's chunk reserve must
# carry them, the overlay's and its backing file's.
t_l2_reserve() {
	local img="$WORK/reserve.qed" raw="$WORK/reserve.raw" d rc=0 f=$dbg/failslab
	[ "$(cat /sys/kernel/slab/qedblk_l2_chunk/failslab 2>/dev/null)" = 1 ] ||
		{ echo "qedblk_l2_chunk is not marked for failslab (boot with slub_debug=A,qedblk_l2_chunk)"; return 1; }
	# 4 KiB clusters: one cached page of a table covers 2 MiB, 32 of them
	# here, in the backing file's cache: the reads go through the overlay.
	dd if=/dev/urandom of="$raw" bs=1M count=64 status=none
	qemu-img convert -f raw -O qed -o cluster_size=4096 "$raw" "$WORK/reserve-base.qed" &&
		qemu-img resize -q -f qed "$WORK/reserve-base.qed" 96M &&
		qemu-img create -q -f qed -o cluster_size=4096 -b reserve-base.qed -F qed "$img" ||
		return 1
	d=$("$QEDCTL" attach "$img") || return 1
	dmesg -C
	echo Y >"$f/cache-filter"
	echo N >"$f/ignore-gfp-wait"
	faults_on 100 failslab 0
	cmp -n $((64 << 20)) "$raw" "$d" || { echo "read back differs or failed"; rc=1; }
	dd if="$raw" of="$d" bs=1M seek=64 count=24 oflag=direct status=none ||
		{ echo "allocating write failed"; rc=1; }
	faults_off failslab
	echo N >"$f/cache-filter"
	echo Y >"$f/ignore-gfp-wait"
	if dmesg | grep -E "I/O error|qed.*-12|ENOMEM"; then
		rc=1
	fi
	cmp -n $((24 << 20)) -i 0:$((64 << 20)) "$raw" "$d" || { echo "new tables lost"; rc=1; }
	"$QEDCTL" detach "$d" || return 1
	[ $rc -eq 0 ] && qemu_no_corruption "$img"
}
check l2_cache_misses_under_failing_allocations t_l2_reserve

t_after() {
	local img="$WORK/after.qed" d
	# With faults off again everything works as before.
	qemu-img create -q -f qed "$img" 8M || return 1
	d=$("$QEDCTL" attach "$img") || return 1
	dd if=/dev/urandom of="$d" bs=1M count=8 oflag=direct status=none || { "$QEDCTL" detach "$d"; return 1; }
	"$QEDCTL" detach "$d" && qemu_check_clean "$img"
}
check works_again_after_faults t_after

ktap_finished
