// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU's image locks, so that a VM, qemu-img or qemu-io refuses an image
 * a device writes, and an attach refuses an image QEMU writes.
 *
 * The lock bytes and permissions are QEMU's (qed_format.h).  The locks
 * belong to the device's own open file (qedblk_file_reopen()) and go with
 * its last fput(), at detach.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/bitops.h>

#include "qed.h"
#include "qed_compat.h"

static int qedblk_lock_byte(struct file *file, loff_t off)
{
	struct file_lock fl;

	int ret;

	qedblk_ofd_lock_init(&fl, file, F_RDLCK, off);
	ret = vfs_lock_file(file, F_SETLK, &fl, NULL);
	/* A file system may have attached state to the request (NFSv4). */
	locks_release_private(&fl);
	return ret;
}

/* Shared locks on the bytes @base + n for each permission n in @perms. */
static int qedblk_lock_bytes(struct file *file, unsigned long perms, loff_t base)
{
	unsigned int n;
	int ret;

	for_each_set_bit(n, &perms, QED_PERM_NR) {
		ret = qedblk_lock_byte(file, base + n);
		if (ret)
			return ret;
	}
	return 0;
}

/* Does another owner hold a lock on byte @off? */
static int qedblk_lock_held(struct file *file, loff_t off, bool *held)
{
	struct file_lock fl;
	int ret;

	qedblk_ofd_lock_init(&fl, file, F_WRLCK, off);
	ret = vfs_test_lock(file, &fl);
	*held = !ret && qedblk_lock_type(&fl) != F_UNLCK;
	locks_release_private(&fl);
	return ret;
}

/*
 * -EBUSY, in QEMU's words, if another owner holds a lock on byte @base + n
 * for a permission n in @perms.
 */
static int qedblk_lock_check(struct qedblk_image *img, unsigned long perms, loff_t base,
			     const char *shared)
{
	unsigned int n;
	bool held;
	int ret;

	for_each_set_bit(n, &perms, QED_PERM_NR) {
		ret = qedblk_lock_held(img->file, base + n, &held);
		if (ret)
			return ret;
		if (held) {
			qedblk_err(img, "Failed to get %s\"%s\" lock: is another process (QEMU, a qed device) using the image?",
				   shared, qedblk_perm_name(n));
			return -EBUSY;
		}
	}
	return 0;
}

/* The shared locks of a writer or a reader on @file: what it holds and denies. */
static int qedblk_lock_take(struct file *file, bool write)
{
	unsigned long perm, unshared;
	int ret;

	qedblk_lock_perms(write, &perm, &unshared);
	ret = qedblk_lock_bytes(file, perm, QED_LOCK_PERM);
	if (!ret)
		ret = qedblk_lock_bytes(file, unshared, QED_LOCK_SHARED);
	return ret;
}

/* Nobody may deny what we hold, nor hold what we deny. */
static int qedblk_lock_verify(struct qedblk_image *img, bool write)
{
	unsigned long perm, unshared;
	int ret;

	qedblk_lock_perms(write, &perm, &unshared);
	ret = qedblk_lock_check(img, perm, QED_LOCK_SHARED, "");
	if (!ret)
		ret = qedblk_lock_check(img, unshared, QED_LOCK_PERM, "shared ");
	return ret;
}

/**
 * qedblk_lock_image() - take QEMU's image locks on an image's file
 * @img: the image, its file open and not yet read
 * @write: true for a writer's locks (a read-write attach), false for a
 *	reader's (a read-only attach, every backing file)
 *
 * Takes the locks QEMU takes (qedblk_lock_perms()), before the first read
 * of the image, so that nothing read is stale.  A file system without
 * byte-range locks is used without, with a message saying so.  The locks
 * stay until qedblk_unlock_image() or the file's last fput().
 *
 * Context: process context, no lock of the driver held; may sleep (the
 * file system's lock calls).
 * Return: 0; -EBUSY, with a message in QEMU's words, when another owner
 * (QEMU, another qed device) holds a lock that conflicts; or the file
 * system's error, with a message.  On error the locks already taken stay
 * on the file.
 */
int qedblk_lock_image(struct qedblk_image *img, bool write)
{
	int ret = qedblk_lock_take(img->file, write);

	if (!ret)
		ret = qedblk_lock_verify(img, write);
	if (ret == -ENOLCK || ret == -EOPNOTSUPP) {
		qedblk_err(img, "the file system has no byte-range locks; QEMU will not see that the image is in use");
		return 0;
	}
	if (ret && ret != -EBUSY)
		qedblk_err(img, "taking QEMU's image locks failed: %d", ret);
	return ret;
}

/**
 * qedblk_unlock_image() - drop QEMU's image locks on an image's file
 * @img: the image; without a file (an attach that failed early) a no-op
 *
 * Drops the locks now rather than at the file's last fput(), which may
 * come a little later (a kernel thread's fput() is deferred): the next
 * attach of the image must not meet them.
 *
 * Context: process context; may sleep (the file system's unlock).
 */
void qedblk_unlock_image(struct qedblk_image *img)
{
	if (img->file)
		locks_remove_posix(img->file, img->file);
}

/**
 * qedblk_lock_handover() - pass an image's locks to a reader's file of it
 * @ro: the image, through a new read-only file, not yet locked
 * @rw: the writer's file of the same image, locked by qedblk_lock_image()
 *
 * For a live snapshot: from now on the image is only read.  QEMU drops
 * the write permission of a node that becomes a backing file in place;
 * our locks belong to open files, so @ro takes a reader's locks before
 * @rw drops its own, and only then looks for conflicts: at no instant is
 * write unshared by neither file, so no writer can slip in between.
 *
 * Context: process context; may sleep (the file system's lock calls).
 * Return: 0; or -EBUSY or the file system's error, with a message, and
 * @rw's locks taken back before @ro's go (if that fails too, the message
 * says so).
 */
int qedblk_lock_handover(struct qedblk_image *ro, struct qedblk_image *rw)
{
	int ret = qedblk_lock_take(ro->file, false);

	if (ret == -ENOLCK || ret == -EOPNOTSUPP)
		return 0;	/* qedblk_lock_image() said so at attach */
	if (!ret) {
		locks_remove_posix(rw->file, rw->file);
		ret = qedblk_lock_verify(ro, false);
	}
	if (!ret)
		return 0;
	if (ret != -EBUSY)
		qedblk_err(rw, "handing QEMU's image locks to a reader failed: %d", ret);
	/* Back, in the same order: the writer's locks before the reader's go. */
	if (qedblk_lock_take(rw->file, true))
		qedblk_err(rw, "taking QEMU's image locks back failed: QEMU will not see that the image is in use");
	qedblk_unlock_image(ro);
	return ret;
}
