#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qedctl mount and umount where no module is needed: every mistake is
# named before anything is attached, and nothing but qed devices' mounts
# is unmounted.  The mounts themselves run in the guest.
set -u
SUITE=qedctl_mount
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

[ -e /dev/qed-control ] && { echo "1..0 # SKIP qedblk is loaded on this host"; exit 0; }
echo "TAP version 13"

# says STATUS MESSAGE ARGS...: qedctl ARGS fails with STATUS, and MESSAGE
# is the first line it prints.
says() {
	local want_rc=$1 want=$2 out rc
	shift 2
	out=$("$QEDCTL" "$@" 2>&1)
	rc=$?
	[ "$rc" = "$want_rc" ] && [ "$(echo "$out" | head -1)" = "$want" ] ||
		{ echo "status $rc, said:"; echo "$out"; return 1; }
}

"$QEDCTL" create -s 16M "$tmp/a.qed" >/dev/null
mkdir "$tmp/dir"
t missing_args says 1 "qedctl: mount: missing IMAGE or DIR" mount
t missing_dir says 1 "qedctl: mount: missing IMAGE or DIR" mount "$tmp/a.qed"
t too_many says 1 "qedctl: mount: one IMAGE and one DIR" mount "$tmp/a.qed" "$tmp/dir" x
t bad_option says 1 "mount: unrecognized option '--bogus'" mount --bogus "$tmp/a.qed" "$tmp/dir"
t loop_refused says 1 "qedctl: mount: -o loop, offset and sizelimit are loop device options; the image is attached whole, as /dev/qedN" \
	mount -o ro,loop "$tmp/a.qed" "$tmp/dir"
t offset_refused says 1 "qedctl: mount: -o loop, offset and sizelimit are loop device options; the image is attached whole, as /dev/qedN" \
	mount -o offset=4096 "$tmp/a.qed" "$tmp/dir"
t no_dir says 1 "qedctl: $tmp/nodir: No such file or directory" mount "$tmp/a.qed" "$tmp/nodir"
t dir_not_dir says 1 "qedctl: $tmp/a.qed: not a directory" mount "$tmp/a.qed" "$tmp/a.qed"
t no_image says 1 "qedctl: $tmp/none.qed: No such file or directory" mount "$tmp/none.qed" "$tmp/dir"
t no_module says 1 "qedctl: /dev/qed-control: No such file or directory (is the qedblk module loaded?)" \
	mount "$tmp/a.qed" "$tmp/dir"
t_nothing_left() {
	# The failed attempts above touched nothing: the image is not locked
	# or marked, the directory is empty.
	"$QEDCTL" check "$tmp/a.qed" >/dev/null && [ -z "$(ls -A "$tmp/dir")" ] &&
		! grep -q " $tmp/dir " /proc/self/mountinfo
}
t nothing_left_behind t_nothing_left

t umount_missing says 1 "qedctl: umount: missing DIR or DEVICE" umount
t umount_too_many says 1 "qedctl: umount: one DIR or DEVICE" umount a b
t umount_not_mounted says 1 "qedctl: $tmp/dir: not mounted" umount "$tmp/dir"
# Another file system is umount(8)'s business: refused, still mounted.
t_umount_other() {
	says 1 "qedctl: /proc: not a qed device's file system (proc); umount(8) unmounts it" umount /proc &&
		grep -q " /proc proc " /proc/self/mounts
}
t umount_refuses_other_fs t_umount_other
t_umount_root_dev() {
	local src
	src=$(findmnt -n -o SOURCE / 2>/dev/null)
	case $src in /dev/*) ;; *) echo "/ is on $src: skipped"; return 0 ;; esac
	says 1 "qedctl: $src: not a qed device's file system ($src); umount(8) unmounts it" umount "$src"
}
t umount_refuses_other_device t_umount_root_dev
t help sh -c '"$1" mount --help | grep -q "as mount -o loop" && "$1" umount --help | grep -q "DIR|DEVICE" &&
	"$1" --help | grep -q "^  mount " && "$1" --help | grep -q "^  umount "' - "$QEDCTL"
echo "1..$n"
tap_totals
