#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hand-damaged images: `qedctl check` counts what `qemu-img check` counts,
# `qedctl check --repair` leaves them without corruption and the data of
# untouched clusters unchanged; a read-write attach of an image marked
# NEED_CHECK repairs it in the kernel, a read-only one leaves it alone.
. "$(dirname "$0")/lib.sh"
require qemu-img qemu-io sha256sum cmp od dd dmesg

ktap_print_header
ktap_set_plan 11

CS=65536
K=1024
M=$((1024 * 1024))

# A 64 MiB image, 64 KiB clusters: data at 0, 1M (two clusters), 8M, 40M.
make_img() {
	local img=$1
	qemu-img create -q -f qed -o cluster_size=64k,table_size=4 "$img" 64M &&
	qemu-io -f qed -c 'write -P 1 0 64k' -c 'write -P 2 1M 128k' \
		-c 'write -P 3 8M 64k' -c 'write -P 4 40M 64k' "$img" >/dev/null
}

l2_of() {
	get64 "$1" $((CS))	# L1 entry 0
}

# The L2 entry of the guest cluster at byte $2.
entry_off() {
	echo $(( $(l2_of "$1") + ($2 / CS) * 8 ))
}

# The guest content outside [from, to): what damage must not touch.
outside_sum() {
	local img=$1 from=$2 to=$3 raw="$WORK/outside.raw"
	qemu-img convert -O raw "$img" "$raw" || return 1
	{
		dd if="$raw" bs=64k count=$((from / CS)) status=none
		dd if="$raw" bs=64k skip=$((to / CS)) status=none
	} | sha256sum | cut -d' ' -f1
	rm -f "$raw"
}

# case NAME DAMAGE-FUNCTION FROM TO: damage a fresh image, compare the
# counts with QEMU's, repair, check again; [FROM, TO) is the guest range
# the damage may change.
damaged() {
	local fn=$2 from=$3 to=$4 img="$WORK/$1.qed" before
	local qc ql oc ol rc
	make_img "$img" || return 1
	before=$(outside_sum "$img" "$from" "$to") || return 1
	"$fn" "$img" || return 1
	qc=$(qemu_check_field "$img" corruptions)
	ql=$(qemu_check_field "$img" leaks)
	oc=$(qed_check_field "$img" corruptions)
	ol=$(qed_check_field "$img" leaks)
	echo "qemu: $qc corruptions, $ql leaks; qedctl: $oc corruptions, $ol leaks"
	[ "$qc" = "$oc" ] && [ "$ql" = "$ol" ] || { echo "counts differ"; return 1; }
	[ "$oc" -gt 0 ] || [ "$ol" -gt 0 ] || { echo "the damage was not seen"; return 1; }
	"$QEDCTL" check --repair "$img"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 3 ] || { echo "repair left exit status $rc"; return 1; }
	# No corruption left; a leak may remain, punched (see t_size_after_repair).
	[ "$(qed_check_field "$img" corruptions)" = 0 ] || return 1
	[ "$(qed_check_field "$img" leaks-at-end)" = 0 ] || return 1
	qemu_no_corruption "$img" || return 1
	[ "$(outside_sum "$img" "$from" "$to")" = "$before" ] ||
		{ echo "data outside the damaged range changed"; return 1; }
}

d_past_eof() {
	put64 "$1" "$(entry_off "$1" $M)" $(( ($(stat -c %s "$1") / CS + 10) * CS ))
}
check repair_entry_past_eof damaged past_eof d_past_eof $M $((M + 64 * K))

d_misaligned() {
	local e
	e=$(entry_off "$1" $((M + CS)))
	put64 "$1" "$e" $(( $(get64 "$1" "$e") + 512 ))
}
check repair_misaligned_entry damaged misaligned d_misaligned $((M + CS)) $((M + 2 * CS))

d_into_l1() {
	put64 "$1" "$(entry_off "$1" $((8 * M)))" $((CS))
}
check repair_entry_into_l1_table damaged into_l1 d_into_l1 $((8 * M)) $((8 * M + CS))

d_leaks() {
	# One cluster dropped from its table (leaked inside the file) and
	# four clusters of garbage appended.
	get64 "$1" "$(entry_off "$1" $((8 * M)))" >"$WORK/leak-off"
	put64 "$1" "$(entry_off "$1" $((8 * M)))" 0
	head -c $((4 * CS)) /dev/urandom >>"$1"
}
check repair_leaked_clusters damaged leaks d_leaks $((8 * M)) $((8 * M + CS))

d_truncated() {
	# The file ends in the middle of the last data cluster (40M's).
	truncate -s $(( $(stat -c %s "$1") - 32 * K )) "$1"
}
check repair_truncated_last_cluster damaged truncated d_truncated $((40 * M)) $((40 * M + CS))

