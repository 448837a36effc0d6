#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Malformed images, made here from a valid one field by field: each header
# field out of range in each direction is refused with its errno and one
# kernel log line; bad table entries fail exactly the I/O that meets them;
# a truncated or shrinking file fails reads, never the kernel.
. "$(dirname "$0")/lib.sh"
require qemu-img dd od dmesg truncate sha256sum cmp

ktap_print_header

K=4096
M=$((1024 * 1024))
base="$WORK/base.qed"
# 4 KiB clusters and one-cluster tables: one L2 table covers 2 MiB, so the
# L1 entries of a 16 MiB image are 8 and each bad one hits a small range.
# qemu-img: qedctl creates only geometries QEMU can open again.
qemu-img create -q -f qed -o cluster_size=4K,table_size=1 "$base" 16M ||
	ktap_exit_fail_msg "qemu-img create failed"
dev=$("$QEDCTL" attach "$base") || ktap_exit_fail_msg "attach failed"
for i in $(seq 0 15); do
	head -c $M /dev/zero | tr '\0' "\\$(printf '%03o' $((i + 1)))"
done | dd of="$dev" bs=1M oflag=direct status=none
"$QEDCTL" detach "$dev" || ktap_exit_fail_msg "detach failed"

put32() {
	local f=$1 off=$2 v=$3 i s=
	for i in 0 1 2 3; do
		s+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 255 )))
	done
	# shellcheck disable=SC2059 # the format is the bytes, as \xHH escapes
	printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# refuse NAME ERRNO-TEXT COMMAND...: the command damages a copy of the
# image; attaching it must fail with ERRNO-TEXT and one kernel log line.
refuse() {
	local name=$1 want=$2 img="$WORK/$1.qed" out lines
	shift 2
	cp "$base" "$img"
	"$@" "$img"
	dmesg -C
	if out=$("$QEDCTL" attach "$img" 2>&1); then
		"$QEDCTL" detach "$out"
		ktap_test_fail "refused_$name (attached)"
		return
	fi
	lines=$(dmesg | grep -c "qed")
	printf '%s\n' "$out" | sed 's/^/# /'
	dmesg | grep qed | sed 's/^/# kernel: /'
	if echo "$out" | grep -q "$want" && [ "$lines" -eq 1 ]; then
		ktap_test_pass "refused_$name"
	else
		ktap_test_fail "refused_$name (want '$want' and one log line, got $lines)"
	fi
	rm -f "$img"
}

# Header fields: magic 0, cluster_size 4, table_size 8, header_size 12,
# features 16, compat 24, autoclear 32, l1_table_offset 40, image_size 48,
# backing name offset 56 and size 60.
EINVAL="Invalid argument"
cases=(
	"magic|$EINVAL|put32 @ 0 0x00444550"
	"cluster_size_zero|$EINVAL|put32 @ 4 0"
	"cluster_size_2k|$EINVAL|put32 @ 4 2048"
	"cluster_size_not_power_of_two|$EINVAL|put32 @ 4 12288"
	"cluster_size_128m|$EINVAL|put32 @ 4 $((128 * M))"
	"cluster_size_max|$EINVAL|put32 @ 4 0xffffffff"
	"table_size_zero|$EINVAL|put32 @ 8 0"
	"table_size_3|$EINVAL|put32 @ 8 3"
	"table_size_32|$EINVAL|put32 @ 8 32"
	"table_size_max|$EINVAL|put32 @ 8 0xffffffff"
	"header_size_zero|$EINVAL|put32 @ 12 0"
	"header_size_overflows|$EINVAL|put32 @ 12 0x100000"
	"header_over_l1|$EINVAL|put32 @ 12 2"
	"feature_bit_3|Operation not supported|put64 @ 16 8"
	"feature_bit_32|Operation not supported|put64 @ 16 $((1 << 32))"
	"feature_bit_62|Operation not supported|put64 @ 16 $((1 << 62))"
	"image_size_not_sectors|File too large|put64 @ 48 $((16 * M + 100))"
	"image_size_above_max|File too large|put64 @ 48 $((1 << 62))"
	"l1_in_header|$EINVAL|put64 @ 40 0"
	"l1_misaligned|$EINVAL|put64 @ 40 $((K + 512))"
	"l1_past_eof|$EINVAL|put64 @ 40 $((1 << 40))"
	"l1_offset_overflows|$EINVAL|put64 @ 40 $(( (1 << 63) - K + (1 << 63) ))"
	"backing_name_outside_header|File name too long|backing 4000 200"
	"backing_name_empty|File name too long|backing 64 0"
	"backing_name_offset_max|File name too long|backing 0xffffffff 8"
	"backing_name_absurdly_long|File name too long|backing 64 0x7fffffff"
	"no_probe_without_backing|$EINVAL|put64 @ 16 4"
	"truncated_in_header|$EINVAL|truncate -s 30"
	"truncated_in_l1|$EINVAL|truncate -s 6000"
)

