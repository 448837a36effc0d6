#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fio with several jobs writing and verifying (crc32c) on /dev/qedN, into
# an empty image and then over the allocated one; QEMU checks the result.
. "$(dirname "$0")/lib.sh"
require fio qemu-img losetup mkfs.ext4 cmp

ktap_print_header
ktap_set_plan 6

img="$WORK/fio.qed"
qemu-img create -q -f qed "$img" 256M

run_fio() {
	local out
	out=$(fio --name=qedverify --filename="$1" --ioengine=libaio --direct=1 \
		--rw="$2" --bs=4k-64k --iodepth=8 --numjobs=4 --size=32M \
		--offset_increment=48M --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --randrepeat=0 --group_reporting --minimal 2>&1) && return 0
	echo "$out" | grep -m 5 -E 'verify|error|err='
	return 1
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

# Direct I/O on a host file system of 4 KiB sectors, which refuses a
# 512-byte O_DIRECT write: such a write goes through the page cache
# instead and lands where it should.
t_dio_misaligned() {
	local img dev rc=1
	small_fs_up fs4k 64M --sector-size 4096 || return 1
	img="$SMALL_MNT/a.qed"
	head -c 65536 /dev/urandom >"$WORK/cluster"
	head -c 512 /dev/urandom >"$WORK/sector"
	if qemu-img create -q -f qed "$img" 16M && dev=$(qed_attach "$img" --direct-io); then
		# Allocate the cluster first: the sector is then written in place.
		dd if="$WORK/cluster" of="$dev" bs=64k oflag=direct conv=nocreat status=none &&
			dd if="$WORK/sector" of="$dev" bs=512 seek=3 oflag=direct conv=nocreat \
				status=none &&
			dd if="$dev" bs=512 skip=3 count=1 iflag=direct status=none |
			cmp - "$WORK/sector" && rc=0
		qed_detach "$dev" || rc=1
		# And QEMU reads the same there.
		[ $rc = 0 ] && qemu-img convert -O raw "$img" "$WORK/a.raw" &&
			dd if="$WORK/a.raw" bs=512 skip=3 count=1 status=none |
			cmp - "$WORK/sector" || rc=1
	fi
	# Switched on later, direct I/O needs blocks as big as the host's, as
	# lo_can_use_dio() decides: refused on 512-byte blocks, taken on 4 KiB.
	if dev=$(qed_attach "$img"); then
		if "$QEDCTL" set --direct-io=on "$dev" 2>/dev/null; then
			echo "direct I/O switched on for 512-byte blocks on a 4 KiB-sector host"
			rc=1
		fi
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
check "direct_io_512_byte_write_on_4k_sector_host" t_dio_misaligned
ktap_finished
