#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Backing chains: overlays made by qemu-img over raw and QED bases read
# through /dev/qedN exactly as QEMU reads them; writes through the overlay
# copy what they must from the backing chain and never touch the base;
# write-zeroes makes zero clusters; broken chains are refused by name.
. "$(dirname "$0")/lib.sh"
require qemu-img qemu-io sha256sum cmp blkdiscard mkfs.ext4 e2fsck

ktap_print_header
ktap_set_plan 15

B="$WORK/b"
mkdir -p "$B/sub"

# Deterministic but irregular bytes: $1 MiB of them, seeded by $2.
pattern() {
	local mib=$1 seed=$2
	awk -v n="$((mib * 1024))" -v s="$seed" 'BEGIN {
		srand(s)
		for (i = 0; i < n; i++) {
			line = ""
			for (j = 0; j < 16; j++)
				line = line sprintf("%08x%08x", int(rand() * 4294967295), i * 16 + j)
			printf "%s", substr(line, 1, 1024)
		}
	}'
}

pattern 6 1 >"$B/base.raw"
base_raw_sum=$(sum "$B/base.raw")

t_raw_two_level() {
	qemu-img create -q -f qed -b base.raw -F raw "$B/raw1.qed" 8M || return 1
	qemu-io -f qed -c 'write -P 0x11 64k 64k' -c 'write -P 0x12 200k 5k' \
		-c 'write -z 1M 128k' -c 'write -P 0x13 7M 1M' "$B/raw1.qed" >/dev/null || return 1
	same_as_qemu "$B/raw1.qed"
}
check raw_base_two_levels_base_shorter t_raw_two_level

t_qed_three_level() {
	# Relative names throughout, resolved from each image's own directory.
	qemu-img create -q -f qed -o cluster_size=16k -b ../base.raw -F raw \
		"$B/sub/mid.qed" 7M || return 1
	qemu-io -f qed -c 'write -P 0x21 0 100k' -c 'write -z 2M 64k' \
		-c 'write -P 0x22 6400k 700k' "$B/sub/mid.qed" >/dev/null || return 1
	qemu-img create -q -f qed -b sub/mid.qed -F qed "$B/top.qed" 10M || return 1
	qemu-io -f qed -c 'write -P 0x31 32k 64k' -c 'write -z 1088k 64k' \
		-c 'write -P 0x32 9M 512k' "$B/top.qed" >/dev/null || return 1
	(cd / && same_as_qemu "$B/top.qed")
}
check qed_base_three_levels_relative_names t_qed_three_level

t_absolute() {
	qemu-img create -q -f qed -b "$B/sub/mid.qed" -F qed "$B/sub/abs.qed" 7M || return 1
	qemu-io -f qed -c 'write -P 0x41 3M 3k' "$B/sub/abs.qed" >/dev/null || return 1
	(cd "$B/sub" && same_as_qemu abs.qed)
}
check absolute_backing_name t_absolute