# The damage commands take the image last.
put32_at() { put32 "$3" "$1" "$2"; }
put64_at() { put64 "$3" "$1" "$2"; }
backing() { put64 "$3" 16 1; put32 "$3" 56 "$1"; put32 "$3" 60 "$2"; }

table_cases=10
ktap_set_plan $(( ${#cases[@]} + 3 + table_cases ))

for c in "${cases[@]}"; do
	IFS='|' read -r name want cmd <<<"$c"
	read -r -a w <<<"$cmd"
	case "${w[0]}" in
	put32 | put64) refuse "$name" "$want" "${w[0]}_at" "${w[2]}" "${w[3]}" ;;
	backing) refuse "$name" "$want" backing "${w[1]}" "${w[2]}" ;;
	truncate) refuse "$name" "$want" truncate "${w[1]}" "${w[2]}" ;;
	esac
done

# Unknown compat bits are ignored, unknown autoclear bits cleared.
t_compat() {
	local img="$WORK/compat.qed" d
	cp "$base" "$img"
	put64 "$img" 24 $((1 << 20))
	put64 "$img" 32 $((1 << 9))
	d=$("$QEDCTL" attach "$img") || return 1
	"$QEDCTL" detach "$d" || return 1
	[ "$(get64 "$img" 32)" = 0 ] && [ "$(get64 "$img" 24)" = $((1 << 20)) ]
}
check unknown_compat_and_autoclear_bits_attach t_compat

l1_entry() { echo $((K + $2 * 8)); }
l2_table() { get64 "$1" "$(l1_entry "$1" "$2")"; }

# table_case NAME WANT-BAD-RUNS DAMAGE...: only those blocks fail to read,
# and writing them fails too while the rest of the device takes writes.
table_case() {
	local name=$1 want=$2 img="$WORK/$1.qed" d got
	shift 2
	cp "$base" "$img"
	"$@" "$img"
	d=$("$QEDCTL" attach "$img") || { ktap_test_fail "$name (attach)"; return; }
	got=$("$(dirname "$0")/qed_unreadable" "$d")
	echo "# unreadable 4 KiB blocks: ${got:-none}"
	if [ "$got" != "$want" ]; then
		"$QEDCTL" detach "$d"
		ktap_test_fail "$name (want unreadable: ${want:-none})"
		return
	fi
	# Writes: the bad range fails, the blocks next to it do not.
	if [ -n "$want" ]; then
		local first=${want%%-*}
		if dd if=/dev/zero of="$d" bs=4096 seek="$first" count=1 oflag=direct \
			status=none 2>/dev/null; then
			"$QEDCTL" detach "$d"
			ktap_test_fail "$name (a write through the bad entry succeeded)"
			return
		fi
	fi
	dd if=/dev/zero of="$d" bs=4096 seek=0 count=1 oflag=direct status=none ||
		{ "$QEDCTL" detach "$d"; ktap_test_fail "$name (write elsewhere)"; return; }
	"$QEDCTL" detach "$d" || { ktap_test_fail "$name (detach)"; return; }
	ktap_test_pass "$name"
}

size=$(stat -c %s "$base")
l1_past() { put64 "$1" "$(l1_entry "$1" 2)" $(( (size / K + 100) * K )); }
l1_misaligned() { put64 "$1" "$(l1_entry "$1" 3)" $(( $(l2_table "$1" 3) + 8 )); }
l1_into_l1() { put64 "$1" "$(l1_entry "$1" 4)" $K; }
l2_past() { put64 "$1" $(( $(l2_table "$1" 0) + 10 * 8 )) $(( (size / K + 7) * K )); }
l2_misaligned() { put64 "$1" $(( $(l2_table "$1" 1) + 20 * 8 )) 12345; }
l2_into_l1() { put64 "$1" $(( $(l2_table "$1" 7) + 511 * 8 )) $K; }
l2_into_header() { put64 "$1" $(( $(l2_table "$1" 6) + 3 * 8 )) 0x200; }

