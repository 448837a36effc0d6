#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qedctl map and compare say what qemu-img map and compare say: each case
# runs both on the same images and compares the output byte for byte, and
# the exit status.  Images are built with qemu-img and qemu-io, small.
set -u
SUITE=qedctl_map
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

# The images of every case; relative backing names, as users write them.
setup() {
	(
		cd "$tmp" || exit 1
		qemu-img create -q -f qed empty.qed 4M &&
		# Data, contiguous and not, a zero write, a partial cluster, a
		# cluster written with zeros (data to QED), a second L2 table.
		qemu-img create -q -f qed -o cluster_size=4k scat.qed 16M &&
		qio scat.qed -c 'write -P 1 0 64k' -c 'write -P 2 128k 4k' -c 'write -z 256k 64k' \
			-c 'write -P 3 64k 8k' -c 'write -z 1M 12k' -c 'write -P 0 2M 4k' \
			-c 'write -P 4 8188k 8k' -c 'write -P 5 60k 4k' &&
		qemu-img create -q -f qed base.qed 1M &&
		qio base.qed -c 'write -P 5 64k 64k' -c 'write -z 256k 64k' -c 'write -P 6 512k 4k' &&
		qemu-img create -q -f qed -b base.qed -F qed over.qed 2M &&
		qio over.qed -c 'write -P 7 0 64k' -c 'write -P 8 600k 4k' -c 'write -z 1536k 64k' \
			-c 'write -P 9 1600k 64k' &&
		qemu-img create -q -f raw base.raw 1M &&
		qemu-io -f raw -c 'write -P 5 64k 64k' -c 'write -P 6 512k 4k' base.raw >/dev/null &&
		qemu-img create -q -f qed -b base.raw -F raw overraw.qed 2M &&
		qio overraw.qed -c 'write -P 7 0 64k' -c 'write -P 8 600k 4k' -c 'write -z 1536k 64k' &&
		# Two levels, a backing name with a directory in it.
		mkdir sub && qemu-img create -q -f qed -b ../over.qed -F qed sub/top.qed &&
		qio sub/top.qed -c 'write -P 10 1M 64k'
	)
}

# Same stdout and exit status from "qemu-img ARGS..." and "qedctl ARGS...";
# stderr is each tool's own wording.
same() {
	local q d qrc drc
	q=$(cd "$tmp" && qemu-img "$@" 2>/dev/null)
	qrc=$?
	d=$(cd "$tmp" && "$QEDCTL_ABS" "$@" 2>/dev/null)
	drc=$?
	if [ "$q" != "$d" ] || [ $qrc -ne $drc ]; then
		echo "$*: qemu-img exit $qrc, qedctl exit $drc"
		diff <(printf '%s\n' "$q") <(printf '%s\n' "$d")
		return 1
	fi
	# A case that expects an exit status says so.
	[ -z "${want:-}" ] || [ "$qrc" -eq "$want" ] ||
		{ echo "$*: exit $qrc, expected $want"; return 1; }
}

map_json() { same map --output=json "$1"; }
map_human() { same map "$1" && same map --output=human "$1"; }
cmp() {
	local want=$1
	shift
	same compare "$@"
}

echo "TAP version 13"
echo "1..26"
QEDCTL_ABS=$(cd "$(dirname "$QEDCTL")" && pwd)/$(basename "$QEDCTL")
setup || { echo "Bail out! cannot build the images"; exit 1; }
qemu-img convert -O raw "$tmp/over.qed" "$tmp/over.raw"
qemu-img convert -O raw "$tmp/scat.qed" "$tmp/scat.raw"
cp "$tmp/scat.qed" "$tmp/scat2.qed"
qio "$tmp/scat2.qed" -c 'write -P 9 130000 1'
qemu-img create -q -f qed "$tmp/empty8.qed" 8M
qemu-img create -q -f qed "$tmp/tail.qed" 8M
qio "$tmp/tail.qed" -c 'write -P 1 6M 4k'

t map_json_empty map_json empty.qed
t map_json_scattered map_json scat.qed
t map_json_qed_backing map_json over.qed
t map_json_raw_backing map_json overraw.qed
t map_json_two_levels map_json sub/top.qed
t map_json_raw_image map_json base.raw
t map_human_scattered map_human scat.qed
t map_human_qed_backing map_human over.qed
t map_human_raw_backing map_human overraw.qed
t map_human_two_levels map_human sub/top.qed
t compare_identical cmp 0 scat.qed scat.qed
t compare_byte_differs cmp 1 scat.qed scat2.qed
t compare_byte_differs_other_way cmp 1 scat2.qed scat.qed
t compare_byte_differs_quiet cmp 1 -q scat.qed scat2.qed
t compare_sizes_zero_tail cmp 0 empty.qed empty8.qed
t compare_sizes_zero_tail_strict cmp 1 -s empty.qed empty8.qed
t compare_sizes_data_tail cmp 1 empty.qed tail.qed
t compare_qed_raw cmp 0 scat.qed scat.raw
t compare_raw_qed cmp 0 scat.raw scat.qed
t compare_chain_raw cmp 0 over.qed over.raw
t compare_chain_raw_strict cmp 1 -s over.qed over.raw
t compare_chains_differ cmp 1 over.qed sub/top.qed
t compare_raw_backing_differs cmp 1 overraw.qed over.qed
t compare_missing_file cmp 2 scat.qed missing.qed
# qedctl: usage errors are 2 (qemu-img says 1, as for "different"); --strict
# is qedctl's long spelling of -s (qemu-img 7.2 has none).
t compare_strict_long_option sh -c \
	'"$0" compare --strict "$1" "$1" | grep -qx "Images are identical."' "$QEDCTL" "$tmp/over.qed"
t compare_usage_error sh -c '"$0" compare only.qed 2>/dev/null; [ $? -eq 2 ]' "$QEDCTL"
tap_totals
