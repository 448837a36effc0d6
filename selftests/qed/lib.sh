# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the qed shell selftests; sourced.
# shellcheck shell=bash

QED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null # kselftest's, copied in at build time
. "$QED_DIR/../kselftest/ktap_helpers.sh"

QEDCTL=${QEDCTL:-qedctl}
command -v "$QEDCTL" >/dev/null || QEDCTL="$QED_DIR/../../tools/qedctl/qedctl"
SCRATCH=${QED_SCRATCH:-/tmp}
# shellcheck disable=SC2034 # for the tests that source this file
SCRATCH_XFS=${QED_SCRATCH_XFS:-$SCRATCH}
WORK=$(mktemp -d "$SCRATCH/qedtest.XXXXXX")

qed_cleanup() {
	local m
	awk '$1 ~ /^\/dev\/qed/ { print $2 }' /proc/mounts | while read -r m; do
		umount "$m" 2>/dev/null
	done
	"$QEDCTL" detach --all 2>/dev/null
	rm -rf "$WORK"
}
trap qed_cleanup EXIT

require() {
	local t
	for t in "$@"; do
		if ! command -v "$t" >/dev/null; then
			ktap_skip_all "$t is not installed"
			exit "$KSFT_SKIP"
		fi
	done
	if [ ! -c /dev/qed-control ]; then
		ktap_skip_all "the qedblk module is not loaded"
		exit "$KSFT_SKIP"
	fi
}

# Run a check: its name, then the command.  Output goes to the log with
# a "# " prefix; the check's result is one KTAP line.
check() {
	local name=$1 out rc t0=$SECONDS
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out" | sed 's/^/# /' | tail -n 20
	# make check has a time budget: this line says where it goes.
	echo "# time $name $((SECONDS - t0))s"
	if [ $rc -eq 0 ]; then
		ktap_test_pass "$name"
	else
		ktap_test_fail "$name"
	fi
	return $rc
}

sum() {
	sha256sum "$1" | cut -d' ' -f1
}

# qed_attach IMAGE [qedctl attach options]: prints the device
qed_attach() {
	local img=$1
	shift
	"$QEDCTL" attach "$@" "$img"
}

qed_detach() {
	"$QEDCTL" detach "$1"
}

# sysfs_is DEV ATTR VALUE: /sys/block/qedN/qed/ATTR holds VALUE, or say what it holds.
sysfs_is() {
	local v
	v=$(cat "/sys/block/${1#/dev/}/qed/$2") || return 1
	[ "$v" = "$3" ] || { echo "$1 qed/$2: '$v', expected '$3'"; return 1; }
}

