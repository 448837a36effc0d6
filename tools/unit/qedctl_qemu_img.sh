#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Where qedctl speaks qemu-img's dialect, it says what qemu-img says: each
# case runs both on the same input and compares.
set -u
SUITE=qedctl_qemu_img
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

# The virtual size an image created with SIZE gets, or "refused".
qemu_size() {
	qemu-img create -q -f qed "$tmp/q.qed" "$1" >/dev/null 2>&1 &&
		qemu-img info --output=json "$tmp/q.qed" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p' ||
		echo refused
	rm -f "$tmp/q.qed"
}
qedctl_size() {
	"$QEDCTL" create -s "$1" "$tmp/d.qed" >/dev/null 2>&1 &&
		"$QEDCTL" info --json "$tmp/d.qed" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p' ||
		echo refused
	rm -f "$tmp/d.qed"
}

# Not compared: qemu-img's deprecated suffixes on hexadecimal numbers
# (0x10K), and the leading '+' and blanks strtoull lets through.
t_sizes() {
	local s q d bad=0
	for s in 512 64K 64k 1.5G 1.5g 2t 1.25M 3.3333M 0.5K 1.k 1.K 1. 1.0 007 0x10 0X200 \
		 1.5 1.5B 0x1.5K 2.e 1e3 1Z -1 "" 1P 64T 18446744073709551616; do
		q=$(qemu_size "$s")
		d=$(qedctl_size "$s")
		[ "$q" = "$d" ] || { echo "'$s': qemu-img $q, qedctl $d"; bad=1; }
	done
	return $bad
}

# Every key qemu-img's JSON has, qedctl's has with the same value.
same_json() {
	local q=$1 d=$2 k bad=0
	for k in $(echo "$q" | jq -r 'keys[]'); do
		[ "$(echo "$q" | jq -c ".\"$k\"")" = "$(echo "$d" | jq -c ".\"$k\"")" ] ||
			{ echo "$k: qemu-img $(echo "$q" | jq -c ".\"$k\""), qedctl $(echo "$d" | jq -c ".\"$k\"")"; bad=1; }
	done
	return $bad
}

t_json() {
	local img="$tmp/j.qed" bad=0
	qemu-img create -q -f qed "$img" 16M || return 1
	qemu-io -f qed -c 'write -P 1 0 64k' -c 'write -P 2 4M 8k' "$img" >/dev/null || return 1
	same_json "$(qemu-img info --output=json "$img")" \
		"$("$QEDCTL" info --output=json "$img")" || bad=1
	same_json "$(qemu-img check --output=json "$img")" \
		"$("$QEDCTL" check --output=json "$img")" || bad=1
	# A leaked cluster at the end; qemu-img's keys for it, too.
	head -c 64K /dev/zero >>"$img"
	same_json "$(qemu-img check --output=json "$img")" \
		"$("$QEDCTL" check --output=json "$img")" || bad=1
	return $bad
}

# qedctl creates exactly the geometries QEMU opens again: qemu-img creates
# some it cannot open (one-cluster tables; N * N * cluster_size >= 2^64).
t_geometries() {
	local c t q d bad=0
	for c in 4K 2M 4M 8M; do
		for t in 1 2 4 16; do
			rm -f "$tmp/g.qed" "$tmp/h.qed"
			q=refused
			qemu-img create -q -f qed -o "cluster_size=$c,table_size=$t" "$tmp/g.qed" 1G \
				>/dev/null 2>&1 &&
				qemu-io -f qed -c 'read 0 512' "$tmp/g.qed" >/dev/null 2>&1 && q=opens
			d=refused
			if "$QEDCTL" create -s 1G -c "$c" -t "$t" "$tmp/h.qed" >"$tmp/out" 2>&1; then
				d=opens
				qemu-io -f qed -c 'read 0 512' "$tmp/h.qed" >/dev/null 2>&1 ||
					d="created, but qemu-io cannot open it"
			elif ! grep -q "QEMU cannot open.*; .*use" "$tmp/out"; then
				d="refused without saying why: $(cat "$tmp/out")"
			fi
			[ "$q" = "$d" ] || { echo "-c $c -t $t: qemu $q, qedctl $d"; bad=1; }
		done
	done
	return $bad
}

