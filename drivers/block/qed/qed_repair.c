// SPDX-License-Identifier: GPL-2.0
/*
 * An image whose QED_F_NEED_CHECK bit is set was not closed cleanly: its
 * tables may point at clusters whose data never reached the disk, or
 * clusters may have been allocated that nothing points at.  Before a
 * read-write attach makes the device appear, run the shared check
 * (qed_check.c) on it and repair what is safe to repair.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/sched/signal.h>

#include "qed.h"
#include "qed_check.h"

static int qedblk_repair_read(void *ctx, u64 off, void *buf, u32 len)
{
	struct qedblk_image *img = ctx;

	return qedblk_file_read(img->file, off, buf, len);
}

static int qedblk_repair_write(void *ctx, u64 off, const void *buf, u32 len)
{
	struct qedblk_image *img = ctx;

	return qedblk_file_write(img->file, off, buf, len);
}

static int qedblk_repair_punch(void *ctx, u64 off, u64 len)
{
	struct qedblk_image *img = ctx;
	int ret = qedblk_file_punch(img->file, off, len);

	/* Space that cannot be given back is only space. */
	return ret == -EOPNOTSUPP ? 0 : ret;
}

static int qedblk_repair_truncate(void *ctx, u64 size)
{
	struct qedblk_image *img = ctx;

	return vfs_truncate(&img->file->f_path, size);
}

static void qedblk_repair_log(void *ctx, const char *table, u64 entry_off, u64 entry,
			      const char *why)
{
	struct qedblk_image *img = ctx;

	qedblk_err(img, "repair: %s entry at 0x%llx was 0x%llx (%s), now unallocated",
		   table, entry_off, entry, why);
}

/* A hostile geometry must fail the attach with ENOMEM, not warn. */
static void *qedblk_repair_zalloc(void *ctx, u64 bytes)
{
	if (bytes > INT_MAX)
		return NULL;
	return kvzalloc(bytes, GFP_KERNEL | __GFP_NOWARN);
}

/* A check of a huge image at attach is killable. */
static int qedblk_repair_stopped(void *ctx)
{
	cond_resched();
	return fatal_signal_pending(current);
}

static void qedblk_repair_free(void *ctx, void *p)
{
	kvfree(p);
}

static const struct qedblk_check_ops qedblk_repair_ops = {
	.read		= qedblk_repair_read,
	.write		= qedblk_repair_write,
	.punch		= qedblk_repair_punch,
	.truncate	= qedblk_repair_truncate,
	.repaired	= qedblk_repair_log,
	.zalloc		= qedblk_repair_zalloc,
	.free		= qedblk_repair_free,
	.stopped	= qedblk_repair_stopped,
};

/**
 * qedblk_repair() - check and repair an image left dirty, at attach
 * @qed: the device, qed->top's header loaded, not yet taking requests
 *
 * Reloads the L1 table afterwards.  Clears NEED_CHECK (durably) when the
 * image came out clean; otherwise the device is used as it is and the bit
 * stays.
 *
 * Return: 0, or the error of the check, a flush or reloading the image.
 */
int qedblk_repair(struct qedblk_device *qed)
{
	struct qedblk_image *img = &qed->top;
	struct qedblk_geom *g = &img->geom;
	struct qedblk_check_result r;
	int ret;

	ret = qedblk_check_image(g, i_size_read(file_inode(img->file)), &qedblk_repair_ops, img,
				 QED_CHECK_REPAIR, &r);
	if (!ret)
		ret = qedblk_file_flush(img);
	if (ret) {
		qedblk_err(img, "check failed: %d", ret);
		return ret;
	}
	ret = qedblk_image_reload(img);
	if (ret)
		return ret;

	if (!qedblk_check_clean(&r)) {
		qedblk_err(img, "check: %llu corruptions, %llu repaired; the rest cannot be repaired safely, the image stays marked for a check",
			   r.corruptions, r.repaired);
		return 0;
	}
	ret = qedblk_image_clear_need_check(qed);
	if (ret)
		return ret;
	qed->was_dirty = false;
	qedblk_info(&qed->top, "checked after an unclean shutdown: %llu entries repaired, %llu leaked clusters reclaimed",
		    r.repaired, r.leak_tail + r.leaks_punched);
	return 0;
}
