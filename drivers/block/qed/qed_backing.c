// SPDX-License-Identifier: GPL-2.0
/*
 * Backing chains.  qedctl resolves the backing file names and hands us one
 * read-only descriptor per file, nearest first: the kernel never opens a
 * path by name.  Each file is checked against the header of the image
 * above it, QED headers with the same qed_format.c code as the top image.
 *
 * Reads of unallocated clusters go down the chain; past the end of a
 * shorter backing file they read as zeros.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "qed.h"

static bool qedblk_same_file(struct file *a, struct file *b)
{
	return file_inode(a) == file_inode(b);
}

/* Work out what @img (a backing file, format not yet known) holds. */
static int qedblk_backing_format(struct qedblk_image *img, const struct qedblk_image *above)
{
	u64 isize = i_size_read(file_inode(img->file));
	const char *other;
	u8 *buf;
	int ret;

	if (above->geom.features & QED_F_BACKING_FORMAT_NO_PROBE) {
		img->format = QED_FMT_RAW;
		return 0;
	}
	buf = kzalloc(QED_PROBE_BYTES, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = qedblk_file_read(img->file, 0, buf, min_t(u64, isize, QED_PROBE_BYTES));
	if (ret) {
		qedblk_err(img, "reading the first bytes failed: %d", ret);
		goto out;
	}
	img->format = qedblk_probe_format(buf, min_t(u64, isize, QED_PROBE_BYTES), &other);
	if (img->format == QED_FMT_OTHER) {
		qedblk_err(img, "is a %s image; backing files must be QED or raw", other);
		ret = -EOPNOTSUPP;
	}
out:
	kfree(buf);
	return ret;
}

/*
 * Our own read-only open file of backing file @depth from descriptor @fd:
 * checked first, so that neither a descriptor without read access nor a
 * FIFO (whose open would block) is reopened.
 */
static struct file *qedblk_backing_reopen(struct qedblk_device *qed, s32 fd, unsigned int depth)
{
	struct file *file = fget(fd), *own;
	const char *why = NULL;
	int ret = 0;

	if (!file) {
		why = "bad file descriptor";
		ret = -EBADF;
	} else if (!S_ISREG(file_inode(file)->i_mode) || !file->f_op->read_iter) {
		why = "not a regular file";
		ret = -EINVAL;
	} else if (!(file->f_mode & FMODE_READ)) {
		why = "not open for reading";
		ret = -EBADF;
	}
	if (ret) {
		pr_err("qed%d: %s: backing file %u: %s\n", qed->index, qed->path, depth, why);
		if (file)
			fput(file);
		return ERR_PTR(ret);
	}
	own = qedblk_file_reopen(file, false, qed->path);
	fput(file);
	return own;
}

/* Check and load backing file @i, whose file is set. */
static int qedblk_backing_load(struct qedblk_device *qed, unsigned int i)
{
	struct qedblk_image *img = &qed->chain[i];
	struct qedblk_image *above = i ? &qed->chain[i - 1] : &qed->top;
	struct file *file = img->file;
	unsigned int j;
	int ret;

	/* Same inode as a file above: the chain loops. */
	for (j = 0; j <= i; j++) {
		struct qedblk_image *up = j ? &qed->chain[j - 1] : &qed->top;

		if (qedblk_same_file(file, up->file)) {
			qedblk_err(img, "is %s again: the backing chain loops",
				   j ? "a file above it" : "the image itself");
			return -ELOOP;
		}
	}
	ret = qedblk_backing_format(img, above);
	if (ret)
		return ret;
	if (img->format == QED_FMT_RAW)
		return 0;
	return qedblk_image_load(img);
}

/**
 * qedblk_chain_open() - open the backing chain of the attached image
 * @qed: the device, qed->top loaded
 * @fds: one descriptor per backing file, nearest first
 * @nr: how many
 *
 * On error what was opened stays in qed->chain for qedblk_chain_close().
 *
 * Return: 0 or an error reported with the reason.
 */
int qedblk_chain_open(struct qedblk_device *qed, const s32 *fds, u32 nr)
{
	struct qedblk_image *last = &qed->top;
	struct file *file;
	unsigned int i;
	int ret;

	if (nr > QEDBLK_MAX_CHAIN) {
		qedblk_err(&qed->top, "backing chain deeper than %d files", QEDBLK_MAX_CHAIN);
		return -ELOOP;
	}
	if (nr) {
		/* Up to 16 structs of some 2 KiB (a snapshot's has one more). */
		qed->chain = kvcalloc(nr, sizeof(*qed->chain), GFP_KERNEL);
		if (!qed->chain)
			return -ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		if (!(last->geom.features & QED_F_BACKING_FILE)) {
			qedblk_err(last, "has no backing file, but %u more were given",
				   nr - i);
			return -EINVAL;
		}
		file = qedblk_backing_reopen(qed, fds[i], i + 1);
		if (IS_ERR(file))
			return PTR_ERR(file);
		qedblk_image_init(&qed->chain[i], qed, file, i + 1);
		qed->nr_backing = i + 1;
		/* A reader's locks, before the first read (qed_lock.c). */
		ret = qedblk_lock_image(&qed->chain[i], false);
		if (ret)
			return ret;
		ret = qedblk_backing_load(qed, i);
		if (ret)
			return ret;
		last->backing = &qed->chain[i];
		last = &qed->chain[i];
		if (last->format == QED_FMT_RAW)
			break;
	}
	if (i + 1 < nr) {
		qedblk_err(last, "is raw, but %u more backing files were given",
			   nr - i - 1);
		return -EINVAL;
	}
	if (last->format == QED_FMT_QED && (last->geom.features & QED_F_BACKING_FILE)) {
		qedblk_err(last, "has a backing file, but none was given for it");
		return -EINVAL;
	}
	return 0;
}

/**
 * qedblk_chain_close() - release the backing files of a device
 * @qed: the device
 */
void qedblk_chain_close(struct qedblk_device *qed)
{
	unsigned int i;

	for (i = 0; i < qed->nr_backing; i++)
		qedblk_image_release(&qed->chain[i]);
	kvfree(qed->chain);
	qed->chain = NULL;
	qed->nr_backing = 0;
	qed->top.backing = NULL;
}

static int qedblk_raw_read(struct qedblk_image *img, u64 pos, struct iov_iter *iter)
{
	size_t len = iov_iter_count(iter);
	ssize_t n;

	n = qedblk_file_read_iter(img->file, pos, iter);
	if (n < 0)
		return n;
	/* Past the end of a shorter file: zeros. */
	iov_iter_zero(len - n, iter);
	return 0;
}

/**
 * qedblk_chain_read() - read what the guest sees at an offset of the chain
 * @img: the file to read from; NULL reads as zeros
 * @pos: the offset
 * @iter: filled, its whole count
 *
 * Unallocated clusters go down to the files below; recursion is bounded
 * by QEDBLK_MAX_CHAIN.
 *
 * Return: 0 or an error of translation or of a read.
 */
int qedblk_chain_read(struct qedblk_image *img, u64 pos, struct iov_iter *iter)
{
	u64 len = iov_iter_count(iter), size, done = 0;
	struct iov_iter part;
	struct qedblk_map m;
	ssize_t n;
	int ret;

	if (!img) {
		iov_iter_zero(len, iter);
		return 0;
	}
	if (img->format == QED_FMT_RAW)
		return qedblk_raw_read(img, pos, iter);

	size = img->geom.image_size;
	if (pos < size && len > size - pos)
		len = size - pos;
	while (pos < size && done < len) {
		ret = qedblk_map_range(img, pos + done, len - done, &m);
		if (ret)
			return ret;
		part = *iter;
		iov_iter_truncate(&part, m.len);
		switch (m.type) {
		case QED_MAP_DATA:
			n = qedblk_file_read_iter(img->file, m.file_off, &part);
			if (n < 0)
				return n;
			if (n != m.len)
				return -EIO;	/* the file ends inside a cluster */
			break;
		case QED_MAP_ZERO:
			iov_iter_zero(m.len, &part);
			break;
		case QED_MAP_UNALLOC:
			ret = qedblk_chain_read(img->backing, pos + done, &part);
			if (ret)
				return ret;
			break;
		}
		iov_iter_advance(iter, m.len);
		done += m.len;
	}
	/* Past the end of a shorter image: zeros. */
	iov_iter_zero(iov_iter_count(iter), iter);
	return 0;
}
