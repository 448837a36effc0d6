#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Random corruption: a valid written image gets random bytes of its header,
# its L1 table and its L2 tables overwritten, then is attached, read end to
# end, written and detached, round after round.  Each step may fail with an
# errno; none may hurt the kernel (a splat fails the test, see ktap.awk).
# QED_CORRUPT_ROUNDS sets the number of rounds (default 40).
. "$(dirname "$0")/lib.sh"
require qemu-img qemu-io dd od blkdiscard

ktap_print_header
ktap_set_plan 2
rounds=${QED_CORRUPT_ROUNDS:-40}

good="$WORK/good.qed"
qemu-img create -q -f qed -o cluster_size=4k,table_size=2 "$good" 32M ||
	ktap_exit_fail_msg "qemu-img create failed"
qemu-io -f qed -c 'write -P 1 0 1M' -c 'write -P 2 5M 300k' -c 'write -z 9M 64k' \
	-c 'write -P 3 20M 1M' -c 'write -P 4 31M 1M' "$good" >/dev/null ||
	ktap_exit_fail_msg "qemu-io failed"

# The metadata byte ranges: header cluster, L1 table, each L2 table.
l1=$(get64 "$good" 40)
tb=$((4096 * 2))
ranges="0:4096 $l1:$tb"
# The whole L1 table in one od: an od per entry took minutes under TCG.
for t in $(od -An -v -t u8 -j "$l1" -N "$tb" "$good"); do
	[ "$t" != 0 ] && ranges+=" $t:$tb"
done
read -r -a ranges <<<"$ranges"

t_rounds() {
	local attached=0 refused=0
	local r img="$WORK/bad.qed" n rg off len d
	RANDOM=4242
	for r in $(seq 1 "$rounds"); do
		cp "$good" "$img"
		n=$((1 + RANDOM % 16))
		for _ in $(seq "$n"); do
			rg=${ranges[$((RANDOM % ${#ranges[@]}))]}
			off=${rg%%:*}
			len=${rg##*:}
			# Headers hit less often: most rounds should attach.
			[ "$off" = 0 ] && [ $((RANDOM % 4)) -ne 0 ] && continue
			printf '%b' "\\x$(printf %02x $((RANDOM % 256)))" |
				dd of="$img" bs=1 seek=$((off + (RANDOM * 32768 + RANDOM) % len)) \
					conv=notrunc status=none
		done
		if ! d=$("$QEDCTL" attach "$img" 2>/dev/null); then
			refused=$((refused + 1))
			continue
		fi
		attached=$((attached + 1))
		dd if="$d" of=/dev/null bs=1M iflag=direct conv=noerror status=none 2>/dev/null
		dd if=/dev/urandom of="$d" bs=64k count=64 seek=$((RANDOM % 448)) oflag=direct \
			status=none 2>/dev/null
		blkdiscard -o $(( (RANDOM % 32) * 1048576 )) -l 1048576 "$d" 2>/dev/null
		"$QEDCTL" detach "$d" || { echo "round $r: detach failed"; return 1; }
		"$QEDCTL" check "$img" >/dev/null 2>&1
		[ $? -le 3 ] || { echo "round $r: qedctl check crashed"; return 1; }
	done
	echo "$rounds rounds: $attached attached, $refused refused at attach"
	echo "$attached" >"$WORK/attached"
}
check random_metadata_corruption_rounds t_rounds

# Not every round may be refused: the corruption must reach the tables.
t_some_attached() {
	[ "$(cat "$WORK/attached" 2>/dev/null || echo 0)" -gt $((rounds / 4)) ]
}
check most_corrupted_images_still_attach t_some_attached

ktap_finished
