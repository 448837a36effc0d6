#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The system lane's guest side: a Debian guest booted with systemd and
# udev, with qed installed from its .debs.  Run by qed-system-test.service
# at the end of each boot: the first boot checks and reboots, the second
# checks again and powers off.  Prints KTAP on the serial console.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export MANWIDTH=80
STATE=/var/lib/qed-test
mkdir -p "$STATE"
phase=1
[ -f "$STATE/boot1-done" ] && phase=2
IMG=/var/lib/qed/disk.qed
MNT=/mnt/qedfs
UUID_FILE=/etc/qed-test/uuid
fs_uuid=$(cat "$UUID_FILE")
n=0
fails=0
prog="system_boot$phase"

# systemd resets the terminal before the first line (escape codes with no
# newline): a blank line keeps them off the KTAP header.
echo
echo "# selftests: qed: $prog"
# check NAME CMD...: one KTAP result, after what CMD printed.
check() {
	local name=$1 out rc
	shift
	n=$((n + 1))
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# # /'
	if [ $rc -eq 0 ]; then
		echo "# ok $n $name"
	else
		echo "# not ok $n $name"
		fails=$((fails + 1))
	fi
}

# The device qedtab attached at boot: the one whose image is $IMG.
qedtab_dev() {
	qedctl list -n --raw -O NAME -j "$IMG"
}

t_attached_at_boot() {
	local dev
	dev=$(qedtab_dev)
	[ "$dev" = /dev/qed5 ] || { echo "qedtab's image is on '$dev', wanted /dev/qed5"; qedctl list; return 1; }
	systemctl is-active "$(systemd-escape -p --template=qed-attach@.service "$IMG")" ||
		{ systemctl list-units 'qed*'; return 1; }
}

# The boot went as planned: no ordering cycle broken by systemd, nothing
# failed, and qedtab has nothing left to attach.
t_boot_clean() {
	local state out
	journalctl -b -o cat | grep -i 'ordering cycle' && return 1
	# Not is-system-running: this check is itself a job of the boot.
	state=$(systemctl list-units --failed --no-legend --plain)
	[ -z "$state" ] || { echo "failed units: $state"; return 1; }
	out=$(qedctl attach --all 2>&1) || { echo "$out"; return 1; }
	[ -z "$out" ] || { echo "attach --all again: $out"; return 1; }
}

# A mounted device asked to detach goes at its last close (lazy), as the
# shutdown's detach relies on.
t_lazy_detach() {
	local img=/var/lib/qed/l.qed mnt=/mnt/l dev rc=0
	rm -f "$img"
	qemu-img create -q -f qed "$img" 32M || return 1
	dev=$(qedctl attach "$img") || return 1
	mkfs.ext4 -q "$dev" && mkdir -p "$mnt" && mount "$dev" "$mnt" || { qedctl detach "$dev"; return 1; }
	qedctl detach --lazy "$dev" || rc=1
	[ "$(qedctl list -n --raw -O AUTOCLEAR "$dev")" = 1 ] || rc=1
	umount "$mnt" || rc=1
	udevadm settle
	sleep 1
	[ ! -e "/sys/block/${dev#/dev/}" ] || { echo "$dev still there after the last close"; rc=1; }
	qemu-img check -q "$img" || rc=1
	return $rc
}

t_mounted_from_fstab() {
	[ "$(findmnt -n -o SOURCE "$MNT")" = /dev/qed5 ] || { findmnt "$MNT"; return 1; }
	[ "$(cat "$MNT/hello")" = "written on the host" ] || return 1
}

t_udev_links() {
	local l
	for l in "/dev/disk/by-uuid/$fs_uuid" /dev/disk/by-label/qedtest; do
		[ "$(readlink -f "$l")" = /dev/qed5 ] || { echo "$l -> $(readlink -f "$l")"; ls -l /dev/disk/*/; return 1; }
	done
	l=/dev/disk/by-qed-inode/$(stat -c '%Hd:%Ld-%i' "$IMG")
	[ "$(readlink -f "$l")" = /dev/qed5 ] || { echo "no $l"; ls -lR /dev/disk; return 1; }
	l=/dev/disk/by-qed-image$IMG
	[ "$(readlink -f "$l")" = /dev/qed5 ] || { echo "no $l"; ls -lR /dev/disk; return 1; }
	udevadm info -q property /dev/qed5 | grep -qx "ID_FS_UUID=$fs_uuid" || { udevadm info /dev/qed5; return 1; }
}

t_module_from_package() {
	local f
	f=$(modinfo -n qedblk) || return 1
	# DKMS built it for this kernel, from the qedblk-dkms package.
	case "$f" in */updates/dkms/qedblk.ko*) ;; *) echo "qedblk from $f"; return 1 ;; esac
	dpkg -s qedblk-dkms qedctl | grep -c '^Status: install ok installed' | grep -qx 2 || return 1
	# qedctl -V names its own version, then the loaded module's.
	[ "$(qedctl -V)" = "qedctl $(modinfo -F version qedblk)
qedblk module $(modinfo -F version qedblk)" ] || { modinfo -F version qedblk; qedctl -V; return 1; }
	# Nothing loads it at boot by name: the open of /dev/qed-control does.
	! grep -rqs qedblk /etc/modules /etc/modules-load.d /usr/lib/modules-load.d
}

