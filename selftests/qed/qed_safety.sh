#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Data safety against what loop learned the hard way: a host write error
# that an internal flush saw first still fails the guest's flush; a second
# attach of an image in use writes nothing to it; a read-only device
# writes nothing; QEMU's image locks hold both ways; growing an image
# never brings stale L1 entries into use; REQ_NOUNMAP keeps the space; a
# failed table write takes back no acknowledged write; little memory
# neither fails nor hangs a writer.
. "$(dirname "$0")/lib.sh"
require qemu-img qemu-io sha256sum cmp od dd dmsetup losetup filefrag blkdiscard blockdev mkfifo

ktap_print_header
ktap_set_plan 10

K=1024
M=$((1024 * 1024))
export DM_DISABLE_UDEV=1

# The file offset of guest cluster 0's data (L1 entry 0, L2 entry 0).
cluster0_off() {
	local l1 l2
	l1=$(get64 "$1" 40)
	l2=$(get64 "$1" "$l1")
	get64 "$1" "$l2"
}

# The first physical 4 KiB block of file $1 at byte $2, from FIEMAP.
phys_block() {
	local lblk=$(($2 / 4096))
	filefrag -v -b4096 "$1" | tr '.:' '  ' | awk -v l="$lblk" '
		$1 ~ /^[0-9]+$/ && NF >= 5 && l >= $2 && l <= $3 { print $4 + (l - $2); exit }'
}

t_lost_write() {
	local base="$WORK/flaky.img" loop sectors dev img off blk rc=0
	truncate -s 256M "$base" && loop=$(losetup -f --show "$base") || return 1
	sectors=$(blockdev --getsz "$loop")
	dmsetup create qedflaky --table "0 $sectors linear $loop 0" && dmsetup mknodes || return 1
	mkdir -p "$WORK/flaky"
	mkfs.ext4 -q -F -b 4096 /dev/mapper/qedflaky && mount /dev/mapper/qedflaky "$WORK/flaky" ||
		{ dmsetup remove qedflaky; losetup -d "$loop"; return 1; }
	img="$WORK/flaky/img.qed"
	"$QEDCTL" create -s 64M "$img" && dev=$(qed_attach "$img") || rc=1
	if [ $rc = 0 ]; then
		# Data in cluster 0, on disk; then idle until the image is clean.
		dd if=/dev/urandom of="$dev" bs=64k count=16 oflag=direct conv=fsync status=none &&
			sync && sleep 7 || rc=1
		off=$(cluster0_off "$img")
		blk=$(phys_block "$img" "$off")
		echo "cluster 0 at file offset $off, block $blk"
		[ -n "$blk" ] || rc=1
	fi
	if [ $rc = 0 ]; then
		# Only the blocks of cluster 0 fail from now on; the host file
		# system stays healthy (--nolockfs: no sync on suspend).
		dmsetup suspend --nolockfs qedflaky && dmsetup reload qedflaky --table \
"0 $((blk * 8)) linear $loop 0
$((blk * 8)) 128 error
$((blk * 8 + 128)) $((sectors - blk * 8 - 128)) linear $loop $((blk * 8 + 128))" &&
			dmsetup resume qedflaky || rc=1
		# Overwrite cluster 0 in place, in the image file's page cache;
		# its writeback fails.
		dd if=/dev/urandom of="$dev" bs=64k count=1 oflag=direct status=none || rc=1
		sync
		# An allocating write marks the image dirty: its ordering
		# flush sees the host's error first.
		dd if=/dev/urandom of="$dev" bs=64k count=1 seek=512 oflag=direct status=none
		echo "allocating write: $?"
		if dd if=/dev/null of="$dev" conv=fsync,notrunc status=none; then
			echo "the guest's fsync succeeded for a write the host lost"
			rc=1
		fi
		dmsetup suspend --nolockfs qedflaky &&
			dmsetup reload qedflaky --table "0 $sectors linear $loop 0" &&
			dmsetup resume qedflaky
	fi
	[ -n "$dev" ] && qed_detach "$dev"
	umount "$WORK/flaky"
	dmsetup remove qedflaky
	losetup -d "$loop"
	return $rc
}
check guest_flush_fails_after_a_lost_host_write t_lost_write

