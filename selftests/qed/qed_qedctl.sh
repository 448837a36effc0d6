#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qedctl as a user meets it: list and info, the need-check flag while
# allocating, autoclear bits, bad table entries failing only their I/O, and
# one-line errors with exit status 1.
. "$(dirname "$0")/lib.sh"
require qemu-img qemu-io dd od jq blockdev

ktap_print_header
ktap_set_plan 16

img="$WORK/u.qed"

t_list() {
	local dev out
	"$QEDCTL" create -s 64M "$img" || return 1
	dev=$(qed_attach "$img") || return 1
	out=$("$QEDCTL" list)
	echo "$out"
	# losetup's default columns, then DIRTY: NAME SIZE AUTOCLEAR RO DIO DIRTY LOG-SEC BACK-FILE
	echo "$out" | grep -q "^$dev  *64MiB  *0  *0  *0  *0  *512 $img\$" || { qed_detach "$dev"; return 1; }
	out=$("$QEDCTL" list --json -O NAME,SIZE,CLUSTER,RO,BACK-FILE)
	[ "$(echo "$out" | jq -c '.qeddevices[0]')" = \
	  "{\"name\":\"$dev\",\"size\":67108864,\"cluster\":65536,\"ro\":false,\"back-file\":\"$img\"}" ] ||
		{ echo "$out"; qed_detach "$dev"; return 1; }
	sysfs_is "$dev" backing_file "$img" && sysfs_is "$dev" cluster_size 65536 &&
		sysfs_is "$dev" backing_inode "$(stat -c %i "$img")" &&
		sysfs_is "$dev" base_file "" && sysfs_is "$dev" base_chain "" &&
		sysfs_is "$dev" autoclear 0 && sysfs_is "$dev" dio 0 &&
		sysfs_is "$dev" read_only 0 && sysfs_is "$dev" partscan 1 &&
		sysfs_is "$dev" dirty 0 || { qed_detach "$dev"; return 1; }
	sysfs_is "$dev" backing_dev "$(stat -c '%Hd:%Ld' "$img")" ||
		{ qed_detach "$dev"; return 1; }
	qed_detach "$dev" && ! "$QEDCTL" list | grep -q "$dev"
}
check "list_json_and_sysfs" t_list

# backing_file comes from the open file, as loop's: it follows a rename,
# and a path longer than the ABI's name field is not cut.
t_backing_file_follows_rename() {
	local dev top long rc=0
	top="$WORK/$(printf 'd%.0s' $(seq 200))"
	long="$top/$(printf 'e%.0s' $(seq 200))"
	mkdir -p "$long" || return 1
	"$QEDCTL" create -s 1M "$long/i.qed" || return 1
	dev=$(qed_attach "$long/i.qed") || return 1
	sysfs_is "$dev" backing_file "$long/i.qed" || rc=1
	mv "$long/i.qed" "$long/renamed.qed"
	sysfs_is "$dev" backing_file "$long/renamed.qed" || rc=1
	qed_detach "$dev"
	rm -rf "$top"
	return $rc
}
check backing_file_follows_rename t_backing_file_follows_rename

# -r, -P, --direct-io and a dirty image, one attribute each.
t_sysfs_flags() {
	local dev rc=0
	dev=$(qed_attach "$img" -r --no-partscan) || return 1
	sysfs_is "$dev" read_only 1 && sysfs_is "$dev" partscan 0 && sysfs_is "$dev" dio 0 || rc=1
	qed_detach "$dev"
	dev=$(qed_attach "$img" --direct-io) || return 1
	sysfs_is "$dev" dio 1 && sysfs_is "$dev" read_only 0 && sysfs_is "$dev" partscan 1 || rc=1
	"$QEDCTL" set --direct-io=off "$dev" || rc=1
	sysfs_is "$dev" dio 0 || rc=1
	# The first allocating write sets NEED_CHECK on disk.
	within_clean_window "$dev" 100 1 sysfs_is "$dev" dirty 1 || rc=1
	qed_detach "$dev"
	return $rc
}
check sysfs_flags_one_value_a_file t_sysfs_flags

