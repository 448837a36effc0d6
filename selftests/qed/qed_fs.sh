#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Real file systems on /dev/qedN: make, mount, fill with a tree of files,
# unmount, detach, attach again, verify every file, fsck, and let QEMU
# check the image.  The image itself lives on ext4 and on xfs.
. "$(dirname "$0")/lib.sh"
require qemu-img sha256sum mkfs.ext4 mkfs.xfs e2fsck xfs_repair

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
ktap_set_plan ${#cases[@]}

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
ktap_finished
