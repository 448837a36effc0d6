#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live snapshots (qedctl snapshot): a mounted ext4 or xfs, written to the
# whole time, is switched to a new overlay; the old image then holds the
# file system exactly as of the snapshot, clean, and can be checked by
# QEMU, attached read-only elsewhere (ext4) or copied and mounted (xfs,
# whose freeze leaves its log to replay) while the device goes on; QEMU
# reads the overlay chain as the device does.  Chains grow to the depth
# limit, a verified direct-I/O workload runs across snapshots, and what
# must be refused is.
. "$(dirname "$0")/lib.sh"
require qemu-img qemu-io sha256sum mkfs.ext4 mkfs.xfs e2fsck xfs_repair fio

ktap_print_header
ktap_set_plan 5

MNT="$WORK/mnt"
OLD="$WORK/old"
mkdir -p "$MNT" "$OLD"

# writer DIR LOG: files DIR/w.N, each written under a temporary name and
# renamed into place, "w.N SUM" appended to LOG once it is; until killed.
writer() {
	local dir=$1 log=$2 i=0 s
	while :; do
		dd if=/dev/urandom of="$dir/.tmp" bs=64k count=$((i % 7 + 1)) status=none || return
		s=$(sum "$dir/.tmp")
		mv "$dir/.tmp" "$dir/w.$i" || return
		echo "w.$i $s" >>"$log"
		i=$((i + 1))
	done
}

# verify_old DIR LOG SUMS: DIR (the old image, mounted) holds every file of
# SUMS as it was, w.0 ... w.K for some K with the sums LOG gives them, and
# nothing else.
verify_old() {
	local dir=$1 log=$2 sums=$3 k f n
	(cd "$dir" && sha256sum --quiet -c "$sums") || { echo "the tree before differs"; return 1; }
	k=$(find "$dir/w" -name 'w.*' | wc -l)
	[ "$k" -gt 0 ] || { echo "no file of the writer in the old image"; return 1; }
	for ((n = 0; n < k; n++)); do
		f="$dir/w/w.$n"
		[ -f "$f" ] || { echo "w.$n missing, but $k files there"; return 1; }
		grep -qx "w.$n $(sum "$f")" "$log" || { echo "w.$n is not as written"; return 1; }
	done
	[ ! -e "$dir/after" ] || { echo "a file written after the snapshot is there"; return 1; }
	# .tmp: the file the writer had begun when the file system froze.
	[ "$(find "$dir" -type f ! -name .tmp | wc -l)" -eq "$(($(wc -l <"$sums") + k))" ] ||
		{ echo "unexpected files"; find "$dir" -type f; return 1; }
	echo "old image: the tree and $k files of the writer"
}

# fs_check FS DEV: the file system on DEV needs no repair and no recovery;
# if it does, the checker's first words on why.
fs_check() {
	local out rc
	case $1 in
	ext4) out=$(e2fsck -fn "$2" 2>&1) ;;
	xfs) out=$(xfs_repair -n "$2" 2>&1) ;;
	esac
	rc=$?
	[ $rc -eq 0 ] && return 0
	echo "$1 check of the old image: exit $rc"
	echo "$out" | grep -v -e '^Pass' -e '^Phase' -e '^ *- ' | head -n 12
	return 1
}