# within_clean_window DEV FIRST COUNT CHECK...: write COUNT 64 KiB
# clusters of DEV from cluster FIRST, never written before, then run CHECK,
# which looks for the NEED_CHECK that allocating sets.  The driver clears
# it once allocation has been idle 5 s (QED_CLEAN_DELAY), so a CHECK that
# fails 4 s or more after its write began may have come too late rather
# than found the driver wrong: that is said, and the write and CHECK are
# done again on the next COUNT clusters, three times at most.  A write
# that fails, or a CHECK that fails sooner, fails.  (bash 5's
# EPOCHREALTIME, in microseconds once its decimal point is gone.)
within_clean_window() {
	local dev=$1 first=$2 count=$3 try t0 ms
	shift 3
	for try in 1 2 3; do
		t0=${EPOCHREALTIME//[!0-9]/}
		dd if=/dev/urandom of="$dev" bs=64k count="$count" \
			seek=$((first + (try - 1) * count)) oflag=direct status=none || return 1
		"$@" && return 0
		ms=$(( (${EPOCHREALTIME//[!0-9]/} - t0) / 1000 ))
		[ "$ms" -ge 4000 ] || return 1
		echo "attempt $try: $* failed ${ms} ms after the write began," \
			"when NEED_CHECK may rightly be clear: inconclusive"
	done
	echo "no attempt fast enough to tell"
	return 1
}

# fio_verify FILE FIO-ARGS...: fio writes FILE with O_DIRECT as the
# arguments say and reads it back against crc32c checksums; on a failure,
# the first lines of fio's that say why.
fio_verify() {
	local file=$1 out
	shift
	out=$(fio --name=qedverify --filename="$file" --ioengine=libaio --direct=1 "$@" \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=0 --minimal 2>&1) &&
		return 0
	echo "$out" | grep -m 5 -E 'verify|error|err='
	return 1
}

# image_dirty IMG: qedctl info says NEED_CHECK is set in IMG's header.
image_dirty() {
	"$QEDCTL" info "$1" | grep -q '^dirty: yes'
}

# The image's guest content, by QEMU.
qemu_raw_sum() {
	local raw="$WORK/convert.raw"
	qemu-img convert -O raw "$1" "$raw" && sum "$raw"
	rm -f "$raw"
}

# The checksum of the whole device.
dev_sum() {
	sum "$1"
}

# same_as_qemu IMAGE: /dev/qedN of IMAGE, attached read-only, has the size
# and the bytes that qemu-img sees in it.
same_as_qemu() {
	local img=$1 dev want got
	want=$(qemu_raw_sum "$img") || return 1
	dev=$(qed_attach "$img" -r) || return 1
	got=$(dev_sum "$dev")
	[ "$(blockdev --getsize64 "$dev")" = "$(qemu-img info --output=json "$img" |
		awk -F'[:,]' '/"virtual-size"/ { gsub(/ /, "", $2); print $2 }')" ] ||
		{ echo "size differs"; qed_detach "$dev"; return 1; }
	qed_detach "$dev" || return 1
	[ "$want" = "$got" ] || { echo "qemu $want, qed $got"; return 1; }
}

# small_fs_up NAME SIZE [LOSETUP-OPTION...]: a fresh ext4 of SIZE on a loop
# device of its own, mounted at $SMALL_MNT ($WORK/NAME), so that what a test
# does to that file system (fill it, fail its requests) touches nothing
# else.  small_fs_down undoes it.
small_fs_up() {
	SMALL_MNT="$WORK/$1"
	mkdir -p "$SMALL_MNT"
	truncate -s "$2" "$WORK/$1.img" || return 1
	SMALL_LOOP=$(losetup -f --show "${@:3}" "$WORK/$1.img") || return 1
	mkfs.ext4 -q -F -b 4096 "$SMALL_LOOP" &&
		mount -t ext4 "$SMALL_LOOP" "$SMALL_MNT" || { losetup -d "$SMALL_LOOP"; return 1; }
}

small_fs_down() {
	umount "$SMALL_MNT"
	losetup -d "$SMALL_LOOP"
}

# Is the image clean: no corruption for QEMU, and neither corruption nor
# leak for our exact check.  QEMU 7.2's own check reports a few leaked
# clusters that do not exist on larger images with small clusters (an image
# written only by qemu-io shows it too), so QEMU's leak verdict (exit 3) is
# not trusted; its corruption verdict (exit 2) is.
qemu_check_clean() {
	local rc
	"$QEDCTL" check "$1" || return 1
	qemu-img check "$1"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 3 ]
}

# Little-endian 64-bit fields of an image: get64 FILE OFFSET, put64 FILE
# OFFSET VALUE.
get64() {
	od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '
}

put64() {
	local f=$1 off=$2 v=$3 i s=
	for i in 0 1 2 3 4 5 6 7; do
		s+=$(printf '\\x%02x' $(( (v >> (8 * i)) & 255 )))
	done
	# shellcheck disable=SC2059 # the format is the bytes, as \xHH escapes
	printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# QEMU finds no corruption (leaked clusters allowed: exit 0 or 3).
qemu_no_corruption() {
	local rc
	qemu-img check "$1"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 3 ]
}

# A field of `qemu-img check --output=json` (0 when absent).
qemu_check_field() {
	qemu-img check --output=json "$1" 2>/dev/null |
		sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" | head -n 1 | grep . || echo 0
}

qed_check_field() {
	"$QEDCTL" check --json "$1" | sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p"
}