# NEED_CHECK is on disk while allocation is recent, and gone after detach.
# dirty_in_info_and_list DEV IMG: info on the image and list on the
# device both see it.
dirty_in_info_and_list() {
	local out
	image_dirty "$2" || { echo "not dirty while allocating"; return 1; }
	out=$("$QEDCTL" list -n --raw -O RO,DIRTY "$1")
	[ "$out" = "0 1" ] || { echo "list: RO DIRTY '$out'"; return 1; }
}
t_dirty() {
	local dev out rc=0
	dev=$(qed_attach "$img") || return 1
	within_clean_window "$dev" 0 4 dirty_in_info_and_list "$dev" "$img" ||
		{ qed_detach "$dev"; return 1; }
	# The device holds QEMU's locks: a repair is refused, naming it.
	out=$("$QEDCTL" check -r "$img" 2>&1) && { echo "repaired an attached image"; rc=1; }
	echo "$out" | grep -q "Failed to get \"write\" lock" &&
		echo "$out" | grep -q "the image is attached as $dev" || { echo "$out"; rc=1; }
	qed_detach "$dev" || return 1
	[ "$rc" = 0 ] || return 1
	"$QEDCTL" info "$img" | grep -q '^dirty: no'
}
check "need_check_set_while_allocating_cleared_at_detach" t_dirty

# Unknown autoclear bits: cleared by a read-write attach, kept by a read-only one.
t_autoclear() {
	local dev
	# autoclear_features is the u64 at offset 32; set bit 0x40 of byte 39.
	printf '\x40' | dd of="$img" bs=1 seek=39 conv=notrunc status=none
	dev=$(qed_attach "$img" -r) || return 1
	qed_detach "$dev"
	[ "$(od -An -tx1 -j39 -N1 "$img" | tr -d ' ')" = 40 ] || { echo "read-only attach changed the header"; return 1; }
	dev=$(qed_attach "$img") || return 1
	qed_detach "$dev"
	[ "$(od -An -tx1 -j39 -N1 "$img" | tr -d ' ')" = 00 ]
}
check "unknown_autoclear_bits_cleared_by_rw_attach" t_autoclear

# A bad L2 entry fails the reads that meet it, and nothing else.
t_bad_entry() {
	local bad="$WORK/bad.qed" dev l1 l2 rc
	qemu-img create -q -f qed "$bad" 16M || return 1
	qemu-io -c 'write -P 0x11 0 64k' -c 'write -P 0x22 64k 64k' "$bad" >/dev/null || return 1
	# L1 at 64 KiB; its entry 0 is the L2 table; make L2 entry 1 misaligned.
	l1=$(od -An -tu8 -j65536 -N8 "$bad" | tr -d ' ')
	l2=$((l1 + 8))
	printf '\x01\x02' | dd of="$bad" bs=1 seek="$l2" conv=notrunc status=none
	dmesg -C
	dev=$(qed_attach "$bad") || return 1
	dd if="$dev" of="$WORK/a" bs=64k count=1 iflag=direct status=none || { qed_detach "$dev"; return 1; }
	if dd if="$dev" of=/dev/null bs=64k skip=1 count=1 iflag=direct status=none 2>/dev/null; then
		echo "read through a bad entry succeeded"
		qed_detach "$dev"
		return 1
	fi
	# Writes through it fail too, and leave the image alone.
	dd if=/dev/zero of="$dev" bs=4k seek=20 count=1 oflag=direct status=none 2>/dev/null && rc=1
	dd if="$dev" of="$WORK/c" bs=64k skip=2 count=1 iflag=direct status=none || rc=1
	qed_detach "$dev"
	[ -z "$rc" ] && [ "$(od -An -tx1 -N1 "$WORK/a" | tr -d ' ')" = 11 ] &&
		dmesg | grep -q "L2 entry .* offset not cluster-aligned"
}
check "bad_l2_entry_fails_only_its_io" t_bad_entry