# live_snapshot FS: see the top of the file.
t_live_snapshot() {
	local fs=$1 dir="$WORK/$1" dev old pid sum_dev n
	mkdir -p "$dir"
	qemu-img create -q -f qed "$dir/base.qed" 512M || return 1
	dev=$(qed_attach "$dir/base.qed") || return 1
	case $fs in
	ext4) mkfs.ext4 -q -F "$dev" && mount "$dev" "$MNT" || return 1 ;;
	xfs) mkfs.xfs -q -f "$dev" && mount "$dev" "$MNT" || return 1 ;;
	esac
	mkdir -p "$MNT/t/a" "$MNT/w"
	for n in 1 2 3 4 5; do
		dd if=/dev/urandom of="$MNT/t/a/f$n" bs=1K count=$((n * 300)) status=none ||
			return 1
	done
	(cd "$MNT" && find t -type f | sort | xargs sha256sum) >"$dir/tree.sums"
	: >"$dir/w.log"
	writer "$MNT/w" "$dir/w.log" &
	pid=$!
	sleep 2
	"$QEDCTL" snapshot "$dev" "$dir/snap.qed" || { kill $pid; wait $pid; return 1; }
	kill $pid
	wait $pid
	echo later >"$MNT/after" && rm "$MNT/t/a/f1" && sync || return 1

	# The device goes on in the overlay, the old image is only read.
	sysfs_is "$dev" backing_file "$dir/snap.qed" || return 1
	sysfs_is "$dev" base_file "$dir/base.qed" || return 1
	qemu-img info -U "$dir/snap.qed" | grep -q '^backing file: base.qed' ||
		{ qemu-img info -U "$dir/snap.qed"; return 1; }
	# Marked clean before the switch; QEMU's read locks on it are not
	# refused: the device holds a reader's.
	! image_dirty "$dir/base.qed" || { echo "the old image is marked dirty"; return 1; }
	qemu-img check "$dir/base.qed" || return 1
	# And a writer's are: nothing may change the old image under us.
	if qemu-io -c 'write -P 0x66 0 4k' "$dir/base.qed"; then
		echo "QEMU could write to the old image"
		return 1
	fi
	if [ "$fs" = ext4 ]; then
		# A frozen ext4 has its journal checkpointed: the old image
		# itself, read-only, is clean and mounts without replay.
		old=$(qed_attach "$dir/base.qed" -r) || return 1
		fs_check "$fs" "$old" || { qed_detach "$old"; return 1; }
		mount -o ro,noload "$old" "$OLD" || { qed_detach "$old"; return 1; }
	else
		# A frozen xfs keeps its log for recovery at mount, which a
		# read-only device cannot do: a backup copy of the old image
		# is mounted, as one would restore it (nouuid: the device has
		# the same file system mounted).
		qemu-img convert -O qed "$dir/base.qed" "$dir/copy.qed" || return 1
		old=$(qed_attach "$dir/copy.qed") || return 1
		mount -o nouuid "$old" "$OLD" || { qed_detach "$old"; return 1; }
	fi
	verify_old "$OLD" "$dir/w.log" "$dir/tree.sums"
	local rc=$?
	umount "$OLD"
	[ "$fs" = ext4 ] || fs_check "$fs" "$old" || rc=1
	qed_detach "$old" || return 1
	[ $rc -eq 0 ] || return 1

	umount "$MNT" || return 1
	sum_dev=$(dev_sum "$dev")
	qed_detach "$dev" || return 1
	qemu_check_clean "$dir/snap.qed" && qemu_check_clean "$dir/base.qed" || return 1
	[ "$(qemu_raw_sum "$dir/snap.qed")" = "$sum_dev" ] ||
		{ echo "QEMU reads the overlay chain otherwise"; return 1; }
	rm -rf "$dir"
}
check live_snapshot_ext4_under_writes t_live_snapshot ext4
check live_snapshot_xfs_under_writes t_live_snapshot xfs

# fio with verification across three snapshots of the raw device: every
# block reads back as written, wherever in the chain it now lives.
t_fio_across() {
	local dir="$WORK/fio" dev pid n sum_dev rc=0
	mkdir -p "$dir"
	qemu-img create -q -f qed "$dir/s0.qed" 64M || return 1
	dev=$(qed_attach "$dir/s0.qed" --direct-io) || return 1
	fio_verify "$dev" --rw=randwrite --bs=4k --iodepth=8 --size=48M --time_based \
		--runtime=5 --verify_backlog=256 >"$dir/fio.out" 2>&1 &
	pid=$!
	for n in 1 2 3; do
		sleep 1
		"$QEDCTL" snapshot --no-freeze -q "$dev" "$dir/s$n.qed" || rc=1
	done
	wait $pid || { cat "$dir/fio.out"; rc=1; }
	sum_dev=$(dev_sum "$dev")
	qed_detach "$dev" || return 1
	[ $rc -eq 0 ] || return 1
	for n in 0 1 2 3; do
		qemu_check_clean "$dir/s$n.qed" >/dev/null || { echo "s$n.qed"; return 1; }
	done
	[ "$(qemu_raw_sum "$dir/s3.qed")" = "$sum_dev" ] || { echo "QEMU reads otherwise"; return 1; }
	rm -rf "$dir"
}
check fio_verify_across_snapshots t_fio_across

