#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Images written by QEMU read back through /dev/qedN byte for byte: the
# whole device's checksum equals that of `qemu-img convert -O raw`.
. "$(dirname "$0")/lib.sh"
require qemu-img qemu-io sha256sum

# cluster table size: what qemu-io writes.  QEMU 7.2 cannot create 2 MiB
# clusters with 16-cluster tables: its maximum-size arithmetic overflows.
# Each check converts, reads and hashes the whole image: sizes are what
# the case needs (4k/2 spans 16 L2 tables; one L2 table covers any of the
# others, and the zero workload ends at 20.5 MiB).
cases=(
	"4k 2 64M sparse"
	"64k 4 64M sparse"
	"64k 4 32M dense"
	"2M 8 64M sparse"
	"256k 16 64M sparse"
	"512k 8 24M zero"
	"64k 2 5000704 tail"
	"16k 16 48M dense"
)

ktap_print_header
ktap_set_plan ${#cases[@]}

# qemu-io commands for a workload, deterministic per case.
workload() {
	local kind=$1 size=$2 cs=$3 i off len
	RANDOM=$4
	case "$kind" in
	sparse)
		for i in $(seq 24); do
			off=$(( (RANDOM * 32768 + RANDOM) % (size / 512) * 512 ))
			len=$(( (RANDOM % 64 + 1) * 512 ))
			[ $((off + len)) -le "$size" ] || continue
			echo "-c 'write -P $((i + 1)) $off $len'"
		done
		;;
	dense)
		for i in $(seq 0 $((size / (1 << 20) - 1))); do
			echo "-c 'write -P $((i % 250 + 1)) $((i << 20)) 1M'"
		done
		;;
	zero)
		echo "-c 'write -P 7 0 4M' -c 'write -z 1M 1M' -c 'write -z 8M 2M'"
		echo "-c 'write -P 9 12M 512k' -c 'write -z 20M 512k'"
		;;
	tail)
		echo "-c 'write -P 3 0 64k' -c 'write -P 4 $((size - 4096)) 4096'"
		echo "-c 'write -P 5 $((size - 70000 / 512 * 512)) 8192'"
		;;
	esac
}

n=0
for c in "${cases[@]}"; do
	read -r cs ts size kind <<<"$c"
	n=$((n + 1))
	img="$WORK/interop-$n.qed"
	bytes=$(numfmt --from=iec "$size" 2>/dev/null || echo "$size")
	qemu-img create -q -f qed -o cluster_size="$cs",table_size="$ts" "$img" "$size" ||
		ktap_exit_fail_msg "qemu-img create $c failed"
	cmds=$(workload "$kind" "$bytes" "$cs" "$n" | tr '\n' ' ')
	eval qemu-io -f qed "$cmds" "$img" >/dev/null ||
		ktap_exit_fail_msg "qemu-io $c failed"
	t() {
		# A workload that wrote nothing would prove nothing.
		[ "$("$QEDCTL" info --json "$img" | sed 's/.*"data-clusters": \([0-9]*\).*/\1/')" -gt 0 ] ||
			{ echo "qemu-io allocated nothing"; return 1; }
		same_as_qemu "$img"
	}
	check "qemu_written_${cs}_${ts}_${size}_${kind}" t
	rm -f "$img"
done
ktap_finished
