// SPDX-License-Identifier: GPL-2.0
/*
 * One file of a chain: the attached image or a backing file.  Loading
 * validates a QED header with the shared qed_format.c code and reads the
 * L1 table; a raw backing file needs nothing but its size.
 *
 * The attached image's header changes in one place only,
 * qedblk_image_update_header(), and so does its QED_F_NEED_CHECK bit: set
 * before the first allocation, cleared once allocation is idle or a check
 * found the image clean.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>

#include "qed.h"

/**
 * qedblk_image_init() - set up one file of a device's chain, not yet read
 * @img: the image, zeroed
 * @qed: the device it belongs to
 * @file: its open file, a reference the image takes over
 * @depth: 0 for the attached image, 1 for the backing file below it, ...
 */
void qedblk_image_init(struct qedblk_image *img, struct qedblk_device *qed, struct file *file,
		       unsigned int depth)
{
	img->qed = qed;
	img->file = file;
	img->depth = depth;
	img->format = QED_FMT_QED;
	qedblk_l2cache_setup(&img->l2, READ_ONCE(qedblk_l2_cache_chunks));
}

/* The end of the file as it is now, and the L1 table the header points at. */
static int qedblk_image_read_l1(struct qedblk_image *img, u64 isize)
{
	img->file_end = round_down(isize, (u64)img->geom.cluster_size);
	img->fresh_from = isize;
	return qedblk_l1_load(img);
}

/**
 * qedblk_image_load() - read and validate a QED image's header and L1 table
 * @img: the image, initialised (qedblk_image_init())
 *
 * Return: 0, or an error reported with the reason.
 */
int qedblk_image_load(struct qedblk_image *img)
{
	u64 isize = i_size_read(file_inode(img->file));
	struct qedblk_geom *g = &img->geom;
	u8 buf[QED_HEADER_BYTES];
	enum qedblk_header_error err;
	int ret;

	if (isize < QED_HEADER_BYTES) {
		err = QED_HDR_SHORT;
		goto bad;
	}
	ret = qedblk_file_read(img->file, 0, buf, sizeof(buf));
	if (ret) {
		qedblk_err(img, "reading the header failed: %d", ret);
		return ret;
	}
	err = qedblk_header_decode(buf, sizeof(buf), isize, g);
	if (err)
		goto bad;
	ret = qedblk_image_read_l1(img, isize);
	if (ret)
		qedblk_err(img, "reading the L1 table failed: %d", ret);
	return ret;
bad:
	qedblk_err(img, "%s", qedblk_header_strerror(err));
	return qedblk_header_errno(err);
}

/**
 * qedblk_image_reload() - re-read the attached image after a repair
 * @img: the attached image, its header loaded
 *
 * A repair (qed_repair.c) may have truncated the file and rewritten L1
 * entries behind the L1 table in memory.
 *
 * Return: 0, or the error of reading the L1 table.
 */
int qedblk_image_reload(struct qedblk_image *img)
{
	qedblk_l1_free(img);
	return qedblk_image_read_l1(img, i_size_read(file_inode(img->file)));
}

/**
 * qedblk_image_release() - drop what an image holds: L2 cache, L1, file
 * @img: the image; may be partly set up
 */
void qedblk_image_release(struct qedblk_image *img)
{
	qedblk_l2cache_destroy(&img->l2);
	qedblk_l1_free(img);
	if (img->file)
		fput(img->file);
	img->file = NULL;
}

/* Rewrite the 64-byte header from qed->top.geom; the caller flushes. */
static int qedblk_image_write_header(struct qedblk_device *qed)
{
	u8 buf[QED_HEADER_BYTES];

	qedblk_header_encode(&qed->top.geom, buf);
	return qedblk_file_write(qed->top.file, 0, buf, sizeof(buf));
}

/**
 * qedblk_image_update_header() - change the attached image's header, durably
 * @qed: the device; its image is qed->top
 * @features: the new features
 * @autoclear_features: the new autoclear features
 * @image_size: the new image size
 * @flush: what to make durable after writing the header
 *
 * The header in memory takes the new values, is written and flushed; if
 * the write or the flush fails, the header in memory gets the old values
 * back, while the one on disk may hold either.  QEDBLK_FLUSH_HEADER makes
 * only the header durable (an ordering point on the allocation path must
 * not write back the guest's page cache); QEDBLK_FLUSH_FILE flushes the
 * whole file.  Called with alloc_lock held, or at attach before the disk
 * exists.
 *
 * Return: 0, or the error of the write or the flush.
 */
int qedblk_image_update_header(struct qedblk_device *qed, u64 features, u64 autoclear_features,
			       u64 image_size, enum qedblk_header_flush flush)
{
	struct qedblk_geom *g = &qed->top.geom;
	u64 old_features = g->features;
	u64 old_autoclear = g->autoclear_features;
	u64 old_size = g->image_size;
	int ret;

	lockdep_assert(lockdep_is_held(&qed->alloc_lock) || !qed->disk);
	g->features = features;
	g->autoclear_features = autoclear_features;
	g->image_size = image_size;
	ret = qedblk_image_write_header(qed);
	if (!ret && flush == QEDBLK_FLUSH_HEADER)
		ret = qedblk_file_flush_range(&qed->top, 0, QED_HEADER_BYTES);
	else if (!ret)
		ret = qedblk_file_flush(&qed->top);
	if (ret) {
		g->features = old_features;
		g->autoclear_features = old_autoclear;
		g->image_size = old_size;
	}
	return ret;
}

/**
 * qedblk_image_set_need_check() - make QED_F_NEED_CHECK durable
 * @qed: the device
 *
 * Before the first cluster is allocated: the image needs a check if the
 * host dies from now on.  Only the header is flushed.
 *
 * Return: 0, or the error of the header write or its flush.
 */
int qedblk_image_set_need_check(struct qedblk_device *qed)
{
	const struct qedblk_geom *g = &qed->top.geom;
	int ret;

	lockdep_assert_held(&qed->alloc_lock);
	if (qed->need_check_on_disk)
		return 0;
	ret = qedblk_image_update_header(qed, g->features | QED_F_NEED_CHECK,
					 g->autoclear_features, g->image_size,
					 QEDBLK_FLUSH_HEADER);
	if (ret)
		return ret;
	WRITE_ONCE(qed->need_check_on_disk, true);
	return 0;
}

/**
 * qedblk_image_clear_need_check() - clear QED_F_NEED_CHECK, durably
 * @qed: the device
 *
 * For a caller that made durable everything the bit protected, or found
 * the image clean.
 *
 * Return: 0, or the error of the header write or the flush.
 */
int qedblk_image_clear_need_check(struct qedblk_device *qed)
{
	const struct qedblk_geom *g = &qed->top.geom;
	int ret;

	ret = qedblk_image_update_header(qed, g->features & ~QED_F_NEED_CHECK,
					 g->autoclear_features, g->image_size,
					 QEDBLK_FLUSH_FILE);
	if (ret)
		return ret;
	WRITE_ONCE(qed->need_check_on_disk, false);
	return 0;
}
