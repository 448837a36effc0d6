#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fio with several jobs writing and verifying (crc32c) on /dev/qedN, into
# an empty image and then over the allocated one; QEMU checks the result.
. "$(dirname "$0")/lib.sh"
require fio qemu-img losetup mkfs.ext4 cmp blockdev dmesg

ktap_print_header
ktap_set_plan 11

img="$WORK/fio.qed"
qemu-img create -q -f qed "$img" 256M

run_fio() {
	fio_verify "$1" --rw="$2" --bs=4k-64k --iodepth=8 --numjobs=4 --size=32M \
		--offset_increment=48M --group_reporting
}
t_alloc() {
	local dev
	dev=$(qed_attach "$img") || return 1
	run_fio "$dev" randwrite >/dev/null || { qed_detach "$dev"; return 1; }
	qed_detach "$dev"
}
check "fio_verify_allocating_randwrite" t_alloc
# After a fresh attach: a sequential pass over partly allocated space, then
# random overwrites of allocated clusters.  (fio's own verify of randrw with
# block size ranges and several jobs fails on loop too, so it is not used.)
t_over() {
	local dev
	dev=$(qed_attach "$img") || return 1
	run_fio "$dev" write >/dev/null || { qed_detach "$dev"; return 1; }
	run_fio "$dev" randwrite >/dev/null || { qed_detach "$dev"; return 1; }
	qed_detach "$dev"
}
check "fio_verify_overwrite" t_over
check "qemu_img_check_after_fio" qemu_check_clean "$img"

# The same with direct I/O on the image file (O_DIRECT kiocbs, completed
# asynchronously), on a fresh image and on the image file on xfs.
dimg="$SCRATCH_XFS/fio-dio-$$.qed"
qemu-img create -q -f qed "$dimg" 256M
t_dio() {
	local dev
	dev=$(qed_attach "$dimg" --direct-io) || return 1
	[ "$("$QEDCTL" list -n --raw -O DIO "$dev")" = 1 ] || { qed_detach "$dev"; return 1; }
	run_fio "$dev" randwrite >/dev/null || { qed_detach "$dev"; return 1; }
	run_fio "$dev" randwrite >/dev/null || { qed_detach "$dev"; return 1; }
	qed_detach "$dev"
}
check "fio_verify_direct_io" t_dio
check "qemu_img_check_after_direct_io" qemu_check_clean "$dimg"
rm -f "$dimg"

# Direct I/O is decided at attach, as loop decides it: on a host file
# system of 4 KiB sectors (STATX_DIOALIGN 4096) the device's blocks are
# raised to 4 KiB unless -b was given, and a smaller -b is refused with a
# line in the kernel log.  No request falls back to the page cache.
dio_refusal="direct I/O on this file system needs blocks of at least 4096 bytes"
t_dio_4k_host() {
	local img dev rc=1
	small_fs_up fs4k 64M --sector-size 4096 || return 1
	img="$SMALL_MNT/a.qed"
	head -c 4096 /dev/urandom >"$WORK/block"
	if qemu-img create -q -f qed "$img" 16M && dev=$(qed_attach "$img" --direct-io); then
		rc=0
		[ "$(blockdev --getss "$dev")" = 4096 ] ||
			{ echo "logical block size $(blockdev --getss "$dev"), not 4096"; rc=1; }
		[ "$("$QEDCTL" list -n --raw -O LOG-SEC,DIO "$dev")" = "4096 1" ] ||
			{ echo "list: $("$QEDCTL" list -n --raw -O LOG-SEC,DIO "$dev")"; rc=1; }
		# An allocating write of one block inside a cluster, read back.
		dd if="$WORK/block" of="$dev" bs=4k seek=3 oflag=direct conv=nocreat status=none &&
			dd if="$dev" bs=4k skip=3 count=1 iflag=direct status=none |
			cmp - "$WORK/block" || rc=1
		qed_detach "$dev" || rc=1
		# And QEMU reads the same there.
		[ $rc = 0 ] && qemu-img convert -O raw "$img" "$WORK/a.raw" &&
			dd if="$WORK/a.raw" bs=4k skip=3 count=1 status=none |
			cmp - "$WORK/block" || rc=1
	fi
	# An explicit block size too small for direct I/O is refused, and
	# the kernel log says which would do.
	dmesg -C
	if dev=$(qed_attach "$img" --direct-io -b 512 2>/dev/null); then
		echo "attached with --direct-io -b 512 on a 4 KiB-sector host"
		qed_detach "$dev"
		rc=1
	fi
	dmesg | grep -q "$dio_refusal; attach with -b 4096 or without --direct-io" ||
		{ echo "no refusal in the kernel log"; rc=1; }
	# Switched on later, the same: refused on 512-byte blocks, as
	# lo_can_use_dio() decides, and taken on 4 KiB.
	dmesg -C
	if dev=$(qed_attach "$img"); then
		if "$QEDCTL" set --direct-io=on "$dev" 2>/dev/null; then
			echo "direct I/O switched on for 512-byte blocks on a 4 KiB-sector host"
			rc=1
		fi
		dmesg | grep -q "$dio_refusal" || { echo "no refusal of set in the kernel log"; rc=1; }
		qed_detach "$dev" || rc=1
	else
		rc=1
	fi
	if dev=$(qed_attach "$img" -b 4096); then
		"$QEDCTL" set --direct-io=on "$dev" || rc=1
		[ "$("$QEDCTL" list -n --raw -O DIO "$dev")" = 1 ] || rc=1
		qed_detach "$dev" || rc=1
	else
		rc=1
	fi
	small_fs_down
	return $rc
}
check "direct_io_block_size_on_4k_sector_host" t_dio_4k_host

