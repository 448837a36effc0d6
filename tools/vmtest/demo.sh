#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The main job, as a user does it: create an image, attach it, make a file
# system, mount, write, unmount, detach, and let QEMU check the image.
set -e
cd "${QED_SCRATCH:-/tmp}"
echo "\$ qedctl create -s 1G disk.qed"
qedctl create -s 1G disk.qed
echo "\$ qedctl attach disk.qed"
dev=$(qedctl attach disk.qed)
echo "$dev"
echo "\$ mkfs.ext4 -q $dev && mount $dev /mnt"
mkfs.ext4 -q "$dev"
mkdir -p /mnt/disk
mount "$dev" /mnt/disk
echo "\$ (write 32 MiB of files)"
for i in 1 2 3 4; do
	dd if=/dev/urandom of=/mnt/disk/file$i bs=1M count=8 status=none
done
(cd /mnt/disk && sha256sum file*) >/tmp/sums
ls -l /mnt/disk
echo "\$ qedctl list"
qedctl list
echo "\$ umount /mnt && qedctl detach $dev"
umount /mnt/disk
qedctl detach "$dev"
echo "\$ qedctl info disk.qed"
qedctl info disk.qed
echo "\$ qemu-img check disk.qed"
qemu-img check disk.qed
echo "\$ (the files, read back by QEMU's own code)"
qemu-img convert -O raw disk.qed disk.raw
dev=$(losetup -f --show -r disk.raw)
mount -o ro "$dev" /mnt/disk
(cd /mnt/disk && sha256sum -c /tmp/sums)
umount /mnt/disk
losetup -d "$dev"
echo "demo: OK"