# -o takes qemu-img create's options, with its messages.
t_create_options() {
	local o bad=0 q d
	head -c 1M /dev/zero >"$tmp/base.raw"
	for o in cluster_size=4K,table_size=8 table_size=16,cluster_size=128K \
		 backing_file=base.raw,backing_fmt=raw; do
		rm -f "$tmp/o1.qed" "$tmp/o2.qed"
		qemu-img create -q -f qed -o "$o" "$tmp/o1.qed" 4M || return 1
		"$QEDCTL" create -s 4M -o "$o" "$tmp/o2.qed" || { echo "-o $o refused"; bad=1; continue; }
		same_json "$(qemu-img info --output=json "$tmp/o1.qed" | jq 'del(.filename, ."actual-size", ."dirty-flag", ."format-specific")')" \
			"$(qemu-img info --output=json "$tmp/o2.qed")" || { echo "-o $o"; bad=1; }
	done
	# Two -o, and size= instead of -s.
	"$QEDCTL" create -o cluster_size=4K -o size=2M,table_size=2 "$tmp/o3.qed" &&
		qemu-img info "$tmp/o3.qed" | grep -q "^virtual size: 2 MiB" || { echo "two -o"; bad=1; }
	for o in foo=1 cluster_size=64K,foo; do
		q=$(qemu-img create -f qed -o "$o" "$tmp/o4.qed" 1M 2>&1 | sed 's/.*: //')
		d=$("$QEDCTL" create -s 1M -o "$o" "$tmp/o4.qed" 2>&1 | sed 's/.*: //')
		[ "$q" = "$d" ] || { echo "-o $o: qemu-img '$q', qedctl '$d'"; bad=1; }
		[ ! -e "$tmp/o4.qed" ] || { echo "-o $o: an image was created"; bad=1; }
	done
	q=$(qemu-img create -f qed -o help | grep '=<')
	d=$("$QEDCTL" create -o help | grep '=<')
	[ "$q" = "$d" ] || { echo "-o help differs:"; diff <(echo "$q") <(echo "$d"); bad=1; }
	return $bad
}

# An image with 4 data clusters (5..8) and its L2 table (9..12) after them,
# damaged: "leaks" zeroes the entries of clusters 6 and 8 (leaked in the
# middle of the file), "corrupt" points the entry of cluster 6 past EOF.
damaged() {
	local img=$1 l2
	qemu-img create -q -f qed "$img" 16M &&
		qemu-io -f qed -c 'write -P 1 0 256k' "$img" >/dev/null || return 1
	l2=$(od -An -t u8 -j 65536 -N 8 "$img" | tr -d ' ')
	if [ "$2" = leaks ]; then
		dd if=/dev/zero of="$img" bs=8 seek=$((l2 / 8 + 1)) count=1 conv=notrunc status=none
		dd if=/dev/zero of="$img" bs=8 seek=$((l2 / 8 + 3)) count=1 conv=notrunc status=none
	else
		printf '\0\0\0\20\0\0\0\0' | dd of="$img" bs=1 seek=$((l2 + 8)) conv=notrunc status=none
	fi
}

# check -r MODE: exit status and JSON as qemu-img check -r MODE's on the
# same damage, describing the image after the repair.
repair_as_qemu_img() {
	local mode=$1 kind=$2 q d qrc drc
	damaged "$tmp/rq.qed" "$kind" && cp "$tmp/rq.qed" "$tmp/rd.qed" || return 1
	q=$(qemu-img check -r "$mode" --output=json "$tmp/rq.qed")
	qrc=$?
	d=$("$QEDCTL" check -r "$mode" --output=json "$tmp/rd.qed" 2>/dev/null)
	drc=$?
	[ $qrc = $drc ] || { echo "-r $mode on $kind: qemu-img exit $qrc, qedctl $drc"; return 1; }
	same_json "$(echo "$q" | jq 'del(.filename)')" "$d" || { echo "-r $mode on $kind"; return 1; }
}

t_repair_leaks() {
	local out rc bad=0
	repair_as_qemu_img all leaks || bad=1
	repair_as_qemu_img leaks leaks || bad=1
	# Punched leaks are still leaks (for qemu-img too): never "repaired".
	# (--repair alone, as before there were modes, means all.)
	out=$("$QEDCTL" check --repair --output=json "$tmp/rd.qed")
	rc=$?
	[ $rc = 3 ] || { echo "exit $rc after a second repair"; bad=1; }
	[ "$(echo "$out" | jq '."leaks-fixed" + ."leaks-punched"')" = 0 ] ||
		{ echo "a second repair fixed something: $out"; bad=1; }
	out=$("$QEDCTL" check -r "$tmp/rd.qed")
	echo "$out" | grep -q "repaired" && { echo "says repaired: $out"; bad=1; }
	qemu-img check "$tmp/rd.qed" >/dev/null
	[ $? = 3 ] || { echo "qemu-img: not leaks only after the repairs"; bad=1; }
	# Leaks at the end of the file are cut off: no longer leaks.
	qemu-img create -q -f qed "$tmp/tail.qed" 16M && head -c 128K /dev/zero >>"$tmp/tail.qed"
	out=$("$QEDCTL" check -r leaks "$tmp/tail.qed") || { echo "leaks at the end remain"; bad=1; }
	echo "$out" | grep -q "^    2 leaked clusters$" || { echo "not reported: $out"; bad=1; }
	qemu-img check "$tmp/tail.qed" >/dev/null || { echo "qemu-img: not clean"; bad=1; }
	return $bad
}