t_size_after_repair() {
	local img="$WORK/leaks.qed" off
	# The leaked tail is gone from the file after the repair above...
	[ $(( $(stat -c %s "$img") % CS )) -eq 0 ] || return 1
	[ "$(qed_check_field "$img" leaks-at-end)" = 0 ] || return 1
	# ...and the leaked cluster inside it (it held 0x03) is punched.
	off=$(cat "$WORK/leak-off")
	cmp -n $CS -i "$off:0" "$img" /dev/zero
}
check repair_cuts_the_tail_and_punches_inner_leaks t_size_after_repair

t_double_l2() {
	local img="$WORK/double.qed" qc oc
	make_img "$img" || return 1
	put64 "$img" $((CS + 8)) "$(l2_of "$img")"	# L1[1] = L1[0]
	qc=$(qemu_check_field "$img" corruptions)
	oc=$(qed_check_field "$img" corruptions)
	echo "qemu $qc, qedctl $oc corruptions"
	[ "$qc" = "$oc" ] && [ "$oc" -gt 0 ] || return 1
	# Which reference is right cannot be known: not repaired, still corrupt.
	"$QEDCTL" check --repair "$img"
	[ $? -eq 2 ] || { echo "a double reference was 'repaired'"; return 1; }
}
check l2_table_referenced_twice_is_reported_not_guessed t_double_l2

# NEED_CHECK (feature bit 0x2, header offset 16).
mark_dirty() {
	put64 "$1" 16 $(( $(get64 "$1" 16) | 2 ))
}

t_kernel_repair() {
	local img="$WORK/kdirty.qed" dev want
	make_img "$img" || return 1
	want=$(outside_sum "$img" $M $((M + 2 * CS))) || return 1
	put64 "$img" "$(entry_off "$img" $M)" $(( ($(stat -c %s "$img") / CS + 10) * CS ))
	d_misaligned "$img"
	head -c $((3 * CS)) /dev/zero >>"$img"
	mark_dirty "$img"
	dmesg -C
	dev=$(qed_attach "$img") || return 1
	dmesg | grep "qed" | sed 's/^/    /'
	[ "$(dmesg | grep -c "repair: L2 entry")" -eq 2 ] ||
		{ qed_detach "$dev"; echo "want two repair lines"; return 1; }
	dmesg | grep -q "checked after an unclean shutdown" ||
		{ qed_detach "$dev"; return 1; }
	# The repaired clusters read as zeros (nothing below), the rest as before.
	cmp -n $((2 * CS)) -i $((M)):0 "$dev" /dev/zero || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	[ "$(outside_sum "$img" $M $((M + 2 * CS)))" = "$want" ] || return 1
	"$QEDCTL" info "$img" | grep -q "^dirty: no" || { echo "still marked"; return 1; }
	[ "$(qed_check_field "$img" corruptions)" = 0 ] || return 1
	[ "$(qed_check_field "$img" leaks-at-end)" = 0 ] || return 1
	qemu_no_corruption "$img"
}
check kernel_repairs_dirty_image_at_attach t_kernel_repair

t_kernel_readonly_dirty() {
	local img="$WORK/rodirty.qed" dev before
	make_img "$img" || return 1
	put64 "$img" "$(entry_off "$img" $M)" $(( ($(stat -c %s "$img") / CS + 10) * CS ))
	mark_dirty "$img"
	before=$(sum "$img")
	dmesg -C
	dev=$(qed_attach "$img" -r) || return 1
	dmesg | grep -q "attached read-only without a check or repair" ||
		{ qed_detach "$dev"; echo "no warning"; return 1; }
	# Only the bad cluster fails; its neighbours read.
	if dd if="$dev" of=/dev/null bs=64k skip=16 count=1 iflag=direct status=none 2>/dev/null; then
		qed_detach "$dev"
		echo "the bad entry read without error"
		return 1
	fi
	dd if="$dev" of=/dev/null bs=64k skip=17 count=1 iflag=direct status=none ||
		{ qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	[ "$(sum "$img")" = "$before" ] || { echo "a read-only attach changed the image"; return 1; }
}
check kernel_leaves_dirty_image_alone_read_only t_kernel_readonly_dirty

t_kernel_unrepairable() {
	local img="$WORK/kdouble.qed" dev
	make_img "$img" || return 1
	put64 "$img" $((CS + 8)) "$(l2_of "$img")"
	mark_dirty "$img"
	dmesg -C
	dev=$(qed_attach "$img") || return 1
	dmesg | grep -q "cannot be repaired safely" || { qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	"$QEDCTL" info "$img" | grep -q "^dirty: yes" || { echo "the bit was cleared"; return 1; }
}
check kernel_keeps_unrepairable_image_marked t_kernel_unrepairable

t_clean_bit_after_detach() {
	local img="$WORK/cleanbit.qed" dev
	qemu-img create -q -f qed "$img" 16M || return 1
	dev=$(qed_attach "$img") || return 1
	within_clean_window "$dev" 0 4 image_dirty "$img" || { qed_detach "$dev"; echo "not set"; return 1; }
	qed_detach "$dev" || return 1
	"$QEDCTL" info "$img" | grep -q "^dirty: no"
}
check need_check_set_during_allocation_cleared_at_detach t_clean_bit_after_detach
ktap_finished
