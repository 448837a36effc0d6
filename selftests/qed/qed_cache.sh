#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The L2 cache: bounded by l2_cache_pages, its counters in sysfs say what
# it did, and attaching a huge sparse image reads no table at all.
. "$(dirname "$0")/lib.sh"
require qemu-img dd truncate blockdev du

ktap_print_header
ktap_set_plan 3

param=/sys/module/qedblk/parameters/l2_cache_pages
old_param=$(cat "$param")
trap 'echo "$old_param" >"$param"; qed_cleanup' EXIT

stat_of() { cat "/sys/block/${1#/dev/}/qed/cache_$2"; }

# Read 4 KiB at MiB offset $2 of device $1, past the page cache.
read_at() {
	dd if="$1" of=/dev/null bs=4096 count=1 skip=$(($2 * 256)) iflag=direct status=none
}

t_huge_sparse() {
	local img="$WORK/huge.qed" d t0 t1 blocks
	# 64 TiB: the most 64 KiB clusters with 4-cluster tables can map.
	"$QEDCTL" create -s 64T "$img" || return 1
	# Reported, not asserted: a slow machine must not fail a test.
	t0=$(cut -d' ' -f1 /proc/uptime)
	d=$(qed_attach "$img") || return 1
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "attach of a 64 TiB image took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
	[ "$(blockdev --getsize64 "$d")" = $((64 << 40)) ] ||
		{ qed_detach "$d"; echo "wrong size"; return 1; }
	# The partition scan has read the device: no table exists, so no
	# table page may have been loaded.
	[ "$(stat_of "$d" misses)" = 0 ] && [ "$(stat_of "$d" pages)" = 0 ] &&
		[ "$(stat_of "$d" bytes)" = 0 ] ||
		{ qed_detach "$d"; echo "tables were loaded"; return 1; }
	read_at "$d" $((63 * 1024 * 1024)) || { qed_detach "$d"; return 1; }
	qed_detach "$d" || return 1
	blocks=$(du -k "$img" | cut -f1)
	echo "image uses $blocks KiB on the host"
	[ "$blocks" -lt 1024 ]
}
check huge_sparse_image_attaches_without_reading_tables t_huge_sparse

# 4 KiB clusters, one-cluster tables: each 2 MiB of the device has an L2
# table of one page.
img="$WORK/cache.qed"
# qemu-img: qedctl creates only geometries QEMU can open again.
qemu-img create -q -f qed -o cluster_size=4K,table_size=1 "$img" 64M ||
	ktap_exit_fail_msg "create failed"
d=$(qed_attach "$img") || ktap_exit_fail_msg "attach failed"
dd if=/dev/zero of="$d" bs=1M count=64 oflag=direct status=none
qed_detach "$d" || ktap_exit_fail_msg "detach failed"

t_counts() {
	local d m0 h0 m1 h1
	d=$(qed_attach "$img") || return 1
	# Counts relative to after the partition scan, in the middle of the
	# device where that scan does not read.
	m0=$(stat_of "$d" misses)
	read_at "$d" 10 && read_at "$d" 11 || { qed_detach "$d"; return 1; }
	m1=$(stat_of "$d" misses)
	h0=$(stat_of "$d" hits)
	read_at "$d" 10 && read_at "$d" 11 && read_at "$d" 12 || { qed_detach "$d"; return 1; }
	h1=$(stat_of "$d" hits)
	echo "misses $m0 -> $m1 -> $(stat_of "$d" misses), hits $h0 -> $h1"
	[ $((m1 - m0)) = 1 ] && [ "$(stat_of "$d" misses)" = $((m1 + 1)) ] &&
		[ $((h1 - h0)) -ge 2 ] || { qed_detach "$d"; return 1; }
	qed_detach "$d"
}
check cache_counts_one_miss_per_table_page t_counts

t_bounded() {
	local d ev pages bytes
	echo 4 >"$param" || return 1
	d=$(qed_attach "$img") || return 1
	dd if="$d" of=/dev/null bs=4096 skip=0 iflag=direct status=none
	echo "pages $(stat_of "$d" pages) of $(stat_of "$d" max_pages)," \
		"misses $(stat_of "$d" misses), evictions $(stat_of "$d" evictions)"
	ev=$(stat_of "$d" evictions)
	pages=$(stat_of "$d" pages)
	bytes=$(stat_of "$d" bytes)
	echo "footprint $bytes bytes"
	[ "$(stat_of "$d" max_pages)" = 4 ] && [ "$pages" -le 4 ] &&
		[ "$ev" -ge 28 ] || { qed_detach "$d"; return 1; }
	# The footprint is the pages' memory, and a little more for each.
	[ "$pages" -ge 1 ] && [ "$bytes" -ge $((pages * 4096)) ] &&
		[ "$bytes" -le $((pages * 4096 + pages * 512)) ] ||
		{ qed_detach "$d"; echo "footprint does not match $pages pages"; return 1; }
	qed_detach "$d"
}
check cache_stays_within_l2_cache_pages t_bounded

ktap_finished
