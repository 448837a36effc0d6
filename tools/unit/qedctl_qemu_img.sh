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

echo "TAP version 13"
echo "1..2"
t sizes_read_as_qemu_img_reads_them t_sizes
t json_keys_as_qemu_img t_json
tap_totals