# With direct I/O, allocating writes smaller than a cluster and the fills
# around them are direct too: no page of a data cluster enters the page
# cache, only the tables' pages do.  64 such writes, one per cluster, all
# under the L2 table the first write made, add no more than the page or
# two of L2 entries they write; a buffered data write would add 64.
image_pages() {
	fincore --noheadings --raw --output PAGES "$1"
}
t_dio_no_page_cache() {
	local img dev before after i rc=1
	small_fs_up fs4k 64M --sector-size 4096 || return 1
	img="$SMALL_MNT/pc.qed"
	if qemu-img create -q -f qed -o cluster_size=65536 "$img" 32M &&
		dev=$(qed_attach "$img" --direct-io); then
		rc=0
		# The first makes the L2 table and reads what it needs.
		dd if=/dev/urandom of="$dev" bs=4k seek=1 count=1 oflag=direct conv=nocreat \
			status=none || rc=1
		before=$(image_pages "$img") || rc=1
		for ((i = 1; i <= 64; i++)); do
			dd if=/dev/urandom of="$dev" bs=4k seek=$((i * 16 + 1)) count=1 \
				oflag=direct conv=nocreat status=none || rc=1
		done
		after=$(image_pages "$img") || rc=1
		if [ $rc = 0 ] && [ $((after - before)) -ge 8 ]; then
			echo "64 allocating writes added $((after - before)) page-cache pages" \
			     "($before before, $after after): data went buffered"
			rc=1
		fi
		qed_detach "$dev" || rc=1
		[ $rc = 0 ] && { qemu_check_clean "$img" || rc=1; }
	fi
	small_fs_down
	return $rc
}

# What a buffered writer left in the page cache (here qemu-io, as QEMU
# with cache=writeback) is gone once a --direct-io attach returns: dirty
# pages would be written back under the first direct I/O to each range,
# and any page in a direct write's range sends it from queue_rq to a
# worker (IOCB_NOWAIT).  Only the tables the attach read may be back.
t_dio_attach_drops_cache() {
	local img="$SCRATCH/dc-$$.qed" dev before after rc=0
	qemu-img create -q -f qed "$img" 16M &&
		qemu-io -f qed -c "write -P 0x5a 0 4M" "$img" >/dev/null || return 1
	before=$(image_pages "$img") || return 1
	dev=$(qed_attach "$img" --direct-io) || return 1
	after=$(image_pages "$img") || rc=1
	echo "image pages in the page cache: $before before attach, $after after"
	[ "$before" -ge 1024 ] || { echo "qemu-io left no pages to drop"; rc=1; }
	[ "${after:-9999}" -lt 64 ] || rc=1
	cmp -n 4096 <(dd if="$dev" bs=4096 count=1 iflag=direct status=none) \
		<(head -c 4096 /dev/zero | tr '\0' '\132') || rc=1
	qed_detach "$dev" || rc=1
	rm -f "$img"
	return $rc
}
# At queue depth 1 (dd with O_DIRECT: one request at a time, issued
# from inside submit_bio(), under its empty bio list), reads and in-place writes of
# allocated clusters are issued by queue_rq itself, not by a worker:
# qed/inline_requests counts them.  Until 0.13.0 blk-mq's own bio list sent
# every such request to a worker.  The data is checked both ways.
t_dio_qd1_in_queue_rq() {
	local img="$SCRATCH/qd1-$$.qed" dev w0 w1 rc=0
	head -c $((4 << 20)) /dev/urandom >"$WORK/qd1.a"
	head -c $((4 << 20)) /dev/urandom >"$WORK/qd1.b"
	qemu-img create -q -f qed "$img" 16M &&
		qemu-io -f qed -c "write -P 0x11 0 4M" "$img" >/dev/null || return 1
	dev=$(qed_attach "$img" --direct-io) || return 1
	w0=$(cat "/sys/block/${dev#/dev/}/qed/inline_requests") || rc=1
	dd if="$WORK/qd1.a" of="$dev" bs=4k oflag=direct conv=notrunc status=none || rc=1
	cmp <(dd if="$dev" bs=4k count=1024 iflag=direct status=none) "$WORK/qd1.a" || rc=1
	dd if="$WORK/qd1.b" of="$dev" bs=16k oflag=direct conv=notrunc status=none || rc=1
	w1=$(cat "/sys/block/${dev#/dev/}/qed/inline_requests") || rc=1
	echo "queue_rq walked $((w1 - w0)) of 2304 requests"
	# 1024 writes, 1024 reads, 256 writes: nearly all of them.
	[ $((w1 - w0)) -ge 2000 ] || rc=1
	qed_detach "$dev" || rc=1
	qemu-img convert -O raw "$img" "$WORK/qd1.raw" &&
		cmp -n $((4 << 20)) "$WORK/qd1.raw" "$WORK/qd1.b" || rc=1
	rm -f "$img" "$WORK"/qd1.*
	return $rc
}
check "direct_io_depth_one_issues_in_queue_rq" t_dio_qd1_in_queue_rq