t_probe() {
	local dev chain
	# A QED backing file is named without NO_PROBE, so attach probes it.
	"$QEDCTL" create -b sub/mid.qed -F qed "$B/probed.qed" || return 1
	"$QEDCTL" info "$B/probed.qed" | grep -q "^backing 1: .*sub/mid.qed (qed, probed" ||
		{ "$QEDCTL" info "$B/probed.qed"; return 1; }
	"$QEDCTL" info "$B/probed.qed" | grep -q "^backing 2: .*base.raw (raw, declared" ||
		{ echo "the raw base is not shown as declared raw"; return 1; }
	same_as_qemu "$B/probed.qed" || return 1
	dev=$(qed_attach "$B/probed.qed" -r) || return 1
	chain=$(cat "/sys/block/${dev#/dev/}/qed/base_chain")
	qed_detach "$dev"
	[ "$chain" = "qed $(realpath "$B/sub/mid.qed")
raw $(realpath "$B/base.raw")" ] || { echo "base_chain: $chain"; return 1; }
}
check probed_qed_base_and_sysfs_chain t_probe

t_create() {
	local dev bf
	"$QEDCTL" create -b base.raw -F raw "$B/created.qed" || return 1
	# Its size defaults to the backing file's; QEMU reads it as we wrote it.
	[ "$(qemu-img info --output=json "$B/created.qed" |
		awk -F'[:,]' '/"virtual-size"/ { gsub(/ /, "", $2); print $2 }')" = \
		"$(stat -c %s "$B/base.raw")" ] || { echo "size not the base's"; return 1; }
	qemu-img info "$B/created.qed" | grep -q "^backing file format: raw" || return 1
	qemu-img check -q "$B/created.qed" || return 1
	dev=$(qed_attach "$B/created.qed") || return 1
	bf=$(cat "/sys/block/${dev#/dev/}/qed/base_file")
	cmp "$dev" "$B/base.raw" || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	[ "$bf" = "$(realpath "$B/base.raw")" ] || { echo "base_file: $bf"; return 1; }
}
check qedctl_create_overlay_qemu_accepts t_create

# Writes through /dev/qedN and the same writes into a raw reference.
# write_both DEV REF OFFSET BYTES PATTERN-SEED
write_both() {
	local dev=$1 ref=$2 off=$3 len=$4 seed=$5
	pattern 1 "$seed" | head -c "$len" >"$WORK/chunk" || return 1
	dd if="$WORK/chunk" of="$dev" bs=512 seek=$((off / 512)) oflag=direct \
		conv=notrunc status=none || return 1
	dd if="$WORK/chunk" of="$ref" bs=512 seek=$((off / 512)) conv=notrunc status=none
}

mid_sum=

t_writes() {
	local img="$B/top.qed" ref="$WORK/ref.raw" dev
	mid_sum=$(sum "$B/sub/mid.qed")
	qemu-img convert -O raw "$img" "$ref" || return 1
	dev=$(qed_attach "$img") || return 1
	# partial cluster over backing data, over a zero cluster (zeros must
	# fill the rest, not backing data), over the backing file's end,
	# whole clusters, a write across clusters of several kinds.
	write_both "$dev" "$ref" 4096 4096 51 &&
	write_both "$dev" "$ref" $((1088 * 1024 + 512)) 1024 52 &&
	write_both "$dev" "$ref" $((6 * 1024 * 1024 + 8192)) 12288 53 &&
	write_both "$dev" "$ref" $((2 * 1024 * 1024)) $((128 * 1024)) 54 &&
	write_both "$dev" "$ref" $((3 * 1024 * 1024 - 3072)) $((200 * 1024)) 55 &&
	write_both "$dev" "$ref" $((10 * 1024 * 1024 - 512)) 512 56 || { qed_detach "$dev"; return 1; }
	sync
	cmp "$dev" "$ref" || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	qemu-img compare -q -f qed -F raw "$img" "$ref" || { echo "qemu-img compare differs"; return 1; }
	qemu_check_clean "$img" || return 1
	[ "$(sum "$B/base.raw")" = "$base_raw_sum" ] || { echo "base.raw changed"; return 1; }
	[ "$(sum "$B/sub/mid.qed")" = "$mid_sum" ] || { echo "mid.qed changed"; return 1; }
}
check writes_over_backing_and_zero_clusters t_writes

t_reattach() {
	local dev
	dev=$(qed_attach "$B/top.qed" -r) || return 1
	cmp "$dev" "$WORK/ref.raw"
	local rc=$?
	qed_detach "$dev"
	return $rc
}
check writes_survive_reattach t_reattach

zero_clusters() {
	"$QEDCTL" info --json "$1" | sed 's/.*"zero-clusters": \([0-9]*\).*/\1/'
}
data_clusters() {
	"$QEDCTL" info --json "$1" | sed 's/.*"data-clusters": \([0-9]*\).*/\1/'
}

t_write_zeroes() {
	local img="$B/wz.qed" ref="$WORK/wz.raw" dev z0 d0 z1 d1
	qemu-img create -q -f qed -b base.raw -F raw "$B/wz.qed" 8M || return 1
	qemu-io -f qed -c 'write -P 0x61 1M 256k' "$img" >/dev/null || return 1
	qemu-img convert -O raw "$img" "$ref" || return 1
	z0=$(zero_clusters "$img")
	d0=$(data_clusters "$img")
	dev=$(qed_attach "$img") || return 1
	# 4 whole unallocated clusters over backing data, 2 whole data
	# clusters, and partial clusters at both ends of a range.
	blkdiscard -z -o $((3 * 1024 * 1024)) -l $((256 * 1024)) "$dev" &&
	blkdiscard -z -o $((1024 * 1024)) -l $((128 * 1024)) "$dev" &&
	blkdiscard -z -o $((5 * 1024 * 1024 + 4096)) -l $((128 * 1024)) "$dev" ||
		{ qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	dd if=/dev/zero of="$ref" bs=4096 seek=768 count=64 conv=notrunc status=none
	dd if=/dev/zero of="$ref" bs=4096 seek=256 count=32 conv=notrunc status=none
	dd if=/dev/zero of="$ref" bs=4096 seek=1281 count=32 conv=notrunc status=none
	qemu-img compare -q -f qed -F raw "$img" "$ref" || { echo "qemu-img compare differs"; return 1; }
	qemu_check_clean "$img" || return 1
	z1=$(zero_clusters "$img")
	d1=$(data_clusters "$img")
	# 4 zero clusters at 3M plus the one whole cluster in the last range;
	# the whole data clusters stay allocated (zeroed in place, as QEMU);
	# the two partial ends over backing data are allocated and written.
	[ "$z1" -eq $((z0 + 5)) ] || { echo "zero clusters $z0 -> $z1, want +5"; return 1; }
	[ "$d1" -eq $((d0 + 2)) ] || { echo "data clusters $d0 -> $d1, want +2"; return 1; }
	[ "$(sum "$B/base.raw")" = "$base_raw_sum" ] || { echo "base.raw changed"; return 1; }
}
check write_zeroes_become_zero_clusters t_write_zeroes

t_write_zeroes_nobacking() {
	local img="$WORK/wzn.qed" dev
	qemu-img create -q -f qed "$img" 4M || return 1
	dev=$(qed_attach "$img") || return 1
	blkdiscard -z "$dev" || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	[ "$(zero_clusters "$img")" -eq 64 ] || { echo "zero clusters: $(zero_clusters "$img")"; return 1; }
	[ "$(data_clusters "$img")" -eq 0 ] || return 1
	qemu_check_clean "$img"
}
check write_zeroes_without_backing t_write_zeroes_nobacking

# refused NAME IMAGE MESSAGE-REGEX: qedctl attach fails and says why.
refused() {
	local img=$1 re=$2 out
	if out=$("$QEDCTL" attach "$img" 2>&1); then
		echo "attached: $out"
		"$QEDCTL" detach "$out"
		return 1
	fi
	echo "$out"
	echo "$out" | grep -Eq "$re" || { echo "message does not match /$re/"; return 1; }
}

t_loop() {
	qemu-img create -q -f qed -u -b loop-b.qed -F qed "$B/loop-a.qed" 1M &&
	qemu-img create -q -f qed -u -b loop-a.qed -F qed "$B/loop-b.qed" 1M || return 1
	refused "$B/loop-a.qed" "loop-a.qed.*loop-a.qed again: the chain loops"
}
check refused_chain_loop t_loop

t_self() {
	qemu-img create -q -f qed -u -b self.qed -F qed "$B/self.qed" 1M || return 1
	refused "$B/self.qed" "self.qed is .*self.qed again: the chain loops"
}
check refused_image_naming_itself t_self

t_deep() {
	local i
	qemu-img create -q -f qed "$B/deep0.qed" 1M || return 1
	for i in $(seq 1 17); do
		qemu-img create -q -f qed -u -b "deep$((i - 1)).qed" -F qed "$B/deep$i.qed" 1M ||
			return 1
	done
	refused "$B/deep17.qed" "deeper than 16" || return 1
	# Sixteen backing files are allowed.
	same_as_qemu "$B/deep16.qed"
}
check refused_chain_deeper_than_16 t_deep

t_missing() {
	qemu-img create -q -f qed -u -b no-such-base.raw -F raw "$B/missing.qed" 1M || return 1
	refused "$B/missing.qed" "no-such-base.raw: No such file or directory"
}
check refused_missing_backing_file t_missing

t_other_format() {
	qemu-img create -q -f qcow2 "$B/base.qcow2" 1M || return 1
	qemu-img create -q -f qed -u -b base.qcow2 -F qcow2 "$B/onqcow2.qed" 1M || return 1
	refused "$B/onqcow2.qed" "base.qcow2 is a qcow2 image; backing files must be QED or raw"
}
check refused_qcow2_backing_file t_other_format

# ext4 on an overlay of a base that already holds an ext4 file system.
t_ext4() {
	local base="$B/fs.raw" ov="$B/fs.qed" dev mnt="$WORK/mnt" tree="$WORK/tree" before
	mkdir -p "$tree/d" "$mnt"
	pattern 1 71 >"$tree/keep"
	pattern 2 72 >"$tree/change"
	pattern 1 73 >"$tree/d/remove"
	mkfs.ext4 -q -F -b 4096 -d "$tree" "$base" 64M || return 1
	before=$(sum "$base")
	qemu-img create -q -f qed -b fs.raw -F raw "$ov" || return 1
	dev=$(qed_attach "$ov") || return 1
	mount -t ext4 "$dev" "$mnt" || { qed_detach "$dev"; return 1; }
	cmp "$mnt/keep" "$tree/keep" && cmp "$mnt/d/remove" "$tree/d/remove" ||
		{ umount "$mnt"; qed_detach "$dev"; return 1; }
	pattern 3 74 >"$mnt/new"
	pattern 1 75 | dd of="$mnt/change" bs=4096 seek=100 conv=notrunc status=none
	rm "$mnt/d/remove"
	umount "$mnt" || { qed_detach "$dev"; return 1; }
	e2fsck -fn "$dev" || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	qemu_check_clean "$ov" || return 1
	[ "$(sum "$base")" = "$before" ] || { echo "the base changed"; return 1; }

	# The overlay holds the new tree...
	pattern 3 74 >"$WORK/want-new"
	cp "$tree/change" "$WORK/want-change"
	pattern 1 75 | dd of="$WORK/want-change" bs=4096 seek=100 conv=notrunc status=none
	dev=$(qed_attach "$ov" -r) || return 1
	mount -t ext4 -o ro,noload "$dev" "$mnt" || { qed_detach "$dev"; return 1; }
	cmp "$mnt/new" "$WORK/want-new" && cmp "$mnt/change" "$WORK/want-change" &&
		cmp "$mnt/keep" "$tree/keep" && [ ! -e "$mnt/d/remove" ]
	local rc=$?
	umount "$mnt"
	qed_detach "$dev"
	[ $rc -eq 0 ] || { echo "the overlay's tree is wrong"; return 1; }
	# ...and the base still mounts with the old one.
	e2fsck -fn "$base" >/dev/null || { echo "base fsck"; return 1; }
	mount -t ext4 -o loop,ro "$base" "$mnt" || return 1
	cmp "$mnt/change" "$tree/change" && cmp "$mnt/d/remove" "$tree/d/remove" && [ ! -e "$mnt/new" ]
	rc=$?
	umount "$mnt"
	return $rc
}
check ext4_on_overlay_of_ext4_base t_ext4
ktap_finished
