#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tools/udev/60-qedblk.rules under the host's own udev (udevadm test), on a
# qed device made up in sysfs: this host cannot load qedblk.  In a private
# mount namespace a directory stands in for /sys (qed0, its partition
# qed0p1 and their qed/ attributes), tmpfs for /dev and /run, and a loop
# device holding an ext4 file system for the disk's blocks, so that the
# blkid builtin finds what it would on /dev/qed0.  The guest checks the
# real device (see tools/systemd/README.md).
set -u
SUITE=qedblk_udev
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"
RULES=$(cd "$(dirname "$0")/../udev" && pwd)/60-qedblk.rules

skip() { echo "1..0 # SKIP $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (mount namespace, loop device)"
command -v udevadm >/dev/null || skip "no udevadm (Debian: apt-get install udev)"
command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4"
unshare -m true 2>/dev/null || skip "no mount namespaces here"

truncate -s 16M "$tmp/fs.img" && mkfs.ext4 -q -L qedlabel -U 5a1c0ffe-0000-4000-8000-00000000beef \
	"$tmp/fs.img" || skip "mkfs.ext4 failed"
loop=$(losetup -f --show "$tmp/fs.img" 2>/dev/null) || skip "no loop device"
trap 'losetup -d "$loop"; rm -rf "$tmp"' EXIT
lmaj=$(( 0x$(stat -c %t "$loop") ))
lmin=$(( 0x$(stat -c %T "$loop") ))

# The sysfs of a qed0 attached from "/srv/my disk/a-b,c$[1].qed" (a blank,
# a '-' and characters udev replaces in the path), with a partition qed0p1.  Its numbers are the loop
# device's, so that /dev/qed0 reads the ext4 file system.
sys=$tmp/sys
d=$sys/devices/virtual/block/qed0
mkdir -p "$d/qed" "$d/qed0p1" "$sys/class/block" "$sys/dev/block"
printf 'MAJOR=%s\nMINOR=%s\nDEVNAME=qed0\nDEVTYPE=disk\nDISKSEQ=42\n' "$lmaj" "$lmin" >"$d/uevent"
echo "$lmaj:$lmin" >"$d/dev"
echo 32768 >"$d/size"
echo '/srv/my disk/a-b,c$[1].qed' >"$d/qed/backing_file"
echo 254:1 >"$d/qed/backing_dev"
echo 1234 >"$d/qed/backing_inode"
ln -s ../../../../class/block "$d/subsystem"
ln -s ../../devices/virtual/block/qed0 "$sys/class/block/qed0"
ln -s ../../devices/virtual/block/qed0 "$sys/dev/block/$lmaj:$lmin"
p=$d/qed0p1
printf 'MAJOR=259\nMINOR=99\nDEVNAME=qed0p1\nDEVTYPE=partition\nPARTN=1\n' >"$p/uevent"
echo 259:99 >"$p/dev"
echo 1 >"$p/partition"
ln -s ../../../../../class/block "$p/subsystem"
ln -s ../../devices/virtual/block/qed0/qed0p1 "$sys/class/block/qed0p1"

# udevadm_test RULES-DIR ACTION DEVICE...: each device's properties, in
# order, with only RULES-DIR's rules added to the host's.
cat >"$tmp/ns.sh" <<'EOF'
set -e
sys=$1 rules=$2 action=$3 lmaj=$4 lmin=$5
shift 5
mount --bind "$sys" /sys
mount -t tmpfs none /run
mount -t tmpfs none /dev
mknod /dev/null c 1 3
mknod /dev/qed0 b "$lmaj" "$lmin"
mkdir -p /run/udev/rules.d
[ -z "$rules" ] || cp "$rules" /run/udev/rules.d/
for dev; do
	SYSTEMD_DEVICE_VERIFY_SYSFS=0 udevadm test --action="$action" "/sys/devices/virtual/block/$dev" 2>>/run/log || true
done
cat /run/log >&2
EOF
udevadm_test() {
	unshare -m bash "$tmp/ns.sh" "$sys" "$1" "$2" "$lmaj" "$lmin" qed0 qed0/qed0p1 >"$tmp/out" \
		2>"$tmp/log" || { tail -5 "$tmp/log"; return 1; }
}

has() {
	grep -qxF "$1" "$tmp/out" || { echo "no '$1' in:"; cat "$tmp/out"; return 1; }
}

links() {
	grep "^DEVLINKS=" "$tmp/out" | sed -n "${1}p" | tr ' ' '\n' | sed 's/^DEVLINKS=//' | sort
}

echo "TAP version 13"
echo "1..5"

t_disk_links() {
	udevadm_test "$RULES" add || return 1
	has ID_FS_TYPE=ext4 && has ID_FS_UUID=5a1c0ffe-0000-4000-8000-00000000beef &&
		has ID_FS_LABEL=qedlabel && has 'ID_QED_BACKING_FILE=/srv/my disk/a-b,c$_1_.qed' &&
		has ID_QED_BACKING_DEVICE=254:1 && has ID_QED_BACKING_INODE=1234 || return 1
	diff -u <(links 1) - <<'EOF'
/dev/disk/by-diskseq/42
/dev/disk/by-label/qedlabel
/dev/disk/by-qed-image/srv/my_disk/a-b_c__1_.qed
/dev/disk/by-qed-inode/254:1-1234
/dev/disk/by-uuid/5a1c0ffe-0000-4000-8000-00000000beef
EOF
}
t disk_links t_disk_links

# The partition gets the disk's ID_QED_* and its own -partN links.
t_partition_links() {
	udevadm_test "$RULES" add || return 1
	[ "$(grep -c '^ID_QED_BACKING_INODE=1234$' "$tmp/out")" = 2 ] || { cat "$tmp/out"; return 1; }
	diff -u <(links 2) - <<'EOF'
/dev/disk/by-qed-image/srv/my_disk/a-b_c__1_.qed-part1
/dev/disk/by-qed-inode/254:1-1234-part1
EOF
}
t partition_links t_partition_links

# A resize (or mkfs) is a change uevent: blkid must run again.
t_change_probes() {
	udevadm_test "$RULES" change && has ID_FS_UUID=5a1c0ffe-0000-4000-8000-00000000beef &&
		links 1 | grep -qx /dev/disk/by-uuid/5a1c0ffe-0000-4000-8000-00000000beef
}
t change_probes_again t_change_probes

# What the rules are for: the host's own rules leave a qed device bare.
t_stock_rules_bare() {
	udevadm_test "" add || return 1
	! grep -q "^ID_FS_UUID=" "$tmp/out" && ! grep -q "by-uuid" "$tmp/out"
}
t stock_rules_give_nothing t_stock_rules_bare

# The generator's blockdev@ ordering is on the link the rules make.
t_generator_agrees() {
	udevadm_test "$RULES" add || return 1
	printf '%s\n' '/srv/my\040disk/a-b,c$[1].qed' >"$tmp/qedtab"
	mkdir -p "$tmp/gen"
	QEDCTL_QEDTAB=$tmp/qedtab LIBMOUNT_FSTAB=/dev/null "$QEDCTL" generate-units "$tmp/gen" || return 1
	unit=$(systemd-escape -p "$(links 1 | grep by-qed-image)")
	grep -qxF "Before=blockdev@$unit.target" "$tmp"/gen/*/50-qedtab.conf ||
		{ echo "no Before=blockdev@$unit.target"; cat "$tmp"/gen/*/50-qedtab.conf; return 1; }
}
t generator_names_the_same_link t_generator_agrees
tap_totals
