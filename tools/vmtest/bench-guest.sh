#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In the guest: the same fio jobs on /dev/qedN, on /dev/loopN over a raw
# file with the same data, on /dev/nbdN from qemu-nbd serving the same
# image, and on that raw file itself; one line
# "bench: SETUP JOB REPEAT RIOPS WIOPS RBW WBW USR SYS BUSY" per run
# (bandwidths in KiB/s, fio's own CPU in % of the run, BUSY the whole
# guest's busy CPU time in 1/100 s: the kernel's workers included), and
# after each run on qed "bench-cache: SETUP JOB REPEAT HITS MISSES PAGES":
# the L2 cache's hits and misses during the run and its size at the end,
# in 4 KiB pages.
#   BENCH_RUNTIME (s), BENCH_REPEAT, BENCH_SIZE (MiB); BENCH_SETUPS and
#   BENCH_JOBS (space-separated names) run only those; BENCH_PREFILL=1
#   writes the scratch file system's free space once before the runs.
set -u
rt=${BENCH_RUNTIME:-5}
rep=${BENCH_REPEAT:-3}
mb=${BENCH_SIZE:-512}
cd "${QED_SCRATCH:-/tmp}" || exit 1

echo "bench: info runtime=${rt}s repeat=$rep size=${mb}MiB kernel=$(uname -r) cpus=$(nproc)" \
	"prefill=${BENCH_PREFILL:-0}"
# The scratch disk is a sparse file on the host: the first guest write to
# each of its blocks costs the host an allocation, later ones do not.
# Whichever setup's files first land on fresh blocks would pay for it, the
# first setups of the first repeat (Documentation/benchmarks.md, "slow
# start").  Writing the free space once, then freeing it, leaves every
# block of the disk allocated on the host; without discard, rm gives
# nothing back.
if [ "${BENCH_PREFILL:-0}" = 1 ]; then
	free_mb=$(df -m --output=avail . | tail -n 1)
	dd if=/dev/zero of=prefill bs=1M count=$((free_mb - 64)) oflag=direct status=none
	rm -f prefill
	sync
fi
dd if=/dev/urandom of=data.raw bs=1M count="$mb" status=none
qemu-img convert -O qed data.raw data.qed
# Every setup starts from the same state: the data on disk, none of it in
# the page cache, which the writes above filled.
sync
echo 3 >/proc/sys/vm/drop_caches

# job name -> fio arguments
jobs=(
	"randread-4k-qd1 --rw=randread --bs=4k --iodepth=1"
	"randread-4k-qd32 --rw=randread --bs=4k --iodepth=32"
	"randwrite-4k-qd1 --rw=randwrite --bs=4k --iodepth=1"
	"randwrite-4k-qd32 --rw=randwrite --bs=4k --iodepth=32"
	"seqread-1m --rw=read --bs=1m --iodepth=8"
	"seqwrite-1m --rw=write --bs=1m --iodepth=8"
	"mixed-70-30-fsync --rw=randrw --rwmixread=70 --bs=4k --iodepth=16 --fsync=32"
)
alloc_jobs=(
	"alloc-randwrite-4k --rw=randwrite --bs=4k --iodepth=32"
	"alloc-seqwrite-1m --rw=write --bs=1m --iodepth=8"
)

# only NAME: true unless BENCH_JOBS is set and does not name the job
only() { [ -z "${BENCH_JOBS:-}" ] || [[ " $BENCH_JOBS " == *" $1 "* ]]; }

# Busy time of all CPUs so far, in USER_HZ ticks: user, nice, system, irq, softirq.
busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