# Errors: one line on stderr naming the cause, exit status 1.
one_line_error() {
	local err rc
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	echo "$* -> $rc: $err"
	[ $rc -eq 1 ] && [ "$(echo "$err" | wc -l)" -eq 1 ] && [ -n "$err" ]
}
t_errors() {
	echo junk >"$WORK/junk"
	one_line_error "$QEDCTL" attach "$WORK/junk" &&
	one_line_error "$QEDCTL" attach "$WORK/missing.qed" &&
	one_line_error "$QEDCTL" info "$WORK/junk" &&
	one_line_error "$QEDCTL" detach /dev/qed999 &&
	one_line_error "$QEDCTL" detach /dev/sda &&
	one_line_error "$QEDCTL" create -s 12Q "$WORK/x.qed" &&
	one_line_error "$QEDCTL" create -s 1G -c 3000 "$WORK/x.qed" &&
	one_line_error "$QEDCTL" create -s 1G "$img" &&
	one_line_error "$QEDCTL" frobnicate &&
	# Userspace says what the file is, not "see the kernel log".
	qemu-img create -q -f qcow2 "$WORK/q.qcow2" 1M &&
	one_line_error "$QEDCTL" attach "$WORK/q.qcow2" | grep "Invalid argument: not a QED image (qcow2)$" &&
	dd if=/dev/zero of="$WORK/raw.img" bs=64k count=1 status=none &&
	one_line_error "$QEDCTL" attach "$WORK/raw.img" | grep "not a QED image (raw data?)$"
}
check "errors_are_one_line_exit_1" t_errors

t_create_sizes() {
	local f="$WORK/s.qed"
	"$QEDCTL" create -s 1536K -c 4K -t 2 "$f" || return 1
	qemu-img info "$f" | grep -q 'virtual size: 1.5 MiB (1572864 bytes)' || return 1
	qemu-img check "$f" || return 1
	rm -f "$f"
	# Not a multiple of 512: rounded up, as qemu-img does.
	"$QEDCTL" create -s 1000 "$f" || return 1
	"$QEDCTL" info "$f" | grep -q '(1024 bytes)'
}
check "create_sizes_accepted_by_qemu" t_create_sizes

t_help() {
	"$QEDCTL" --help | grep -q '^usage: qedctl' && "$QEDCTL" attach --help | grep -q '^usage:' &&
		! "$QEDCTL" 2>/dev/null
}
check "help_and_usage" t_help

# Two devices on one image file would corrupt it: qedctl attaches what it
# is told, so the test only documents that each gets its own index.
t_two() {
	local a b c="$WORK/c.qed"
	"$QEDCTL" create -s 8M "$c" || return 1
	a=$(qed_attach "$img") || return 1
	b=$(qed_attach "$c") || { qed_detach "$a"; return 1; }
	[ "$a" != "$b" ] || return 1
	qed_detach "$a" && qed_detach "$b"
}
check "several_devices" t_two
# As losetup -d on a busy loop device: --lazy detaches at the last close.
t_lazy() {
	local dev end
	dev=$(qed_attach "$img") || return 1
	mkdir -p "$WORK/m"
	mkfs.ext4 -q -F "$dev" && mount "$dev" "$WORK/m" || return 1
	if "$QEDCTL" detach "$dev" 2>/dev/null; then
		echo "detach of a mounted device succeeded"
		return 1
	fi
	"$QEDCTL" detach --lazy "$dev" || return 1
	[ "$("$QEDCTL" list -n --raw -O AUTOCLEAR "$dev")" = 1 ] || { "$QEDCTL" list "$dev"; return 1; }
	umount "$WORK/m" || return 1
	# Gone soon after: a slow or loaded machine gets a minute.
	end=$((SECONDS + 60))
	while "$QEDCTL" list -n --raw -O NAME | grep -qx "$dev"; do
		[ "$SECONDS" -lt "$end" ] || { echo "$dev still attached 60 s after umount"; return 1; }
		sleep 0.1
	done
}
check "lazy_detach_at_umount" t_lazy