# Swap the table of dm device $1 for the lines on stdin; --nolockfs: no
# sync of the file system above on suspend.
dm_swap() {
	dmsetup suspend --nolockfs "$1" && dmsetup reload "$1" && dmsetup resume "$1"
}

# An L2 entry is published only once its sector is written.  The image's
# L2 table block is made to fail, slowly: an allocating write's sector
# write then takes seconds and fails.  Writes to the same cluster that
# arrive meanwhile must not be acknowledged on the strength of an entry
# that the failure then takes back.
t_publish_after_write() {
	local base="$WORK/pub.img" mnt="$WORK/pub" img loop sectors dev l2 blk i acked=0 rc=0
	modprobe dm_delay 2>/dev/null
	truncate -s 256M "$base" && loop=$(losetup -f --show "$base") || return 1
	sectors=$(blockdev --getsz "$loop")
	dmsetup create qedpub --table "0 $sectors linear $loop 0" && dmsetup mknodes || return 1
	mkdir -p "$mnt"
	mkfs.ext4 -q -F -b 4096 /dev/mapper/qedpub && mount /dev/mapper/qedpub "$mnt" ||
		{ dmsetup remove qedpub; losetup -d "$loop"; return 1; }
	img="$mnt/img.qed"
	# Cluster 0 written, so the L2 table exists; cluster 1 is free.
	qemu-img create -q -f qed -o cluster_size=64k "$img" 64M &&
		qemu-io -f qed -c 'write -P 1 0 64k' "$img" >/dev/null && sync || rc=1
	l2=$(get64 "$img" "$(get64 "$img" 40)")
	blk=$(phys_block "$img" "$l2")
	echo "L2 table at file offset $l2, block $blk"
	[ -n "$blk" ] && dev=$(qed_attach "$img") || rc=1
	for i in 0 1 2 3 4 5 6; do
		head -c 4096 /dev/urandom >"$WORK/pub.$i" || rc=1
	done
	if [ $rc = 0 ]; then
		# The driver caches the L2 table; the page cache forgets it, so
		# the sector write must read the failing block first.
		dd if="$dev" of=/dev/null bs=64k count=2 iflag=direct status=none && sync &&
			echo 3 >/proc/sys/vm/drop_caches || rc=1
		dmsetup create qederr --table "0 8 error" &&
			dmsetup create qedslow --table "0 8 delay /dev/mapper/qederr 0 1500" &&
			dm_swap qedpub <<-EOF || rc=1
			0 $((blk * 8)) linear $loop 0
			$((blk * 8)) 8 linear /dev/mapper/qedslow 0
			$((blk * 8 + 8)) $((sectors - blk * 8 - 8)) linear $loop $((blk * 8 + 8))
			EOF
	fi
	if [ $rc = 0 ]; then
		# Write 0 allocates cluster 1; writes 1..6 reach the same cluster
		# while its L2 sector write is under way.
		for i in 0 1 2 3 4 5 6; do
			dd if="$WORK/pub.$i" of="$dev" bs=4k seek=$((16 + i)) oflag=direct \
				conv=notrunc status=none 2>/dev/null && touch "$WORK/pub.$i.acked" &
			sleep 0.2
		done
		wait
		echo "0 $sectors linear $loop 0" | dm_swap qedpub || rc=1
		for i in 0 1 2 3 4 5 6; do
			[ -e "$WORK/pub.$i.acked" ] || continue
			acked=$((acked + 1))
			cmp -s "$WORK/pub.$i" <(dd if="$dev" bs=4k skip=$((16 + i)) count=1 \
				iflag=direct status=none) ||
				{ echo "acknowledged write $i is gone"; rc=1; }
		done
		echo "$acked of 7 writes acknowledged"
	fi
	[ -n "$dev" ] && qed_detach "$dev"
	umount "$mnt"
	dmsetup remove qedpub
	dmsetup remove qedslow 2>/dev/null
	dmsetup remove qederr 2>/dev/null
	losetup -d "$loop"
	rm -f "$WORK"/pub.*
	return $rc
}
check acknowledged_writes_survive_a_failed_table_write t_publish_after_write

