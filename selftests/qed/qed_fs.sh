#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Real file systems on /dev/qedN: make, mount, fill with a tree of files,
# unmount, detach, attach again, verify every file, fsck, and let QEMU
# check the image.  The image itself lives on ext4 and on xfs.
. "$(dirname "$0")/lib.sh"
require qemu-img sha256sum mkfs.ext4 mkfs.xfs e2fsck xfs_repair fio

# fs where-the-image-lives cluster [attach flag]
# A file system over one of its own kind, with direct I/O, is where
# qedblk_queue_rq() issuing kiocbs itself meets the submitter's locks:
# lockdep in the debug lane sees both instances.
cases=(
	"ext4 $SCRATCH 64k --direct-io"
	"xfs $SCRATCH_XFS 64k --direct-io"
	"ext4 $SCRATCH_XFS 4k"
	"xfs $SCRATCH 1M"
)
ktap_print_header
ktap_set_plan $((${#cases[@]} + 1))

MNT="$WORK/mnt"
mkdir -p "$MNT"

fill_tree() {
	local i d
	RANDOM=42
	for d in a b c/d c/e; do
		mkdir -p "$MNT/$d"
		for i in $(seq 12); do
			dd if=/dev/urandom of="$MNT/$d/f$i" bs=1K count=$((RANDOM % 700 + 1)) \
				status=none || return 1
		done
	done
	dd if=/dev/urandom of="$MNT/big" bs=1M count=24 status=none || return 1
	(cd "$MNT" && find . -type f | sort | xargs sha256sum) >"$WORK/tree.sums"
}

n=0
for c in "${cases[@]}"; do
	read -r fs where cs flag <<<"$c"
	n=$((n + 1))
	img="$where/fs-$n-$$.qed"
	t() {
		local dev
		# mkfs.xfs wants more than 300 MB.
		qemu-img create -q -f qed -o cluster_size="$cs" "$img" 512M || return 1
		# shellcheck disable=SC2086 # the flag, or nothing
		dev=$(qed_attach "$img" $flag) || return 1
		if [ "$fs" = ext4 ]; then
			mkfs.ext4 -q -F "$dev" || return 1
		else
			mkfs.xfs -q -f "$dev" || return 1
		fi
		mount "$dev" "$MNT" || return 1
		fill_tree || return 1
		sync
		umount "$MNT" || return 1
		qed_detach "$dev" || return 1
		qemu_check_clean "$img" || return 1

		# shellcheck disable=SC2086
		dev=$(qed_attach "$img" $flag) || return 1
		mount "$dev" "$MNT" || return 1
		(cd "$MNT" && sha256sum -c --quiet "$WORK/tree.sums") || { umount "$MNT"; return 1; }
		rm -rf "$MNT/a" && dd if=/dev/urandom of="$MNT/c/new" bs=64K count=50 status=none
		umount "$MNT" || return 1
		if [ "$fs" = ext4 ]; then
			e2fsck -fn "$dev" || return 1
		else
			xfs_repair -n "$dev" || return 1
		fi
		qed_detach "$dev" || return 1
		qemu_check_clean "$img"
	}
	check "${fs}_on_qed_${cs}_image_on_$(stat -f -c %T "$where" | cut -d/ -f1)${flag:+_direct_io}" t
	# Whatever t left behind, the next case starts clean.
	umount "$MNT" 2>/dev/null
	"$QEDCTL" detach --all 2>/dev/null
	rm -f "$img"
done

# qed on a file on ext4 on qed, both with direct I/O.  The upper device's
# queue_rq issues to ext4, whose bios reach the lower device's queue_rq
# from inside that issue (a noio scope); the lower one hands them to its
# worker rather than stack a second issue on the same stack.  fio writes
# and verifies at depths 1 and 16, first allocating, then over what it
# wrote (issued by the upper queue_rq itself); QEMU checks both images.
stack_fio() {
	fio_verify "$1" --rw=randwrite --bs=4k-64k --iodepth="$2" --size=32M --offset="$3"
}
t_stacked() {
	local lower="$SCRATCH/stack-$$.qed" upper="$MNT/upper.qed" lo up qd w rc=0
	qemu-img create -q -f qed "$lower" 512M || return 1
	lo=$(qed_attach "$lower" --direct-io) || return 1
	mkfs.ext4 -q -F "$lo" && mount "$lo" "$MNT" || { qed_detach "$lo"; return 1; }
	if qemu-img create -q -f qed "$upper" 256M && up=$(qed_attach "$upper" --direct-io); then
		for qd in 1 16; do
			stack_fio "$up" "$qd" $((qd * 2))M || rc=1
			stack_fio "$up" "$qd" $((qd * 2))M || rc=1
		done
		w=$(cat "/sys/block/${up#/dev/}/qed/inline_requests") || rc=1
		echo "upper device: ${w:-?} requests issued by its queue_rq"
		[ "${w:-0}" -gt 0 ] || rc=1
		qed_detach "$up" || rc=1
		qemu_check_clean "$upper" || rc=1
	else
		rc=1
	fi
	umount "$MNT" || rc=1
	qed_detach "$lo" || rc=1
	qemu_check_clean "$lower" || rc=1
	rm -f "$lower"
	return $rc
}
check "qed_on_ext4_on_qed_direct_io" t_stacked
ktap_finished