# Snapshots, each followed by a write of its own to the new overlay, up to
# QEDBLK_MAX_CHAIN backing files; one more is refused and leaves no file
# behind; each image of the chain holds the writes made up to the next
# snapshot, and none after.
t_chain_limit() {
	local dir="$WORK/chain" dev n sum_dev
	mkdir -p "$dir"
	qemu-img create -q -f qed "$dir/s0.qed" 32M || return 1
	dev=$(qed_attach "$dir/s0.qed") || return 1
	for n in $(seq 1 16); do
		"$QEDCTL" snapshot -q "$dev" "$dir/s$n.qed" || return 1
		printf 'snapshot %02d' "$n" | dd of="$dev" bs=512 seek=$((n * 2048)) conv=sync \
			oflag=direct status=none || return 1
	done
	sysfs_is "$dev" base_file "$dir/s15.qed" || return 1
	[ "$(wc -l <"/sys/block/${dev#/dev/}/qed/base_chain")" -eq 16 ] || return 1
	if "$QEDCTL" snapshot -q "$dev" "$dir/s17.qed"; then
		echo "a 17th backing file was taken"
		return 1
	fi
	[ ! -e "$dir/s17.qed" ] || { echo "the refused overlay was left behind"; return 1; }
	echo tail | dd of="$dev" bs=512 seek=100 conv=sync oflag=direct status=none || return 1
	sum_dev=$(dev_sum "$dev")
	qed_detach "$dev" || return 1
	[ "$(qemu_raw_sum "$dir/s16.qed")" = "$sum_dev" ] || { echo "QEMU reads otherwise"; return 1; }
	# s8.qed, as QEMU reads it, has the writes of snapshots 1..8 and not 9.
	qemu-img convert -O raw "$dir/s8.qed" "$dir/s8.raw" || return 1
	if ! dd if="$dir/s8.raw" bs=512 skip=$((8 * 2048)) count=1 status=none |
		grep -q 'snapshot 08' ||
		dd if="$dir/s8.raw" bs=512 skip=$((9 * 2048)) count=1 status=none |
		grep -q 'snapshot 09'; then
		echo "s8.qed is not the image as of snapshot 8"
		return 1
	fi
	rm -rf "$dir"
}
check chain_to_the_depth_limit t_chain_limit

# What qedctl refuses before it asks: an overlay name that exists (left as
# it is), a read-only device (no file created).
t_refusals() {
	local dir="$WORK/ref" dev
	mkdir -p "$dir"
	qemu-img create -q -f qed "$dir/base.qed" 16M || return 1
	echo precious >"$dir/exists"
	dev=$(qed_attach "$dir/base.qed") || return 1
	if "$QEDCTL" snapshot -q "$dev" "$dir/exists"; then
		echo "an existing file was taken as the overlay"
		qed_detach "$dev"
		return 1
	fi
	[ "$(cat "$dir/exists")" = precious ] || { echo "the existing file changed"; return 1; }
	qed_detach "$dev" || return 1
	dev=$(qed_attach "$dir/base.qed" -r) || return 1
	if "$QEDCTL" snapshot -q "$dev" "$dir/ro.qed"; then
		echo "a read-only device was switched"
		qed_detach "$dev"
		return 1
	fi
	qed_detach "$dev" || return 1
	[ ! -e "$dir/ro.qed" ] || { echo "an overlay was left behind"; return 1; }
	rm -rf "$dir"
}
check refusals_leave_files_alone t_refusals