# An image left dirty with a leaked cluster at its end: what a repair
# would change (the tail, the need-check bit).
dirty_leaky_image() {
	qemu-img create -q -f qed -o cluster_size=64k "$1" 64M &&
		qemu-io -f qed -c 'write -P 7 0 128k' "$1" >/dev/null &&
		put64 "$1" 16 $(( $(get64 "$1" 16) | 2 )) &&
		truncate -s +64K "$1"
}

t_second_attach() {
	local img="$WORK/dirty.qed" dev before out rc=0
	dirty_leaky_image "$img" || return 1
	dev=$(qed_attach "$img" -r) || return 1
	before=$(sum "$img")
	if out=$(qed_attach "$img" 2>&1); then
		echo "a read-write attach of an image in use succeeded"
		rc=1
	fi
	echo "$out" | grep -q "Device or resource busy: the image is attached as $dev$" ||
		{ echo "EBUSY does not name $dev: $out"; rc=1; }
	[ "$(sum "$img")" = "$before" ] || { echo "the image changed"; rc=1; }
	qed_detach "$dev"
	return $rc
}
check rw_attach_of_an_image_in_use_writes_nothing t_second_attach

t_read_only() {
	local img="$WORK/ro.qed" dev before rc=0
	qemu-img create -q -f qed -o cluster_size=64k "$img" 16M &&
		qemu-io -f qed -c 'write -P 5 0 1M' "$img" >/dev/null || return 1
	dev=$(qed_attach "$img" -r) || return 1
	before=$(sum "$img")
	# The block layer refuses these already; the driver must too.
	blockdev --setrw "$dev" 2>/dev/null
	blkdiscard -z -l 1M "$dev" 2>/dev/null && { echo "BLKZEROOUT succeeded"; rc=1; }
	blkdiscard -l 1M "$dev" 2>/dev/null && { echo "BLKDISCARD succeeded"; rc=1; }
	dd if=/dev/zero of="$dev" bs=4k count=4 oflag=direct conv=notrunc status=none 2>/dev/null &&
		{ echo "an O_DIRECT write succeeded"; rc=1; }
	qed_detach "$dev"
	[ "$(sum "$img")" = "$before" ] || { echo "the image changed"; rc=1; }
	return $rc
}
check read_only_device_writes_nothing t_read_only

t_qemu_locks() {
	local img="$WORK/lock.qed" base="$WORK/lockbase.qed" dev out qpid ino rc=0
	qemu-img create -q -f qed "$base" 16M &&
		qemu-img create -q -f qed -b "$base" -F qed "$img" || return 1
	dev=$(qed_attach "$img") || return 1
	out=$(qemu-img info "$img" 2>&1) && { echo "qemu-img info read an attached image"; rc=1; }
	echo "$out" | grep -q 'Failed to get shared "write" lock' || { echo "$out"; rc=1; }
	out=$(qemu-io -f qed -c 'write 0 4k' "$base" 2>&1)
	echo "$out" | grep -q 'Failed to get "write" lock' ||
		{ echo "qemu-io wrote a backing file in use: $out"; rc=1; }
	qemu-img info -U "$img" >/dev/null || rc=1
	qemu-img info "$base" >/dev/null || { echo "a reader of the backing file was refused"; rc=1; }
	qed_detach "$dev"
	qemu-img info "$img" >/dev/null || { echo "locks outlived the device"; rc=1; }

	# QEMU writing: both attaches refused, with a message that says so.
	mkfifo "$WORK/qemu-in"
	qemu-io -f qed "$img" <"$WORK/qemu-in" >/dev/null 2>&1 &
	qpid=$!
	exec 3>"$WORK/qemu-in"
	# Wait until qemu-io holds its locks (adjacent ones show merged), reading
	# /proc/locks: polling with qemu-img would take locks that can make
	# qemu-io's own open fail.
	ino=$(stat -c %i "$img")
	for _ in $(seq 300); do
		grep -qE "OFDLCK.*:$ino [0-9]+ [0-9]+\$" /proc/locks && break
		sleep 0.2
	done
	grep -qE "OFDLCK.*:$ino [0-9]+ [0-9]+\$" /proc/locks ||
		{ echo "qemu-io never locked the image"; rc=1; }
	dmesg -c >/dev/null
	out=$(qed_attach "$img" 2>&1) && { echo "attached an image QEMU writes"; rc=1; }
	echo "$out" | grep -qF "Is another process using the image [$img]? qemu-io (pid $qpid) has it open" ||
		{ echo "EBUSY does not name qemu-io: $out"; rc=1; }
	qed_attach "$img" -r >/dev/null 2>&1 && { echo "attached read-only an image QEMU writes"; rc=1; }
	dmesg | grep 'Failed to get .* lock: is another process' || { echo "no message"; rc=1; }
	exec 3>&-
	wait "$qpid"
	"$QEDCTL" detach --all 2>/dev/null
	return $rc
}
check qemu_image_locks_both_ways t_qemu_locks

