#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Writes through /dev/qedN, aligned and not, sequential and random, into
# empty and allocated clusters, from several processes at once: QEMU must
# then find the image clean and equal to a raw file given the same writes.
. "$(dirname "$0")/lib.sh"
require qemu-img sha256sum dd

# cluster table size creator.  Every case hashes the whole device and its
# reference several times: the sizes give the writers their 512 regions
# (32M and more) or several L2 tables (4k clusters), no more.
cases=(
	"64k 4 32M qemu-img"
	"4k 2 16M qedctl"
	"4k 1 16M qemu-img"	# qedctl refuses what QEMU cannot open
	"1M 8 64M qemu-img"
	"64k 16 40M qedctl"
)
ktap_print_header
ktap_set_plan $(( ${#cases[@]} * 2 + 3 ))

DATA="$WORK/data"
dd if=/dev/urandom of="$DATA" bs=1M count=4 status=none

# Apply the same write to the device and to the raw reference.
# put DEV REF OFFSET LENGTH DATA_OFFSET
put() {
	local f
	for f in "$1" "$2"; do
		dd if="$DATA" of="$f" bs=512 iflag=skip_bytes,count_bytes oflag=seek_bytes \
			skip="$5" seek="$3" count="$4" conv=notrunc status=none || return 1
	done
}

# Several writers at once on interleaved regions: writer w owns every
# region r with r % 4 == w, so the result does not depend on their order
# while their allocations race within the same tables.  At most 512
# regions (each write stays within its first 64 KiB): every dd costs a
# process under TCG, and make check has a time budget.
# writer DEV REF SIZE W
writer() {
	local dev=$1 ref=$2 size=$3 w=$4 r regions step=65536
	regions=$(( size / 65536 ))
	if [ "$regions" -gt 512 ]; then
		regions=512
		step=$(( size / 512 ))
	fi
	RANDOM=$((w + 100))
	for r in $(seq 0 4 $((regions - 1))); do
		[ $((RANDOM % 3)) -eq 0 ] || continue
		r=$((r + w))
		[ "$r" -lt "$regions" ] || continue
		put "$dev" "$ref" $((r * step + (RANDOM % 64) * 512)) $(( (RANDOM % 64 + 1) * 512 )) \
			$(( (RANDOM % 4096) * 512 )) || return 1
	done
}

# workload DEV REF SIZE
workload() {
	local dev=$1 ref=$2 size=$3
	# Sequential, cluster-aligned and not.
	put "$dev" "$ref" 0 1048576 0 || return 1
	put "$dev" "$ref" 1049088 7680 4096 || return 1
	# Into the middle of clusters, crossing cluster boundaries.
	put "$dev" "$ref" $(( size / 2 - 3072 )) 6144 8192 || return 1
	# The very last sector.
	put "$dev" "$ref" $(( size - 512 )) 512 512 || return 1
	# Random single sectors and small runs.
	RANDOM=7
	for _ in $(seq 40); do
		put "$dev" "$ref" $(( (RANDOM * 32768 + RANDOM) % (size / 512 - 64) * 512 )) \
			$(( (RANDOM % 16 + 1) * 512 )) $(( (RANDOM % 4096) * 512 )) || return 1
	done
	# Overwrite allocated clusters in place.
	put "$dev" "$ref" 4096 65536 65536 || return 1
	local pids="" w rc=0
	for w in 0 1 2 3; do
		writer "$dev" "$ref" "$size" "$w" &
		pids="$pids $!"
	done
	for w in $pids; do
		wait "$w" || rc=1
	done
	return $rc
}

n=0
for c in "${cases[@]}"; do
	read -r cs ts size creator <<<"$c"
	n=$((n + 1))
	img="$WORK/write-$n.qed"
	raw="$WORK/write-$n.raw"
	bytes=$(numfmt --from=iec "$size")
	if [ "$creator" = qemu-img ]; then
		qemu-img create -q -f qed -o cluster_size="$cs",table_size="$ts" "$img" "$size"
	else
		"$QEDCTL" create -c "$cs" -t "$ts" -s "$size" "$img"
	fi
	truncate -s "$bytes" "$raw"
	t_write() {
		local dev
		dev=$(qed_attach "$img") || return 1
		workload "$dev" "$raw" "$bytes" || { qed_detach "$dev"; return 1; }
		sync
		# Read back through the device before detaching.
		[ "$(dev_sum "$dev")" = "$(sum "$raw")" ] || { echo "device != reference"; qed_detach "$dev"; return 1; }
		qed_detach "$dev"
	}
	check "write_${cs}_${ts}_${creator}" t_write
	t_verify() {
		if [ "$ts" -ge 2 ]; then
			qemu_check_clean "$img" || return 1
			qemu-img compare -f qed -F raw "$img" "$raw" || return 1
		fi
		# Read back after a fresh attach, with nothing cached.
		local dev
		dev=$(qed_attach "$img" -r) || return 1
		[ "$(dev_sum "$dev")" = "$(sum "$raw")" ] || { echo "reattached device != reference"; qed_detach "$dev"; return 1; }
		qed_detach "$dev"
		# The image is left clean: no need-check flag.
		"$QEDCTL" info "$img" | grep -q '^dirty: no'
	}
	check "verify_${cs}_${ts}_${creator}" t_verify
	rm -f "$img" "$raw"
done

# Eight direct writers at once, each into its own 4 KiB of the same new
# 64 KiB cluster, cluster after cluster (12 of them): each cluster may be
# allocated only once, or the writes of all but one of them are lost.
t_same_cluster() {
	local img="$WORK/same.qed" raw="$WORK/same.raw" dev c k pids rc=0
	"$QEDCTL" create -c 64k -s 4M "$img" || return 1
	truncate -s 4M "$raw"
	dev=$(qed_attach "$img" "$@") || return 1
	for c in $(seq 0 11); do
		pids=""
		for k in 0 2 4 6 8 10 12 14; do
			dd if="$DATA" of="$dev" bs=4096 skip=$((c * 16 + k)) seek=$((c * 16 + k)) \
				count=1 oflag=direct conv=notrunc status=none &
			pids="$pids $!"
		done
		for k in $pids; do
			wait "$k" || rc=1
		done
		dd if="$DATA" of="$raw" bs=4096 skip=$((c * 16)) seek=$((c * 16)) count=16 \
			conv=notrunc status=none
		for k in 1 3 5 7 9 11 13 15; do
			dd if=/dev/zero of="$raw" bs=4096 seek=$((c * 16 + k)) count=1 \
				conv=notrunc status=none
		done
	done
	[ "$rc" = 0 ] || { echo "a writer failed"; qed_detach "$dev"; return 1; }
	[ "$(dev_sum "$dev")" = "$(sum "$raw")" ] || { echo "device != reference"; qed_detach "$dev"; return 1; }
	qed_detach "$dev"
	# A cluster allocated twice leaves the loser leaked: qedctl check
	# must find none.
	qemu_check_clean "$img" || return 1
	qemu-img compare -f qed -F raw "$img" "$raw" || return 1
	rm -f "$img" "$raw"
}
check "concurrent_writes_into_one_new_cluster" t_same_cluster
check "concurrent_direct_io_writes_into_one_new_cluster" t_same_cluster --direct-io

# Writes must not reach a read-only device.
t_ro() {
	local img="$WORK/ro.qed" dev before
	"$QEDCTL" create -s 8M "$img" || return 1
	before=$(sum "$img")
	dev=$(qed_attach "$img" -r) || return 1
	if dd if="$DATA" of="$dev" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
		echo "write to a read-only device succeeded"
		qed_detach "$dev"
		return 1
	fi
	qed_detach "$dev"
	[ "$(sum "$img")" = "$before" ]
}
check "read_only_device_refuses_writes" t_ro
ktap_finished
