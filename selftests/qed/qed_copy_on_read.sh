#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Copy-on-read (qedctl attach --copy-on-read, QEMU's copy-on-read=on):
# what a read finds only in the backing chain is copied into the image,
# whole clusters, counted in sysfs, and read from the image from then on;
# the guest's data never changes, QEMU reads the image as before, and a
# cluster the guest writes while a copy is pending keeps the guest's data.
. "$(dirname "$0")/lib.sh"
require qemu-img fio sha256sum cmp

ktap_print_header
ktap_set_plan 3

C="$WORK/cor"
mkdir -p "$C"
dd if=/dev/urandom of="$C/base.raw" bs=1M count=8 status=none

# range_sum FILE SKIP COUNT: the checksum of COUNT MiB of FILE from SKIP MiB on.
range_sum() {
	dd if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none | sha256sum
}

# copied DEV N: sysfs counts N clusters copied since $COPIED0 was taken.
copied() {
	sysfs_is "$1" copied_clusters $((COPIED0 + $2))
}

# mapped_in_top IMG OFF LEN: qemu-img map says [OFF, OFF + LEN) is data in
# IMG itself (depth 0), not in its backing file.
mapped_in_top() {
	qemu-img map -U --output=json "$1" | awk -v off="$2" -v len="$3" '
		{
			s = $0; gsub(/[{}" ]/, "", s); n = split(s, kv, ",")
			for (i = 1; i <= n; i++) { split(kv[i], p, ":"); f[p[1]] = p[2] }
			if (f["start"] <= off && off + len <= f["start"] + f["length"] &&
			    f["depth"] == 0 && f["data"] == "true") ok = 1
		}
		END { exit !ok }'
}

# reads_copy [attach option]: 16 clusters of 64 KiB read, then part of one.
t_reads_copy() {
	local img="$C/top$1.qed" dev
	qemu-img create -q -f qed -b base.raw -F raw "$img" 8M || return 1
	dev=$(qed_attach "$img" --copy-on-read "$@") || return 1
	# The partition scan of the attach has read (and copied) cluster 0.
	COPIED0=$(cat "/sys/block/${dev#/dev/}/qed/copied_clusters")
	sysfs_is "$dev" copy_on_read 1 && [ "$COPIED0" -le 1 ] ||
		{ echo "$COPIED0 clusters copied at attach"; qed_detach "$dev"; return 1; }
	dd if="$dev" of="$C/read1" bs=64k skip=16 count=16 iflag=direct status=none &&
		copied "$dev" 16 || { qed_detach "$dev"; return 1; }
	# 4 KiB inside the cluster at 5 MiB: the whole cluster is copied.
	dd if="$dev" of="$C/read2" bs=4k skip=$((5 * 256 + 2)) count=1 iflag=direct status=none &&
		copied "$dev" 17 || { qed_detach "$dev"; return 1; }
	# Read again: in the image now, nothing more to copy.
	dd if="$dev" of=/dev/null bs=64k skip=16 count=16 iflag=direct status=none &&
		copied "$dev" 17 || { qed_detach "$dev"; return 1; }
	mapped_in_top "$img" $((1 << 20)) $((1 << 20)) &&
		mapped_in_top "$img" $((5 << 20)) 65536 ||
		{ echo "QEMU does not see the copies in the image"; qed_detach "$dev"; return 1; }
	cmp "$dev" "$C/base.raw" || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	[ "$(sha256sum <"$C/read1")" = "$(range_sum "$C/base.raw" 1 1)" ] || return 1
	# Copy-on-read writes the image: not on a read-only device.
	if dev=$(qed_attach "$img" -r --copy-on-read 2>&1); then
		echo "attached read-only with copy-on-read: $dev"
		qed_detach "$dev"
		return 1
	fi
	qemu_check_clean "$img" >/dev/null || return 1
	# The copies hold the base's data: QEMU reads the image as the base.
	qemu-img compare -q "$img" "$C/base.raw"
}
check copy_on_read_copies_whole_clusters_once t_reads_copy
check copy_on_read_with_direct_io t_reads_copy --direct-io

# fio writes and verifies while another job reads everything, so that
# reads copy clusters the writer is writing: every block the writer
# wrote reads back as written, and the rest as the base.
t_race() {
	local img="$C/race.qed" dev rc=0
	qemu-img create -q -f qed -o cluster_size=4k -b base.raw -F raw "$img" 8M || return 1
	dev=$(qed_attach "$img" --copy-on-read) || return 1
	fio --name=reader --filename="$dev" --ioengine=libaio --direct=1 --rw=randread \
		--bs=16k --iodepth=8 --time_based --runtime=4 --minimal >/dev/null &
	fio_verify "$dev" --rw=randwrite --bs=4k --iodepth=8 --offset=4M --size=2M \
		--time_based --runtime=4 --verify_backlog=64 || rc=1
	wait $! || rc=1
	# Outside the writer's range, the base's bytes.
	[ "$(range_sum "$dev" 0 4)" = "$(range_sum "$C/base.raw" 0 4)" ] &&
		[ "$(range_sum "$dev" 6 2)" = "$(range_sum "$C/base.raw" 6 2)" ] ||
		{ echo "the reads changed what the writer never wrote"; rc=1; }
	[ "$(cat "/sys/block/${dev#/dev/}/qed/copied_clusters")" -gt 0 ] ||
		{ echo "nothing was copied"; rc=1; }
	qed_detach "$dev" || return 1
	[ $rc -eq 0 ] && qemu_check_clean "$img" >/dev/null
}
check copy_on_read_under_concurrent_writes t_race