t_repair_corruption() {
	local out bad=0 sum
	repair_as_qemu_img all corrupt || bad=1
	# -r leaks never touches a table (QEMU 7.2's QED check does).
	damaged "$tmp/c.qed" corrupt || return 1
	sum=$(sha256sum <"$tmp/c.qed")
	out=$("$QEDCTL" check -r leaks --output=json "$tmp/c.qed" 2>&1)
	[ $? = 2 ] || { echo "-r leaks on a corrupt image: exit not 2"; bad=1; }
	[ "$(sha256sum <"$tmp/c.qed")" = "$sum" ] || { echo "-r leaks changed a corrupt image"; bad=1; }
	out=$("$QEDCTL" check -r all "$tmp/c.qed" 2>/dev/null)
	printf '%s\n' "$out" | diff - <(damaged "$tmp/c2.qed" corrupt &&
		qemu-img check -r all "$tmp/c2.qed" | sed -n '1,8p') | grep '^>' &&
		{ echo "the repair report differs from qemu-img's"; bad=1; }
	return $bad
}

# resize IMAGE as qemu-img resize: grows, never shrinks, never in use.
t_resize() {
	local img="$tmp/r.qed" q bad=0
	qemu-img create -q -f qed "$img" 16M &&
		qemu-io -f qed -c 'write -P 7 0 64k' "$img" >/dev/null || return 1
	# Stale L1 entries past the old size must never become tables.
	printf '\377\377\377\377\377\377\377\377' |
		dd of="$img" bs=1 seek=$((65536 + 8)) conv=notrunc status=none
	"$QEDCTL" resize "$img" 8G >/dev/null || { echo "resize 8G failed"; return 1; }
	[ "$(qemu-img info --output=json "$img" | jq '."virtual-size"')" = 8589934592 ] ||
		{ echo "not 8G for qemu-img"; bad=1; }
	qemu-img check "$img" >/dev/null || { echo "qemu-img check: not clean"; bad=1; }
	qemu-io -f qed -c 'read -P 7 0 64k' -c 'read -P 0 2G 64k' "$img" | grep -q "Pattern verification failed" &&
		{ echo "data changed"; bad=1; }
	"$QEDCTL" resize "$img" +1M >/dev/null &&
		[ "$(qemu-img info --output=json "$img" | jq '."virtual-size"')" = $((8589934592 + 1048576)) ] ||
		{ echo "+1M"; bad=1; }
	# Shrinks and bad sizes: refused, with qemu-img's exit status and words.
	cp "$img" "$tmp/r2.qed"
	for a in "1M" "--shrink 1M" "-1M" "--shrink -1M" "100T" "+1"; do
		# shellcheck disable=SC2086 # an option and its value, or a value
		set -- $a
		[ $# = 2 ] || set -- "" "$1"
		q=$(qemu-img resize ${1:+"$1"} "$tmp/r2.qed" -- "$2" 2>&1 >/dev/null |
			sed -n '1s/.*: //p'; echo "${PIPESTATUS[0]}")
		d=$("$QEDCTL" resize ${1:+"$1"} "$img" "$2" 2>&1 >/dev/null |
			sed -n '1s/.*: //p' | sed 's/ (.*//'; echo "${PIPESTATUS[0]}")
		[ "$q" = "$d" ] || { echo "resize $a: qemu-img '$q', qedctl '$d'"; bad=1; }
	done
	# Never while QEMU has the image.
	qemu_io_hold "$img" || return 1
	"$QEDCTL" resize "$img" 9G >"$tmp/out" 2>&1 && { echo "resized under qemu-io"; bad=1; }
	grep -q 'Failed to get "write" lock' "$tmp/out" || { cat "$tmp/out"; bad=1; }
	qemu_io_release
	[ "$(qemu-img info --output=json "$img" | jq '."virtual-size"')" = $((8589934592 + 1048576)) ] ||
		{ echo "the size changed under qemu-io"; bad=1; }
	return $bad
}

echo "TAP version 13"
echo "1..7"
t sizes_read_as_qemu_img_reads_them t_sizes
t json_keys_as_qemu_img t_json
t geometries_as_qemu_opens_them t_geometries
t create_options_as_qemu_img t_create_options
t repair_leaks_as_qemu_img t_repair_leaks
t repair_corruption_as_qemu_img t_repair_corruption
t resize_as_qemu_img t_resize
tap_totals