t_man_pages() {
	man qedctl 2>/dev/null | grep -q 'qedctl attach' || { man qedctl 2>&1 | head -20; return 1; }
	man 4 qedblk 2>/dev/null | grep -q 'qed-control' || return 1
}

# qedctl mount: attach and mount in one; the unmount detaches it.
t_qedctl_mount() {
	local img=/var/lib/qed/m.qed mnt=/mnt/m dev
	rm -f "$img"
	qemu-img create -q -f qed "$img" 64M || return 1
	dev=$(qedctl attach "$img") || return 1
	mkfs.ext4 -q "$dev" || return 1
	qedctl detach "$dev" || return 1
	mkdir -p "$mnt"
	qedctl mount "$img" "$mnt" || return 1
	dev=$(findmnt -n -o SOURCE "$mnt")
	case "$dev" in /dev/qed[0-9]*) ;; *) echo "mounted from '$dev'"; return 1 ;; esac
	echo data >"$mnt/f" || return 1
	umount "$mnt" || return 1
	# The detach is the kernel's work after the last close: wait for it.
	for _ in $(seq 50); do
		[ -z "$(qedctl list -n --raw -O NAME -j "$img")" ] && break
		sleep 0.1
	done
	if [ -n "$(qedctl list -n --raw -O NAME -j "$img")" ]; then
		echo "still attached after umount:"
		qedctl list
		return 1
	fi
	qemu-img check -q "$img" || return 1
	qedctl mount "$img" "$mnt" && [ "$(cat "$mnt/f")" = data ] || return 1
	dev=$(findmnt -n -o SOURCE "$mnt")
	# By device, with another file system over it: refused, nothing unmounted.
	mount -t tmpfs over "$mnt" || return 1
	qedctl umount "$dev" && { echo "qedctl umount $dev unmounted through an overmount"; return 1; }
	umount "$mnt" && [ "$(cat "$mnt/f")" = data ] || return 1
	qedctl umount "$dev" || return 1
	[ -z "$(qedctl list -n --raw -O NAME -j "$img")" ]
}

# A resize tells udev: a change uevent with RESIZE=1, as for loop.
t_resize_uevent() {
	local img=/var/lib/qed/r.qed dev mon rc=0
	rm -f "$img"
	qemu-img create -q -f qed "$img" 32M || return 1
	dev=$(qedctl attach "$img") || return 1
	udevadm monitor --kernel --property --subsystem-match=block >/tmp/uevents 2>&1 &
	mon=$!
	sleep 1
	qedctl resize "$dev" 64M || rc=1
	sleep 2
	kill "$mon"
	wait "$mon" 2>/dev/null
	grep -q "^KERNEL\[.*\] change .*/${dev#/dev/} (block)" /tmp/uevents &&
		grep -q '^RESIZE=1' /tmp/uevents || { cat /tmp/uevents; rc=1; }
	[ "$(blockdev --getsize64 "$dev")" = $((64 << 20)) ] || rc=1
	qedctl detach "$dev" || rc=1
	return $rc
}

# The module loads on demand: kmod's static node for /dev/qed-control
# (modules.devname) exists with no module loaded, and opening it loads it.
t_on_demand() {
	local dev
	dev=$(qedtab_dev)
	umount "$MNT" && qedctl detach --all || return 1
	modprobe -r qedblk || return 1
	# The node boot made stays (devtmpfs removes only nodes it made); make
	# it again as kmod-static-nodes.service and systemd-tmpfiles-setup-dev do.
	rm -f /dev/qed-control
	kmod static-nodes --format=tmpfiles --output=/run/tmpfiles.d/static-nodes.conf &&
		systemd-tmpfiles --prefix=/dev --create --boot || return 1
	[ "$(stat -c '%t:%T' /dev/qed-control)" = a:f9 ] ||
		{ echo "no static node 10:249"; cat /run/tmpfiles.d/static-nodes.conf; return 1; }
	grep -q '^qedblk ' /proc/modules && { echo "loaded before the open"; return 1; }
	qedctl list >/dev/null || return 1
	grep -q '^qedblk ' /proc/modules || return 1
	# Back as the boot left it, for the reboot.
	systemctl restart "$(systemd-escape -p --template=qed-attach@.service "$IMG")" &&
		mount "$MNT" && [ "$(qedtab_dev)" = "$dev" ]
}