t_grow_stale_l1() {
	local img="$WORK/grow.qed" dev l1 rc=0
	# 4 KiB clusters, table_size=2: one L1 entry covers 4 MiB.  Data at
	# 10M, then the size cut to 8M leaves L1 entry 2 stale beyond the image.
	qemu-img create -q -f qed -o cluster_size=4k,table_size=2 "$img" 16M &&
		qemu-io -f qed -c 'write -P 9 10M 64k' "$img" >/dev/null &&
		put64 "$img" 48 $((8 * M)) || return 1
	l1=$(get64 "$img" 40)
	[ "$(get64 "$img" $((l1 + 16)))" != 0 ] || { echo "no stale entry to test with"; return 1; }
	dev=$(qed_attach "$img") || return 1
	"$QEDCTL" resize "$dev" 16M || rc=1
	cmp -n $((64 * K)) <(dd if="$dev" bs=64k skip=160 count=1 status=none) /dev/zero ||
		{ echo "stale data appeared after the resize"; rc=1; }
	qed_detach "$dev"
	[ "$(get64 "$img" $((l1 + 16)))" = 0 ] || { echo "the stale L1 entry is still on disk"; rc=1; }
	# The stale table and its cluster are leaked now, nothing worse.
	qemu_no_corruption "$img" || rc=1
	return $rc
}
check grow_zeroes_stale_l1_entries t_grow_stale_l1

t_nounmap() {
	local img="$WORK/nounmap.qed" dev before after rc=0
	"$QEDCTL" create -s 64M "$img" && dev=$(qed_attach "$img") || return 1
	dd if=/dev/urandom of="$dev" bs=1M count=8 oflag=direct conv=fsync status=none || rc=1
	before=$(stat -c %b "$img")
	# BLKZEROOUT asks for no unmapping: the space stays allocated.
	blkdiscard -z -l 8M "$dev" || rc=1
	sync
	after=$(stat -c %b "$img")
	echo "blocks before $before, after $after"
	[ "$after" -ge "$before" ] || { echo "zeroing gave space back"; rc=1; }
	cmp -n $((8 * M)) "$dev" /dev/zero || rc=1
	qed_detach "$dev"
	qemu_check_clean "$img" || rc=1
	return $rc
}
check write_zeroes_nounmap_keeps_space t_nounmap

t_dirty_repaired_after_detach() {
	local img="$WORK/dirty2.qed" dev
	dirty_leaky_image "$img" || return 1
	dev=$(qed_attach "$img") || return 1
	qed_detach "$dev"
	[ "$("$QEDCTL" check --json "$img" | sed -n 's/.*"leaks": \([0-9]*\).*/\1/p')" = 0 ]
}
check claimed_rw_attach_still_repairs t_dirty_repaired_after_detach