# An L2 table on top of a data cluster: its "entries" are guest bytes
# (0x01 repeated), misaligned offsets all.
l1_onto_data() { put64 "$1" "$(l1_entry "$1" 5)" "$(get64 "$1" "$(l2_table "$1" 0)")"; }
# The image was written front to back, so the last L2 table and the last
# data cluster lie at the end of the file.
cut_in_last_l2() { truncate -s $(( $(l2_table "$1" 7) + 2000 )) "$1"; }
cut_in_last_cluster() { truncate -s $(( size - 100 )) "$1"; }

table_case l1_entry_past_eof "1024-1535 " l1_past
table_case l1_entry_misaligned "1536-2047 " l1_misaligned
table_case l1_entry_into_l1_table "2048-2559 " l1_into_l1
table_case l2_entry_past_eof "10-10 " l2_past
table_case l2_entry_misaligned "532-532 " l2_misaligned
table_case l2_entry_into_l1_table "4095-4095 " l2_into_l1
table_case l2_entry_in_header_misaligned "3075-3075 " l2_into_header
table_case l2_table_onto_a_data_cluster "2560-3071 " l1_onto_data
table_case truncated_in_l2_table "3584-4095 " cut_in_last_l2
table_case truncated_in_data_cluster "4095-4095 " cut_in_last_cluster

# Two L1 entries naming one L2 table alias two guest ranges; that is the
# image's own business (qemu-img check calls it corruption), but reads
# and writes stay inside the image and nothing else happens.
t_overlap() {
	local img="$WORK/overlap.qed" d a b
	cp "$base" "$img"
	put64 "$img" "$(l1_entry "$img" 3)" "$(l2_table "$img" 1)"
	d=$("$QEDCTL" attach "$img") || return 1
	a=$(dd if="$d" bs=2M skip=1 count=1 iflag=direct status=none | sha256sum)
	b=$(dd if="$d" bs=2M skip=3 count=1 iflag=direct status=none | sha256sum)
	[ "$a" = "$b" ] || { "$QEDCTL" detach "$d"; echo "ranges 1 and 3 differ"; return 1; }
	head -c 4096 /dev/urandom >"$WORK/blk"
	dd if="$WORK/blk" of="$d" bs=4096 seek=$((3 * 512 + 9)) oflag=direct status=none ||
		{ "$QEDCTL" detach "$d"; return 1; }
	cmp -s "$WORK/blk" <(dd if="$d" bs=4096 skip=$((512 + 9)) count=1 iflag=direct \
		status=none) || { "$QEDCTL" detach "$d"; echo "the alias did not see it"; return 1; }
	"$QEDCTL" detach "$d" || return 1
	# Nothing outside the image's clusters moved: same size, same header.
	[ "$(stat -c %s "$img")" = "$size" ] &&
		cmp -s <(head -c 4096 "$img") <(head -c 4096 "$base")
}
check l1_entries_sharing_an_l2_table_alias t_overlap

t_shrinking() {
	local img="$WORK/shrink.qed" d
	cp "$base" "$img"
	d=$("$QEDCTL" attach "$img") || return 1
	# The file loses its second half under the attached device.
	truncate -s $(( size / 2 )) "$img"
	echo 3 >/proc/sys/vm/drop_caches
	dd if="$d" of=/dev/null bs=1M iflag=direct status=none 2>/dev/null &&
		{ "$QEDCTL" detach "$d"; echo "everything read"; return 1; }
	dd if="$d" of=/dev/null bs=4096 count=1 iflag=direct status=none ||
		{ "$QEDCTL" detach "$d"; echo "the first block no longer reads"; return 1; }
	dd if=/dev/zero of="$d" bs=1M count=16 oflag=direct status=none 2>/dev/null
	"$QEDCTL" detach "$d"
}
check file_shrinking_while_attached_fails_reads_only t_shrinking

ktap_finished