# The L2 cache's counters of qed device DEV: "HITS MISSES PAGES", cumulative
# since attach but PAGES; nothing for a device without them.
cache_stats() {
	local d=/sys/block/${1#/dev/}/qed
	[ -r "$d/cache_hits" ] || return 0
	echo "$(<"$d/cache_hits") $(<"$d/cache_misses") $(<"$d/cache_pages")"
}

run_fio() {
	local setup=$1 dev=$2 job=$3 r=$4 out b0 b1 c0 c1 direct=1
	shift 4
	# The bare file buffered is the page cache's speed, the bar for qed and
	# loop without direct I/O; every other target is a block device or
	# file-dio and goes O_DIRECT.  libaio on a buffered file submits
	# synchronously, as loop's worker does for a file without dio.
	[ "$setup" != file ] || direct=0
	case "$setup" in qed*) c0=$(cache_stats "$dev") ;; *) c0= ;; esac
	b0=$(busy)
	out=$(fio --name=b --filename="$dev" --ioengine=libaio --direct=$direct --time_based \
		--runtime="$rt" --ramp_time=0 --norandommap --randrepeat=0 --minimal "$@" 2>/dev/null |
		tail -n 1)
	b1=$(busy)
	# terse v3: 7 read bw, 8 read iops, 48 write bw, 49 write iops, 88 usr, 89 sys
	echo "$out" | awk -F';' -v s="$setup" -v j="$job" -v r="$r" -v b=$((b1 - b0)) \
		'NF > 89 { printf "bench: %s %s %d %s %s %s %s %s %s %d\n", s, j, r, $8, $49, $7, $48, $88, $89, b }'
	[ -n "$c0" ] && [ -n "$out" ] || return 0
	c1=$(cache_stats "$dev")
	# shellcheck disable=SC2086 # the counters, one word each
	set -- $c0 $c1
	[ $# -ne 6 ] || echo "bench-cache: $setup $job $r $(($4 - $1)) $(($5 - $2)) $6"
}

# Each qemu-nbd connection gets the next /dev/nbdN: reconnecting the device
# that was just disconnected has hung qemu-nbd and a kblockd worker in the
# 6.1 guest (both blocked for good in the alloc-seqwrite-1m run).
nbd_next=0

# attach SETUP IMAGE-OR-RAW NBD-DEVICE: prints the device
attach() {
	case "$1" in
	qed) qedctl attach "$2" ;;
	qed-dio) qedctl attach --direct-io "$2" ;;
	loop) losetup -f --show "$2" ;;
	loop-dio) losetup -f --show --direct-io=on "$2" ;;
	nbd) qemu-nbd -f qed -c "$3" "$2" && echo "$3" ;;
	nbd-dio) qemu-nbd -f qed --cache=none --aio=native -c "$3" "$2" && echo "$3" ;;
	file*) echo "$2" ;;
	esac
}
detach() {
	case "$1" in
	qed*) qedctl detach "$2" ;;
	loop*) losetup -d "$2" ;;
	nbd*) qemu-nbd -d "$2" >/dev/null
	      # Wait for the disconnect to complete: the device's pid goes.
	      for _ in $(seq 50); do [ -e "/sys/block/${2#/dev/}/pid" ] || break; sleep 0.2; done ;;
	file*) ;; # fio opened the file itself
	esac
}
file_for() {
	case "$1" in loop* | file*) echo "$2.raw" ;; *) echo "$2.qed" ;; esac
}

# Repeats are the outer loop: whatever else the host does during the run
# falls on every setup alike, and the ratios stay fair.  No setup drops
# the page cache first: data.raw and data.qed stay as warm as dd and
# qemu-img left them for qed, loop and file alike.
setups=${BENCH_SETUPS:-qed qed-dio loop loop-dio nbd nbd-dio file file-dio}
for r in $(seq "$rep"); do
	for s in $setups; do
		nbd=/dev/nbd$((nbd_next++ % 16))
		dev=$(attach "$s" "$(file_for "$s" data)" "$nbd") ||
			{ echo "bench: error attaching $s"; continue; }
		for j in "${jobs[@]}"; do
			read -r name args <<<"$j"
			only "$name" || continue
			# shellcheck disable=SC2086 # the job's fio options, one word each
			run_fio "$s" "$dev" "$name" "$r" $args
		done
		detach "$s" "$dev"
		# Allocating writes: a fresh empty image (or sparse raw file) each run.
		for j in "${alloc_jobs[@]}"; do
			read -r name args <<<"$j"
			only "$name" || continue
			rm -f empty.qed empty.raw
			qemu-img create -q -f qed empty.qed "${mb}M"
			truncate -s "${mb}M" empty.raw
			nbd=/dev/nbd$((nbd_next++ % 16))
			dev=$(attach "$s" "$(file_for "$s" empty)" "$nbd") || continue
			# shellcheck disable=SC2086 # the job's fio options, one word each
			run_fio "$s" "$dev" "$name" "$r" $args
			detach "$s" "$dev"
		done
	done
done
rm -f data.raw data.qed empty.qed empty.raw
echo "bench: done"
