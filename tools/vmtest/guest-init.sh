#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# /init of the test guest: mount the scratch disks, load qedblk, run the
# kselftests and power off.  The host reads everything from the console;
# lines starting with "vmtest:" are for it.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /var/lock
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox mount -t tmpfs tmp /tmp
# Debug kernels: fault injection and kmemleak live in debugfs.
/bin/busybox mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
/bin/busybox --install -s /bin
# devtmpfs has no /dev/fd or /dev/std*: the kselftest runner logs to /dev/stdout.
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
# Kernel messages of warning level and above reach the console.
echo 5 >/proc/sys/kernel/printk

cmdline=$(cat /proc/cmdline)
arg() { for w in $cmdline; do case "$w" in "$1"=*) echo "${w#*=}" ;; esac; done; }

finish() {
	echo "vmtest: end $1"
	sync
	poweroff -f
	sleep 10
}

for m in virtio_pci virtio_blk loop nbd xfs dm_mod dm_log_writes; do
	modprobe "$m" 2>/dev/null
done
for _ in $(seq 50); do [ -b /dev/vdb ] && break; sleep 0.1; done
[ -b /dev/vda ] && [ -b /dev/vdb ] || { echo "vmtest: error: scratch disks missing"; finish 1; }
mkdir -p /mnt/ext4 /mnt/xfs
# qed.disks=keep: the disks hold a previous boot's data (power-cut tests).
if [ "$(arg qed.disks)" != keep ]; then
	# The benchmark's numbers should not depend on how far ext4's lazy
	# inode table initialisation got in the background.
	lazy=
	[ "$(arg qed.mode)" = bench ] && lazy="-E lazy_itable_init=0,lazy_journal_init=0"
	# shellcheck disable=SC2086 # $lazy is an option or nothing
	mkfs.ext4 -q -F $lazy /dev/vda >/dev/null && mount /dev/vda /mnt/ext4 ||
		{ echo "vmtest: error: cannot make ext4 on /dev/vda"; finish 1; }
	mkfs.xfs -q -f /dev/vdb >/dev/null && mount /dev/vdb /mnt/xfs ||
		{ echo "vmtest: error: cannot make xfs on /dev/vdb"; finish 1; }
fi

echo "vmtest: kernel $(uname -r)"
if ! insmod /opt/qed/qedblk.ko; then
	echo "vmtest: error: insmod qedblk.ko failed"
	finish 1
fi
for _ in $(seq 50); do [ -c /dev/qed-control ] && break; sleep 0.1; done

export QED_SCRATCH=/mnt/ext4 QED_SCRATCH_XFS=/mnt/xfs
mode=$(arg qed.mode)
case "$mode" in
script)
	# A script put in by QED_GUEST_SCRIPT (initramfs.sh); qed.script=A,B
	# gives it arguments.
	# shellcheck disable=SC2046 # qed.script=NAME,ARG,...: one argument each
	/opt/qed/script.sh $(arg qed.script | tr , ' ')
	finish $?
	;;
demo)
	/opt/qed/demo.sh
	finish $?
	;;
bench)
	IFS=, read -r BENCH_RUNTIME BENCH_REPEAT BENCH_SIZE <<<"$(arg qed.bench)"
	BENCH_SETUPS=$(arg qed.bench_setups | tr : ' ')
	BENCH_JOBS=$(arg qed.bench_jobs | tr : ' ')
	BENCH_PREFILL=$(arg qed.bench_prefill)
	export BENCH_RUNTIME BENCH_REPEAT BENCH_SIZE BENCH_SETUPS BENCH_JOBS BENCH_PREFILL
	/opt/qed/bench.sh
	finish $?
	;;
esac

tests=$(arg qed.tests | tr , ' ')
cd /opt/selftests/qed || finish 1
[ -n "$tests" ] || tests=$(cat tests.list)
(
	export BASE_DIR=/opt/selftests	# runner.sh reads it
	# shellcheck source=/dev/null # kselftest's, copied into the guest
	. /opt/selftests/kselftest/runner.sh
	# One at a time, so that the host can list the slowest (check.sh).
	for t in $tests; do
		start=$(date +%s)
		run_many "$t"
		echo "vmtest: time $t $(( $(date +%s) - start ))s"
	done
)
finish 0
