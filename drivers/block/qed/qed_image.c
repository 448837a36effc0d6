// SPDX-License-Identifier: GPL-2.0
/*
 * One file of a chain: the attached image or a backing file.  Loading
 * validates a QED header with the shared qed_format.c code and reads the
 * L1 table; a raw backing file needs nothing but its size.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>

#include "qed.h"

void qedblk_image_init(struct qedblk_image *img, struct qedblk_device *qed, struct file *file,
		       unsigned int depth)
{
	img->qed = qed;
	img->file = file;
	img->depth = depth;
	img->format = QED_FMT_QED;
	qedblk_l2cache_setup(&img->l2, READ_ONCE(qedblk_l2_cache_chunks));
}

/* Read and validate the header and the L1 table of a QED image. */
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
	img->file_end = round_down(isize, (u64)g->cluster_size);
	img->fresh_from = isize;
	ret = qedblk_l1_load(img);
	if (ret)
		qedblk_err(img, "reading the L1 table failed: %d", ret);
	return ret;
bad:
	qedblk_err(img, "%s", qedblk_header_strerror(err));
	return qedblk_header_errno(err);
}

void qedblk_image_release(struct qedblk_image *img)
{
	qedblk_l2cache_destroy(&img->l2);
	qedblk_l1_free(img);
	if (img->file)
		fput(img->file);
	img->file = NULL;
}