# losetup's spellings: -f, --show, -j (by inode, whatever the name), -a -J,
# a symlink for a device, -d going on past a bad device, -V, and an empty
# list that prints nothing.
t_losetup() {
	local dev dev2 free out rc=0
	[ -z "$("$QEDCTL" list)" ] || { echo "list with no device printed something"; return 1; }
	"$QEDCTL" -a || return 1
	free=$("$QEDCTL" -f) || return 1
	dev=$("$QEDCTL" -f --show "$img") || return 1
	[ "$dev" = "$free" ] || { echo "-f said $free, attach took $dev"; rc=1; }
	ln -f "$img" "$WORK/hardlink.qed"
	[ "$("$QEDCTL" -j "$WORK/hardlink.qed" -n --raw -O NAME)" = "$dev" ] || { echo "-j by inode"; rc=1; }
	cp "$img" "$WORK/copy.qed"
	[ -z "$("$QEDCTL" -j "$WORK/copy.qed")" ] || { echo "-j listed a copy"; rc=1; }
	# Without --show, losetup prints nothing.
	out=$("$QEDCTL" -r "$WORK/copy.qed") && [ -z "$out" ] || { echo "-r FILE: '$out'"; rc=1; }
	dev2=$("$QEDCTL" -j "$WORK/copy.qed" -n --raw -O NAME)
	[ -b "$dev2" ] || { echo "-j after attach: '$dev2'"; rc=1; }
	out=$("$QEDCTL" -a -J)
	[ "$(echo "$out" | jq -r '.qeddevices[] | "\(.name) \(.ro) \(.autoclear) \(."log-sec")"')" = \
	  "$dev false false 512
$dev2 true false 512" ] || { echo "$out"; rc=1; }
	ln -sf "$dev" "$WORK/by-link"
	[ "$("$QEDCTL" list -n --raw -O NAME "$WORK/by-link")" = "$dev" ] || { echo "symlink"; rc=1; }
	[ "$("$QEDCTL" -V | head -n1)" = "qedctl $(cat /sys/module/qedblk/version)" ] ||
		{ "$QEDCTL" -V; rc=1; }
	if "$QEDCTL" -d /dev/qed999 "$WORK/by-link" "$dev2" 2>/dev/null; then
		echo "-d with a bad device exited 0"
		rc=1
	fi
	[ -z "$("$QEDCTL" list)" ] || { echo "-d stopped at the bad device"; "$QEDCTL" -D; rc=1; }
	# attach --verbose names the chain it resolved.
	"$QEDCTL" create -b u.qed -F qed "$WORK/over.qed" || rc=1
	out=$("$QEDCTL" attach -r -v "$WORK/over.qed" 2>&1 >/dev/null)
	[ "$out" = "$WORK/over.qed: backing file 1: $img (qed)" ] || { echo "-v: '$out'"; rc=1; }
	"$QEDCTL" -D || rc=1
	rm -f "$WORK/hardlink.qed" "$WORK/copy.qed" "$WORK/by-link" "$WORK/over.qed"
	return $rc
}
check "losetup_dialect" t_losetup

# -b 4096: 4 KiB logical blocks, the data where QEMU reads it; an image
# size that is no multiple of it is refused, from userspace.
t_sector_size() {
	local dev out rc=0 odd="$WORK/odd.qed"
	dev=$(qed_attach "$img" -b 4096) || return 1
	[ "$(blockdev --getss "$dev")" = 4096 ] || rc=1
	[ "$("$QEDCTL" list -n --raw -O LOG-SEC "$dev")" = 4096 ] || rc=1
	if dd if=/dev/zero of="$dev" bs=512 count=1 oflag=direct status=none 2>/dev/null; then
		echo "a 512-byte direct write went through"
		rc=1
	fi
	dd if=/dev/urandom of="$WORK/pattern" bs=4096 count=16 status=none
	dd if="$WORK/pattern" of="$dev" bs=4096 seek=3 oflag=direct status=none || rc=1
	qed_detach "$dev" || return 1
	qemu-io -c 'read -v 12288 65536' -r "$img" >/dev/null || rc=1
	qemu-img convert -O raw "$img" "$WORK/raw" &&
		cmp -n 65536 -i 12288:0 "$WORK/raw" "$WORK/pattern" || { echo "data differs"; rc=1; }
	qemu-img create -q -f qed "$odd" 1026048
	if out=$("$QEDCTL" attach -b 4096 "$odd" 2>&1); then
		echo "attached a 1026048-byte image with 4 KiB sectors"
		qed_detach "$out"
		rc=1
	fi
	echo "$out" | grep -q "not a multiple of the 4096-byte sector size" || { echo "$out"; rc=1; }
	rm -f "$WORK/raw" "$WORK/pattern" "$odd"
	return $rc
}
check "sector_size_4096" t_sector_size

# Partitions are looked for by default, and not with --no-partscan.
t_partscan() {
	local dev pimg="$WORK/part.qed" rc=0
	qemu-img create -q -f qed "$pimg" 8M
	# One MBR partition of type 0x83 from sector 2048, 4096 sectors long.
	dev=$(qed_attach "$pimg") || return 1
	printf '\0\0\0\0\x83\0\0\0\0\x08\0\0\0\x10\0\0' |
		dd of="$dev" bs=1 seek=446 conv=notrunc status=none
	printf '\x55\xaa' | dd of="$dev" bs=1 seek=510 conv=notrunc status=none
	qed_detach "$dev" || return 1
	dev=$(qed_attach "$pimg") || return 1
	[ -e "/sys/block/${dev#/dev/}/${dev#/dev/}p1" ] || { echo "no ${dev}p1"; rc=1; }
	[ "$("$QEDCTL" list -n --raw -O PARTSCAN "$dev")" = 1 ] || rc=1
	qed_detach "$dev" || return 1
	dev=$(qed_attach "$pimg" --no-partscan) || return 1
	[ -e "/sys/block/${dev#/dev/}/${dev#/dev/}p1" ] && { echo "partitions scanned"; rc=1; }
	[ "$("$QEDCTL" list -n --raw -O PARTSCAN "$dev")" = 0 ] || rc=1
	qed_detach "$dev" || return 1
	rm -f "$pimg"
	return $rc
}
check "partscan_and_no_partscan" t_partscan

# As losetup --direct-io=on|off on an attached loop device: the switch is
# seen in list, and what was written through the page cache before it and
# directly after it is all in the image, by QEMU.
t_dio_switch() {
	local dev rc=0
	qemu-img create -q -f qed "$WORK/dio.qed" 16M
	dev=$(qed_attach "$WORK/dio.qed") || return 1
	dd if=/dev/urandom of="$WORK/pattern" bs=64k count=32 status=none
	dd if="$WORK/pattern" of="$dev" bs=64k count=16 status=none || rc=1
	"$QEDCTL" --direct-io=on "$dev" || rc=1
	[ "$("$QEDCTL" list -n --raw -O DIO "$dev")" = 1 ] || { echo "DIO not on"; rc=1; }
	dd if="$WORK/pattern" of="$dev" bs=64k skip=16 seek=16 count=16 oflag=direct status=none || rc=1
	"$QEDCTL" set --direct-io=off "$dev" || rc=1
	[ "$("$QEDCTL" list -n --raw -O DIO "$dev")" = 0 ] || { echo "DIO not off"; rc=1; }
	cmp -n 2097152 "$dev" "$WORK/pattern" || rc=1
	qed_detach "$dev" || return 1
	qemu-img convert -O raw "$WORK/dio.qed" "$WORK/dio.raw" &&
		cmp -n 2097152 "$WORK/dio.raw" "$WORK/pattern" || { echo "QEMU reads other data"; rc=1; }
	rm -f "$WORK/dio.qed" "$WORK/dio.raw" "$WORK/pattern"
	return $rc
}
check "direct_io_switched_while_attached" t_dio_switch

# An image that cannot be written: attach falls back to read-only, as
# losetup; a qedtab entry, which did not ask for ro, fails instead (an early
# boot's read-only '/' must not leave a read-only device behind).
t_qedtab_rw_or_fail() {
	local ro="$WORK/ro" dev out rc=0
	mkdir -p "$WORK/rw" "$ro"
	qemu-img create -q -f qed "$WORK/rw/e.qed" 16M || return 1
	mount --bind "$WORK/rw" "$ro" && mount -o remount,ro,bind "$ro" || return 1
	printf '%s\n' "$ro/e.qed" >"$WORK/qedtab"
	if out=$(QEDCTL_QEDTAB="$WORK/qedtab" "$QEDCTL" attach --qedtab-entry "$ro/e.qed" 2>&1); then
		echo "qedtab entry attached: $out"
		"$QEDCTL" detach --all
		rc=1
	fi
	dev=$(qed_attach "$ro/e.qed" 2>/dev/null) || rc=1
	[ -n "$dev" ] && { sysfs_is "$dev" read_only 1 || rc=1; qed_detach "$dev"; }
	umount "$ro"
	return $rc
}
check "qedtab_entry_never_falls_back_to_read_only" t_qedtab_rw_or_fail
ktap_finished