# queue_rq walks a request in the submitter's context only when it is the
# one read or write in flight; with another in flight a worker issues it.
# Until 0.14.0 queue_rq walked any request while no other request *it*
# walked was in flight: at depth 8 to 32 over a third of them, the
# submitter issuing while the workers idled.  Held in flight here: a write
# under a file size limit, which a worker takes
# (qedblk_submitter_may_issue()), to an image on a frozen file system.  A
# read behind it must not be walked.
t_dio_busy_to_workers() {
	local img="$SCRATCH_XFS/busy-$$.qed" dev sys w0 w1 wpid rpid i rc=0
	qemu-img create -q -f qed "$img" 16M &&
		qemu-io -f qed -c "write -P 0x33 0 1M" "$img" >/dev/null || return 1
	dev=$(qed_attach "$img" --direct-io) || return 1
	sys=/sys/block/${dev#/dev/}
	fsfreeze -f "$SCRATCH_XFS" || { qed_detach "$dev"; return 1; }
	(ulimit -f 64 && dd if=/dev/zero of="$dev" bs=4k count=1 seek=16 oflag=direct \
		conv=notrunc status=none) &
	wpid=$!
	for i in $(seq 100); do
		[ "$(awk '{ print $2 }' "$sys/inflight")" -ge 1 ] && break
		sleep 0.1
	done
	echo "in flight (reads writes): $(cat "$sys/inflight")"
	w0=$(cat "$sys/qed/inline_requests")
	dd if="$dev" of="$WORK/busy.read" bs=4k count=1 iflag=direct status=none &
	rpid=$!
	# Walked, the read is done at once; handed over, it waits for the write.
	for i in $(seq 20); do
		kill -0 "$rpid" 2>/dev/null || break
		[ "$(awk '{ print $1 }' "$sys/inflight")" -ge 1 ] && break
		sleep 0.1
	done
	sleep 1
	w1=$(cat "$sys/qed/inline_requests")
	fsfreeze -u "$SCRATCH_XFS" || rc=1
	wait "$wpid" || { echo "the write failed"; rc=1; }
	wait "$rpid" || { echo "the read failed"; rc=1; }
	echo "queue_rq walked $((w1 - w0)) requests while a write was in flight"
	[ "$w1" = "$w0" ] || rc=1
	cmp "$WORK/busy.read" <(head -c 4096 /dev/zero | tr '\0' '\063') || rc=1
	qed_detach "$dev" || rc=1
	qemu_check_clean "$img" || rc=1
	rm -f "$img" "$WORK/busy.read"
	return $rc
}
check "direct_io_behind_another_request_issued_by_worker" t_dio_busy_to_workers

# A writer under a file size limit (ulimit -f) writes to /dev/qedN as to
# any disk: the limit is not applied to the image file, whose data
# clusters lie past it, when queue_rq issues in the writer's context.
t_dio_fsize_limit() {
	local img="$SCRATCH/fsz-$$.qed" dev rc=0
	head -c $((1 << 20)) /dev/urandom >"$WORK/fsz.a"
	qemu-img create -q -f qed "$img" 16M &&
		qemu-io -f qed -c "write -P 0x11 8M 1M" "$img" >/dev/null || return 1
	dev=$(qed_attach "$img" --direct-io) || return 1
	# 64 KiB: the image's header cluster; its tables and data lie past it.
	(ulimit -f 64 && dd if="$WORK/fsz.a" of="$dev" bs=4k seek=2048 oflag=direct \
		conv=notrunc status=none) || { echo "a write under ulimit -f 64 failed"; rc=1; }
	cmp <(dd if="$dev" bs=4k skip=2048 count=256 iflag=direct status=none) "$WORK/fsz.a" ||
		rc=1
	qed_detach "$dev" || rc=1
	rm -f "$img" "$WORK/fsz.a"
	return $rc
}
check "direct_io_write_under_file_size_limit" t_dio_fsize_limit

if command -v fincore >/dev/null; then
	check "direct_io_sub_cluster_writes_leave_no_page_cache" t_dio_no_page_cache
	check "direct_io_attach_drops_page_cache" t_dio_attach_drops_cache
else
	ktap_test_skip "direct_io_sub_cluster_writes_leave_no_page_cache (fincore is not installed)"
	ktap_test_skip "direct_io_attach_drops_page_cache (fincore is not installed)"
fi
ktap_finished
