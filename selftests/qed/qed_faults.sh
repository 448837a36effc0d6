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
ktap_set_plan 3

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
	local img=$1 i d
	echo 1 >/proc/self/make-it-fail
	for i in $(seq 1 "$2"); do
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
	small_fs_up fi 256M || return 1
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
