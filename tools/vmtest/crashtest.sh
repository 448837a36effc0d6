#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Power cuts, driven from the host.  Each cycle boots a guest that makes an
# image and writes to it (logging every write and every completed flush to
# a disk of its own), kills QEMU with SIGKILL at a random moment (what
# reached the virtual disks stays, the guest's memory is lost), boots a
# fresh guest on the same disks and verifies the contract of
# Documentation/qed.rst: the image attaches (checked and repaired), flushed
# writes read back exactly, others as old or new data, qemu-img finds no
# corruption, ext4 on the device replays its journal and fscks clean.
#
#   crashtest.sh KERNEL [CYCLES]      (CRASH_WORKLOADS="empty full overlay ext4 snapshot")
# Ends with "crashtest: N passed, N failed"; exit status 1 on any failure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

k=${1:-6.12}
cycles=${2:-4}
read -r -a workloads <<<"${CRASH_WORKLOADS:-empty full overlay ext4 snapshot}"
out="$QED_TOP/build/crash/$k"
mkdir -p "$out"
pass=0
fail=0

die() { echo "crashtest: $*"; echo "crashtest: $pass passed, $((fail + 1)) failed"; exit 1; }
if [ "$cycles" -eq 0 ] && [ "${CRASH_REORDER:-1}" = 0 ]; then
	echo "crashtest: 0 passed, 0 failed"
	exit 0
fi

ko=$("$(dirname "$0")/build-module.sh" "$k" "$out/build") || die "building the module for $k"
make -s -C "$QED_TOP/tools/crashtest" >/dev/null || die "building qed_crash"
QED_GUEST_SCRIPT="$(dirname "$0")/crash-guest.sh" \
	"$(dirname "$0")/initramfs.sh" "$k" "$ko" "$out/initrd.cpio" || die "building the initramfs"

for c in $(seq 1 "$cycles"); do
	w=${workloads[$(( (c - 1) % ${#workloads[@]} ))]}
	seed=$(( (RANDOM << 15) | RANDOM ))
	disks="$out/fs.img $out/log.img"
	rm -f "$out/fs.img" "$out/log.img"
	truncate -s 2G "$out/fs.img"
	truncate -s 256M "$out/log.img"

	# Boot 1: write until killed.
	QED_VM_DISKS=$disks QED_VM_TIMEOUT=600 "$(dirname "$0")/run-vm.sh" "$k" "$out/initrd.cpio" \
		"$out/write-$c.log" qed.mode=script qed.disks=keep "qed.script=write,$w,$seed" \
		2>/dev/null &
	vm=$!
	for _ in $(seq 600); do
		grep -q "^crash: writing" "$out/write-$c.log" 2>/dev/null && break
		kill -0 $vm 2>/dev/null || break
		sleep 1
	done
	if ! grep -q "^crash: writing" "$out/write-$c.log"; then
		wait $vm
		echo "crashtest: cycle $c ($w): the writer never started; $out/write-$c.log"
		fail=$((fail + 1))
		continue
	fi
	after=$((3 + RANDOM % 18))
	sleep "$after"
	kill -KILL "$(cat "$out/qemu.pid")" 2>/dev/null
	wait $vm
	echo "crashtest: cycle $c: $w, seed $seed, QEMU killed ${after}s into the writing"
	if grep -qE "BUG:|WARNING:|Oops|Call Trace|crash: error" "$out/write-$c.log"; then
		echo "crashtest: cycle $c: the writing guest complained; $out/write-$c.log"
		fail=$((fail + 1))
	fi

	# Boot 2: a fresh machine on the same disks.
	QED_VM_DISKS=$disks QED_VM_TIMEOUT=900 "$(dirname "$0")/run-vm.sh" "$k" "$out/initrd.cpio" \
		"$out/verify-$c.log" qed.mode=script qed.disks=keep "qed.script=verify,$w"
	p=$(grep -c "^crash: ok " "$out/verify-$c.log")
	f=$(grep -c "^crash: not ok " "$out/verify-$c.log")
	splat=$(grep -cE "BUG:|WARNING:|Oops|Call Trace" "$out/verify-$c.log")
	grep -E "^crash: |^# " "$out/verify-$c.log" | sed 's/^/    /'
	if [ "$p" -eq 0 ] || [ "$splat" -gt 0 ] || ! grep -q "^vmtest: end" "$out/verify-$c.log"; then
		echo "crashtest: cycle $c: the verifier did not finish cleanly; $out/verify-$c.log"
		f=$((f + 1))
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done
rm -f "$out/fs.img" "$out/log.img"

# Reordering: one guest replays a dm-log-writes log of the file system under
# the image to points a cut could have left (CRASH_REORDER=0 skips it).
for w in ${CRASH_REORDER_WORKLOADS-empty overlay}; do
	[ "${CRASH_REORDER:-1}" = 0 ] && break
	disks="$out/data.img $out/dmlog.img $out/replay.img $out/wlog.img"
	# shellcheck disable=SC2086 # the disks' paths, one word each
	rm -f $disks
	truncate -s 1G "$out/data.img" "$out/replay.img"
	truncate -s 3G "$out/dmlog.img"
	truncate -s 64M "$out/wlog.img"
	seed=$(( (RANDOM << 15) | RANDOM ))
	QED_VM_DISKS=$disks QED_VM_TIMEOUT=1200 "$(dirname "$0")/run-vm.sh" "$k" "$out/initrd.cpio" \
		"$out/reorder-$w.log" qed.mode=script qed.disks=keep "qed.script=reorder,$w,$seed,20"
	p=$(grep -c "^crash: ok " "$out/reorder-$w.log")
	f=$(grep -c "^crash: not ok " "$out/reorder-$w.log")
	echo "crashtest: reorder ($w, seed $seed): $p passed, $f failed"
	grep -E "^crash: not ok|^# replay points|^crash: error" "$out/reorder-$w.log" | sed 's/^/    /'
	if [ "$p" -eq 0 ] || grep -qE "BUG:|WARNING:|Oops|Call Trace|crash: error" "$out/reorder-$w.log" ||
		! grep -q "^vmtest: end" "$out/reorder-$w.log"; then
		echo "crashtest: reorder ($w): the guest did not finish cleanly; $out/reorder-$w.log"
		f=$((f + 1))
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	# shellcheck disable=SC2086 # the disks' paths, one word each
	rm -f $disks
done
echo "crashtest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
