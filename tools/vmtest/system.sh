#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The system lane: qed as a user installs it.  A debootstrapped Debian
# bookworm root with systemd and udev gets the qedblk-dkms and qedctl
# packages from `make deb` through apt, an image in /etc/qedtab and an
# fstab UUID= line for the file system in it; the guest boots from that
# root on a virtio disk, checks what the boot did (system-guest.sh),
# reboots and checks again.
#   system.sh prepare [KERNEL]   the root and its disk (no guest)
#   system.sh run [KERNEL]       boot it (prepares first if needed)
# KERNEL is a Debian kernel of the matrix (default 6.1): the root installs
# the same linux-image and linux-headers, and DKMS builds qedblk for them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cmd=${1:?usage: system.sh prepare|run [KERNEL]}
name=${2:-6.1}
kern=$("$(dirname "$0")/kernel.sh" "$name")
release=$(cat "$kern/release")
out="$QED_TOP/build/vm/system"
base="$QED_CACHE/system-$release"
root="$out/root"
mkdir -p "$out"

# in_root ROOT CMD...: CMD inside ROOT with /proc, /sys and /dev, in a
# private mount namespace that takes them away again.
in_root() {
	unshare -m /bin/sh -c 'r=$1; shift
		mount -t proc proc "$r/proc" && mount -t sysfs sys "$r/sys" &&
		mount --rbind /dev "$r/dev" &&
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"' sh "$@"
}

# Debian as a user has it, cached: systemd, udev, the kernel with its
# headers, and the tools the checks use.  dkms is only downloaded: the
# qedblk-dkms package must pull it in by its own dependencies.
make_base() {
	local m tmp="$base.tmp"
	[ -f "$base/.ready" ] && return 0
	command -v debootstrap >/dev/null || die "debootstrap is not installed"
	m=$(debian_mirror)
	rm -rf "$tmp"
	log "system: debootstrapping bookworm into $tmp"
	debootstrap --variant=minbase --include=systemd-sysv,udev,kmod bookworm "$tmp" "$m" \
		>"$out/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$out/debootstrap.log" >&2; die "debootstrap failed"; }
	cat >"$tmp/etc/apt/sources.list" <<EOT
deb $m bookworm main
deb $m bookworm-updates main
deb ${m%/debian}/debian-security bookworm-security main
EOT
	log "system: installing linux-image-$release and the tools"
	{
		in_root "$tmp" apt-get -q update &&
		in_root "$tmp" apt-get -q -y --no-install-recommends install \
			"linux-image-$release" "linux-headers-$release" initramfs-tools \
			e2fsprogs fio qemu-utils nfs-kernel-server man-db procps util-linux &&
		in_root "$tmp" apt-get -q -y --no-install-recommends --download-only install dkms
	} >"$out/apt-base.log" 2>&1 || { tail -n 20 "$out/apt-base.log" >&2; die "apt in the system root failed"; }
	touch "$tmp/.ready"
	rm -rf "$base"
	mv "$tmp" "$base"
}

# The test image: an ext4 with a known UUID and label and one file, made
# on the host and converted by QEMU, as an image would come from a VM.
make_image() {
	local dir="$out/image" uuid
	uuid=$(cat /proc/sys/kernel/random/uuid)
	rm -rf "$dir"
	mkdir -p "$dir/content" "$root/var/lib/qed" "$root/etc/qed-test"
	echo "written on the host" >"$dir/content/hello"
	truncate -s 128M "$dir/fs.raw"
	mkfs.ext4 -q -F -L qedtest -U "$uuid" -d "$dir/content" "$dir/fs.raw"
	qemu-img convert -O qed "$dir/fs.raw" "$root/var/lib/qed/disk.qed"
	rm -rf "$dir"
	echo "$uuid" >"$root/etc/qed-test/uuid"
	echo "$uuid"
}

prepare() {
	local uuid
	make_base
	log "system: make deb"
	make -s -C "$QED_TOP" deb >"$out/deb.log" 2>&1 || { tail -n 20 "$out/deb.log" >&2; die "make deb failed"; }
	rm -rf "$root"
	cp -a "$base" "$root"
	cp "$QED_TOP"/build/deb/qedblk-dkms_*.deb "$QED_TOP"/build/deb/qedctl_*.deb "$root/tmp/"
	# As a user would: apt resolves the dependencies, DKMS builds the module.
	log "system: apt install ./qedblk-dkms ./qedctl"
	in_root "$root" /bin/sh -c 'apt-get -q -y --no-install-recommends install /tmp/qedblk-dkms_*.deb /tmp/qedctl_*.deb' \
		>"$out/apt-qed.log" 2>&1 || { tail -n 30 "$out/apt-qed.log" >&2; die "installing the packages failed"; }
	rm -f "$root"/tmp/*.deb
	[ -f "$root/lib/modules/$release/updates/dkms/qedblk.ko" ] ||
		{ tail -n 30 "$out/apt-qed.log" >&2; die "DKMS built no qedblk.ko for $release"; }

	uuid=$(make_image)
	cat >"$root/etc/fstab" <<EOT
/dev/vda	/		ext4	defaults	0 1
UUID=$uuid	/mnt/qedfs	ext4	defaults	0 2
EOT
	mkdir -p "$root/mnt/qedfs"
	cat >"$root/etc/qedtab" <<EOT
# image			index	options
/var/lib/qed/disk.qed	5
EOT
	echo qedsystem >"$root/etc/hostname"
	# The journal of the boot before is read by the second boot's checks.
	mkdir -p "$root/var/log/journal"
	mkdir -p "$root/opt/qed"
	cp "$(dirname "$0")/system-guest.sh" "$root/opt/qed/system-guest.sh"
	cat >"$root/etc/systemd/system/qed-system-test.service" <<'EOT'
[Unit]
Description=qed system lane checks
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/opt/qed/system-guest.sh
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
EOT
	ln -sf /etc/systemd/system/qed-system-test.service \
		"$root/etc/systemd/system/multi-user.target.wants/qed-system-test.service"
	# The console is for the checks' KTAP, not for a login prompt.
	ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
	cp "$root/boot/vmlinuz-$release" "$out/vmlinuz"
	cp "$root/boot/initrd.img-$release" "$out/initrd.img"
	log "system: root file system image"
	rm -f "$out/root.img"
	truncate -s 4G "$out/root.img"
	mkfs.ext4 -q -F -L qedsystem -d "$root" "$out/root.img" ||
		die "mkfs.ext4 -d of the system root failed"
	rm -rf "$root"
	touch "$out/.prepared"
}

run() {
	local limit=${QED_VM_TIMEOUT:-900} rc=0
	[ -f "$out/.prepared" ] || prepare
	rm -f "$out/.prepared"
	log "system: booting (two boots: the reboot is the guest's own)"
	# No -no-reboot: the guest's reboot between the phases is a real one.
	timeout --kill-after=10 "$limit" qemu-system-x86_64 \
		-accel tcg,thread=multi -cpu "${QED_VM_CPU:-qemu64,-cx16}" -smp 2 -m 2G -nographic \
		-kernel "$out/vmlinuz" -initrd "$out/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 quiet systemd.show_status=0" \
		-drive "file=$out/root.img,if=virtio,format=raw,cache=unsafe" \
		</dev/null >"$out/console.log" 2>&1 || rc=$?
	[ $rc -eq 124 ] && echo "vmtest: timeout after ${limit}s" >>"$out/console.log"
	rm -f "$out/root.img"
	return 0
}

case "$cmd" in
prepare) prepare ;;
run) run ;;
*) die "usage: system.sh prepare|run [KERNEL]" ;;
esac