# The host I/O of a request is charged to the submitter's cgroup, as loop
# does: direct writes through a --direct-io device from a process in a
# cgroup show up as that cgroup's writes to the disk under the image.
t_blkcg() {
	local img="$WORK/cg.qed" cg=/sys/fs/cgroup dev disk wbytes rc=0
	[ -f "$cg/cgroup.controllers" ] || mount -t cgroup2 none "$cg" || return 1
	echo +io >"$cg/cgroup.subtree_control" || return 1
	mkdir -p "$cg/qedtest" || return 1
	# The disk under the scratch file system, which holds the image.
	disk=$(cat "/sys/class/block/$(basename "$(awk -v m="$SCRATCH" '$2 == m { print $1 }' \
		/proc/mounts)")/dev") || return 1
	"$QEDCTL" create -s 64M "$img" && dev=$(qed_attach "$img" --direct-io) || return 1
	(
		echo "$BASHPID" >"$cg/qedtest/cgroup.procs" &&
			dd if=/dev/urandom of="$dev" bs=1M count=8 oflag=direct status=none
	) || rc=1
	qed_detach "$dev"
	wbytes=$(awk -v d="$disk" '$1 == d { for (i = 2; i <= NF; i++) if ($i ~ /^wbytes=/) { sub(/wbytes=/, "", $i); print $i } }' \
		"$cg/qedtest/io.stat")
	echo "the cgroup wrote ${wbytes:-0} bytes to $disk"
	[ "${wbytes:-0}" -ge $((8 * M)) ] || rc=1
	rmdir "$cg/qedtest"
	return $rc
}
check host_io_charged_to_the_submitters_cgroup t_blkcg

# Little memory, as in a 256 MiB guest: hugepages take all but 224 MiB
# of what is available away from the page allocator, then ext4 on the
# device gets a file of 256 MiB (more than the memory left, so writeback
# runs under pressure throughout) while another process keeps allocating
# and dirtying 16 MiB at a time.  No write may fail, nothing may hang, no
# OOM kill.  (224 MiB and 16 MiB, from 160 and 32: that thinner margin
# left a slow host at risk of an OOM kill that is no fault of the driver.)
# (A memcg limit instead makes the memcg OOM-kill the writer when the
# host is slow, on loop as on qed: that is the memcg's policy, not ours.)
t_low_memory() {
	local img="$WORK/low.qed" mnt="$WORK/low" hp=/proc/sys/vm/nr_hugepages
	local dev avail hog want log rc=0
	"$QEDCTL" create -s 1G "$img" && dev=$(qed_attach "$img") || return 1
	mkdir -p "$mnt"
	mkfs.ext4 -q -F "$dev" && mount "$dev" "$mnt" || { qed_detach "$dev"; return 1; }
	sync && echo 3 >/proc/sys/vm/drop_caches
	avail=$(awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo)
	echo $(((avail - 224 * 1024) / 2048)) >"$hp"
	echo "$(cat "$hp") hugepages reserved, $(awk '$1 == "MemAvailable:" { print $2 }' \
		/proc/meminfo) KiB available"
	dmesg -c >/dev/null
	# The other process dirties tmpfs pages: small pages, unreclaimable
	# without swap.  (Anonymous 32 MiB buffers fault in huge pages, whose
	# clearing under TCG tripped the soft-lockup watchdog.)
	mkdir -p "$WORK/hog" && mount -t tmpfs -o size=32M none "$WORK/hog" || rc=1
	while :; do
		dd if=/dev/zero of="$WORK/hog/x" bs=1M count=16 status=none
		rm -f "$WORK/hog/x"
		sleep 0.2
	done &
	hog=$!
	head -c $((256 * M)) /dev/urandom |
		tee >(sha256sum | cut -d' ' -f1 >"$WORK/low.sum") |
		dd of="$mnt/f" bs=1M iflag=fullblock conv=fsync status=none ||
		{ echo "the write failed"; rc=1; }
	kill "$hog"
	wait "$hog" 2>/dev/null
	# Its last dd may still be writing.
	umount "$WORK/hog" 2>/dev/null || { sleep 2; umount "$WORK/hog"; }
	umount "$mnt" && mount "$dev" "$mnt" || rc=1
	want=$(cat "$WORK/low.sum")
	[ -n "$want" ] && [ "$(sum "$mnt/f")" = "$want" ] || { echo "data differs"; rc=1; }
	echo 0 >"$hp"
	umount "$mnt"
	qed_detach "$dev"
	rm -f "$img" "$WORK/low.sum"
	log=$(dmesg | grep -E 'blocked for more than|I/O error|Out of memory|oom-kill')
	if [ -n "$log" ]; then
		# check keeps the last 20 lines of the output: the first few matches.
		echo "$log" | head -n 5 | sed 's/^/kernel log: /'
		rc=1
	fi
	return $rc
}
check little_memory_large_file_system t_low_memory

ktap_finished
