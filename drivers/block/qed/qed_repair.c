// SPDX-License-Identifier: GPL-2.0
/*
 * An image whose QED_F_NEED_CHECK bit is set was not closed cleanly: its
 * tables may point at clusters whose data never reached the disk, or
 * clusters may have been allocated that nothing points at.  Before a
 * read-write attach makes the device appear, run the shared check
 * (qed_check.c) on it and repair what is safe to repair.
 */
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/sched/signal.h>

#include "qed.h"
#include "qed_check.h"

static int qed_repair_read(void *ctx, u64 off, void *buf, u32 len)
{
	struct qed_image *img = ctx;

	return qed_file_read(img->file, off, buf, len);
}

static int qed_repair_write(void *ctx, u64 off, const void *buf, u32 len)
{
	struct qed_image *img = ctx;

	return qed_file_write(img->file, off, buf, len);
}

static int qed_repair_punch(void *ctx, u64 off, u64 len)
{
	struct qed_image *img = ctx;
	int ret = qed_file_punch(img->file, off, len);

	/* Space that cannot be given back is only space. */
	return ret == -EOPNOTSUPP ? 0 : ret;
}

static int qed_repair_truncate(void *ctx, u64 size)
{
	struct qed_image *img = ctx;

	return vfs_truncate(&img->file->f_path, size);
}

static void qed_repair_log(void *ctx, const char *table, u64 entry_off, u64 entry,
			   const char *why)
{
	struct qed_image *img = ctx;

	qed_image_err(img, "repair: %s entry at 0x%llx was 0x%llx (%s), now unallocated",
		      table, entry_off, entry, why);
}

/* A hostile geometry must fail the attach with ENOMEM, not warn. */
static void *qed_repair_zalloc(void *ctx, u64 bytes)
{
	if (bytes > INT_MAX)
		return NULL;
	return kvzalloc(bytes, GFP_KERNEL | __GFP_NOWARN);
}

/* A check of a huge image at attach is killable. */
static int qed_repair_stopped(void *ctx)
{
	cond_resched();
	return fatal_signal_pending(current);
}

static void qed_repair_free(void *ctx, void *p)
{
	kvfree(p);
}

static const struct qed_check_ops qed_repair_ops = {
	.read		= qed_repair_read,
	.write		= qed_repair_write,
	.punch		= qed_repair_punch,
	.truncate	= qed_repair_truncate,
	.repaired	= qed_repair_log,
	.zalloc		= qed_repair_zalloc,
	.free		= qed_repair_free,
	.stopped	= qed_repair_stopped,
};

/*
 * Check and repair qed->top, whose header is loaded; reload the L1 table
 * afterwards.  Clears NEED_CHECK (durably) when the image came out clean;
 * otherwise the device is used as it is and the bit stays.
 */
int qed_repair(struct qed_device *qed)
{
	struct qed_image *img = &qed->top;
	struct qed_geom *g = &img->geom;
	struct qed_check_result r;
	int ret;

	ret = qed_check_image(g, i_size_read(file_inode(img->file)), &qed_repair_ops, img,
			      QED_CHECK_REPAIR, &r);
	if (!ret)
		ret = qed_file_flush(img);
	if (ret) {
		qed_image_err(img, "check failed: %d", ret);
		return ret;
	}
	img->file_end = round_down(i_size_read(file_inode(img->file)), (u64)g->cluster_size);
	img->fresh_from = i_size_read(file_inode(img->file));
	qed_l1_free(img);
	ret = qed_l1_load(img);
	if (ret)
		return ret;

	if (!qed_check_clean(&r)) {
		qed_image_err(img, "check: %llu corruptions, %llu repaired; the rest cannot be repaired safely, the image stays marked for a check",
			      r.corruptions, r.repaired);
		return 0;
	}
	g->features &= ~QED_F_NEED_CHECK;
	ret = qed_write_header(qed);
	if (!ret)
		ret = qed_file_flush(img);
	if (ret) {
		g->features |= QED_F_NEED_CHECK;
		return ret;
	}
	qed->was_dirty = false;
	WRITE_ONCE(qed->need_check_on_disk, false);
	pr_info("qed: %s: checked after an unclean shutdown: %llu entries repaired, %llu leaked clusters reclaimed\n",
		qed->path, r.repaired, r.leak_tail + r.leaks_punched);
	return 0;
}