t_marker() {
	echo "boot 1 $(cat /proc/sys/kernel/random/boot_id)" >"$MNT/marker" && sync
}

t_marker_survived() {
	grep -q "^boot 1 " "$MNT/marker"
}

# The shutdown after boot 1 unmounted the file system, then detached the
# image: the unit stopped after the mount, and neither failed.  (A clean
# image alone proves little: NEED_CHECK is cleared 5 s after the last
# allocation anyway.)
t_clean_shutdown() {
	local unit mnt_unit log u m
	unit=$(systemd-escape -p --template=qed-attach@.service "$IMG")
	mnt_unit=$(systemd-escape -p --suffix=mount "$MNT")
	log=$(journalctl -b -1 -o cat -u "$unit" -u "$mnt_unit")
	echo "$log" | grep -i 'fail' && return 1
	m=$(journalctl -b -1 -o short-monotonic -u "$mnt_unit" | grep -n 'Unmounted\|Deactivated successfully' | head -n 1)
	u=$(journalctl -b -1 -o short-monotonic -u "$unit" | grep 'Deactivated successfully\|Stopped' | head -n 1)
	[ -n "$m" ] && [ -n "$u" ] || { echo "$log"; return 1; }
	# Both in one journal: the unmount's line comes before the detach's.
	journalctl -b -1 -o cat -u "$unit" -u "$mnt_unit" |
		grep -E "^(Unmounted $MNT|Stopped Attach QED image|$mnt_unit: Deactivated|$unit: Deactivated)" |
		head -n 1 | grep -q "$MNT\|$mnt_unit" || { echo "$log"; return 1; }
	journalctl -b -k -o cat | grep 'not closed cleanly\|after an unclean shutdown' && return 1
	return 0
}

t_final_check() {
	umount "$MNT" || return 1
	qedctl detach --all || return 1
	qemu-img check "$IMG"
}

# Images on shared storage: an NFSv4 export on loopback, as VM images live
# once one machine is not enough.
NFS=/mnt/nfs
t_nfs_export() {
	mkdir -p /srv/nfs/small "$NFS"
	# A small file system of its own, exported too, to fill up.
	truncate -s 48M /srv/small.img && mkfs.ext4 -q -F /srv/small.img &&
		mount -o loop /srv/small.img /srv/nfs/small || return 1
	cat >/etc/exports <<EOT
/srv/nfs	127.0.0.1(rw,sync,no_subtree_check,no_root_squash,fsid=0,crossmnt)
/srv/nfs/small	127.0.0.1(rw,sync,no_subtree_check,no_root_squash,fsid=1)
EOT
	# The package started the server at boot, with no exports.
	systemctl start nfs-server && exportfs -ra || { journalctl -u nfs-server -b | tail; return 1; }
	mount -t nfs4 -o vers=4.2 127.0.0.1:/ "$NFS" || return 1
	on_nfs
}

# The checks below are about NFS: a local directory would pass them.
on_nfs() {
	[ "$(findmnt -n -o FSTYPE -T "$NFS")" = nfs4 ] || { echo "$NFS is not on NFSv4"; return 1; }
}

# ext4 on an image on NFS under a verifying fio run; the server restarts
# under it (the client recovers its state and retries), then the export is
# unmounted and mounted again and the image attached anew: nothing lost.
# (Not exportfs -u under I/O: an unexported handle fails I/O with ESTALE
# by NFS's design, for every client.)
t_nfs_fio() {
	local img="$NFS/vm.qed" dev rc=0
	on_nfs || return 1
	qemu-img create -q -f qed "$img" 256M || return 1
	dev=$(qedctl attach "$img") || return 1
	mkfs.ext4 -q "$dev" && mkdir -p /mnt/nq && mount "$dev" /mnt/nq ||
		{ dmesg | grep -i 'qed\|nfs' | tail -n 15; qedctl detach "$dev"; return 1; }
	fio --name=nfs --directory=/mnt/nq --size=12M --bs=4k --rw=randwrite --ioengine=psync \
		--verify=crc32c --verify_fatal=1 --fsync=64 \
		--output=/tmp/fio1.log || { cat /tmp/fio1.log; rc=1; }
	dd if=/dev/urandom of=/mnt/nq/before bs=64k count=64 status=none conv=fsync || rc=1
	systemctl restart nfs-server || rc=1
	dd if=/dev/urandom of=/mnt/nq/after bs=64k count=64 status=none conv=fsync || rc=1
	(cd /mnt/nq && sha256sum before after nfs.0.0) >/tmp/nfs.sum || rc=1
	umount /mnt/nq || rc=1
	qedctl detach "$dev" || rc=1
	umount "$NFS" && mount -t nfs4 -o vers=4.2 127.0.0.1:/ "$NFS" && on_nfs || rc=1
	dev=$(qedctl attach "$img") && mount "$dev" /mnt/nq || { qedctl list; return 1; }
	(cd /mnt/nq && sha256sum -c --quiet /tmp/nfs.sum) || rc=1
	umount /mnt/nq || rc=1
	qedctl detach "$dev" || rc=1
	qemu-img check -q "$img" || rc=1
	[ $rc -eq 0 ] || dmesg | grep -i 'qed\|nfs' | tail -n 15
	return $rc
}

