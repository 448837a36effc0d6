#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot one kernel of the matrix under TCG with an initramfs and two fresh
# scratch disks; the console goes to LOG.
#   run-vm.sh NAME INITRD LOG [KERNEL ARGS...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: run-vm.sh NAME INITRD LOG [ARGS...]}
initrd=${2:?}
logf=${3:?}
shift 3
kern=$("$(dirname "$0")/kernel.sh" "$name")
dir=$(dirname "$logf")
# A guest that has not finished by then is stopped and counted as failed.
limit=${QED_VM_TIMEOUT:-2700}

# QEMU 7.2's TCG double-faults, now and then, on the cmpxchg16b that the
# 6.12 kernel's SLUB runs early in boot (measured: 2 boots in 4 failed with
# cx16, 8 in 8 passed without); without cx16 the kernel takes its fallback.
cpu=${QED_VM_CPU:-qemu64,-cx16}

# QED_VM_DISKS="A B": use these disk images, kept as they are (power-cut
# tests boot twice on the same disks); otherwise two fresh scratch disks.
if [ -n "${QED_VM_DISKS:-}" ]; then
	read -r -a disks <<<"$QED_VM_DISKS"
else
	disks=("$dir/scratch0.img" "$dir/scratch1.img")
	rm -f "${disks[@]}"
	truncate -s 3G "${disks[0]}"
	truncate -s 3G "${disks[1]}"
fi
# On the debug kernel failslab's cache-filter may pick the L2 cache's slab
# alone (slub_debug's A flag; it also keeps that cache from being merged).
extra=()
[ "$name" != debug ] || extra+=("slub_debug=A,qedblk_l2_chunk")

drives=()
for d in "${disks[@]}"; do
	drives+=(-drive "file=$d,if=virtio,format=raw,cache=unsafe")
done
rc=0
timeout --kill-after=10 "$limit" qemu-system-x86_64 \
	-accel tcg,thread=multi -cpu "$cpu" -smp 2 -m 2G -nographic -no-reboot \
	-kernel "$kern/vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet ${extra[*]} $*" \
	"${drives[@]}" -pidfile "$dir/qemu.pid" \
	</dev/null >"$logf" 2>&1 || rc=$?
[ -n "${QED_KEEP_SCRATCH:-}${QED_VM_DISKS:-}" ] || rm -f "${disks[@]}"
[ $rc -eq 124 ] && echo "vmtest: timeout after ${limit}s" >>"$logf"
exit 0