# The QEMU locks the device takes reach the NFS file: qemu-img on the
# mount is refused while the device holds the image.
t_nfs_locks() {
	local img="$NFS/vm.qed" dev out rc=0
	on_nfs || return 1
	dev=$(qedctl attach "$img") || return 1
	out=$(qemu-img info "$img" 2>&1) && { echo "qemu-img info opened an attached image"; rc=1; }
	echo "$out" | grep -q 'Failed to get shared "write" lock' || { echo "$out"; rc=1; }
	qemu-io -c 'write 0 4k' "$img" >/dev/null 2>&1 && { echo "qemu-io wrote"; rc=1; }
	qedctl detach "$dev" || rc=1
	qemu-img info "$img" >/dev/null || rc=1
	return $rc
}

# A full export fails the guest's flush; it never loses data silently.
t_nfs_full() {
	local img="$NFS/small/full.qed" dev rc=0
	[ "$(findmnt -n -o FSTYPE -T "$NFS/small")" = nfs4 ] || { echo "$NFS/small is not on NFSv4"; return 1; }
	qemu-img create -q -f qed "$img" 256M || return 1
	dev=$(qedctl attach "$img") || return 1
	if dd if=/dev/urandom of="$dev" bs=1M count=96 status=none conv=fsync 2>/tmp/dd.err; then
		echo "96 MiB into a 48 MiB export flushed without an error"
		rc=1
	fi
	cat /tmp/dd.err
	qedctl detach "$dev" 2>/dev/null || qedctl detach "$dev" || rc=1
	return $rc
}

t_nfs_cleanup() {
	umount "$NFS" && systemctl stop nfs-server && umount /srv/nfs/small
}

case "$phase" in
1)
	echo "# 1..16"
	check module_installed_by_dkms_package t_module_from_package
	check qedtab_attached_at_boot t_attached_at_boot
	check fstab_uuid_mounted_at_boot t_mounted_from_fstab
	check udev_persistent_links t_udev_links
	check boot_clean_and_qedtab_idempotent t_boot_clean
	check man_pages_render t_man_pages
	check detach_of_a_mounted_device_is_lazy t_lazy_detach
	check qedctl_mount_umount_leaves_no_device t_qedctl_mount
	check resize_sends_change_uevent t_resize_uevent
	check control_node_loads_module_on_demand t_on_demand
	check nfs_export_mounted t_nfs_export
	check nfs_image_ext4_fio_verify_across_restart_and_remount t_nfs_fio
	check nfs_qemu_locks_seen_through_nfs t_nfs_locks
	check nfs_full_export_fails_the_flush t_nfs_full
	check nfs_unmounted t_nfs_cleanup
	check marker_written t_marker
	;;
2)
	echo "# 1..7"
	check qedtab_attached_after_reboot t_attached_at_boot
	check boot_clean_after_reboot t_boot_clean
	check fstab_uuid_mounted_after_reboot t_mounted_from_fstab
	check udev_links_after_reboot t_udev_links
	check marker_survived_reboot t_marker_survived
	check detached_cleanly_at_shutdown t_clean_shutdown
	check image_checks_clean t_final_check
	;;
*)
	echo "# no qed.phase on the command line"
	fails=1
	;;
esac
if [ $fails -eq 0 ]; then
	echo "ok 1 selftests: qed: $prog"
else
	echo "not ok 1 selftests: qed: $prog"
fi
echo "vmtest: end $fails"
if [ "$phase" = 1 ]; then
	touch "$STATE/boot1-done"
	systemctl --no-block reboot
else
	systemctl --no-block poweroff
fi
