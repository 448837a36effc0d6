// SPDX-License-Identifier: GPL-2.0
/*
 * Synchronous I/O on the image file, for metadata and allocating writes.
 * Guest data on allocated clusters goes through qed_io.c instead.
 */
#include <linux/fs.h>
#include <linux/uio.h>
#include <linux/bvec.h>
#include <linux/falloc.h>

#include "qed.h"

int qed_file_read(struct file *file, u64 off, void *buf, size_t len)
{
	loff_t pos = off;
	ssize_t ret;

	while (len) {
		ret = kernel_read(file, buf, len, &pos);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -EIO;	/* the file ends inside a table */
		buf += ret;
		len -= ret;
	}
	return 0;
}

/*
 * Read into @iter from @off up to the end of the file; returns the bytes
 * read (short at the end of the file) or an error.
 */
ssize_t qed_file_read_iter(struct file *file, u64 off, struct iov_iter *iter)
{
	struct kiocb kiocb;
	ssize_t ret, done = 0;

	while (iov_iter_count(iter)) {
		init_sync_kiocb(&kiocb, file);
		kiocb.ki_pos = off;
		ret = file->f_op->read_iter(&kiocb, iter);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
		off += ret;
		done += ret;
	}
	return done;
}

int qed_file_write(struct file *file, u64 off, const void *buf, size_t len)
{
	loff_t pos = off;
	ssize_t ret;

	while (len) {
		ret = kernel_write(file, buf, len, &pos);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -EIO;
		buf += ret;
		len -= ret;
	}
	return 0;
}

/*
 * Write all of @iter at @off; @direct asks for O_DIRECT, which the host
 * file system may refuse for alignment (-EINVAL, before writing anything):
 * then the write goes through the page cache, as loop does.
 */
int qed_file_write_iter(struct file *file, u64 off, struct iov_iter *iter, bool direct)
{
	struct iov_iter saved = *iter;
	struct kiocb kiocb;
	ssize_t ret;

	while (iov_iter_count(iter)) {
		init_sync_kiocb(&kiocb, file);
		kiocb.ki_pos = off;
		if (direct)
			kiocb.ki_flags |= IOCB_DIRECT;
		file_start_write(file);
		ret = file->f_op->write_iter(&kiocb, iter);
		file_end_write(file);
		if (ret == -EINVAL && direct) {
			*iter = saved;
			direct = false;
			continue;
		}
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -EIO;
		off += ret;
		saved = *iter;
	}
	return 0;
}

/* Write explicit zeros: the range may hold stale bytes of the file. */
int qed_file_write_zeroes(struct file *file, u64 off, u64 len)
{
	struct bio_vec bv[16];
	struct iov_iter iter;
	u64 chunk;
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(bv); i++)
		bvec_set_page(&bv[i], ZERO_PAGE(0), PAGE_SIZE, 0);
	while (len) {
		chunk = min_t(u64, len, ARRAY_SIZE(bv) * PAGE_SIZE);
		iov_iter_bvec(&iter, ITER_SOURCE, bv, ARRAY_SIZE(bv), chunk);
		ret = qed_file_write_iter(file, off, &iter, false);
		if (ret)
			return ret;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

/*
 * Give [off, off + len) back to the host file system; it reads as zeros
 * afterwards.  -EOPNOTSUPP where the file system cannot punch holes.
 */
int qed_file_punch(struct file *file, u64 off, u64 len)
{
	return vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
}

int qed_file_flush(struct file *file)
{
	return vfs_fsync(file, 0);
}

/*
 * Make [off, off + len) durable, with what is needed to read it back (the
 * file's size, its allocation), but not the rest of the file's dirty data:
 * an ordering point for one allocation should not write back the guest's
 * whole page cache.
 */
int qed_file_flush_range(struct file *file, u64 off, u64 len)
{
	return vfs_fsync_range(file, off, off + len - 1, 1);
}

/* Rewrite the 64-byte header from qed->top.geom; the caller flushes. */
int qed_write_header(struct qed_device *qed)
{
	u8 buf[QED_HEADER_BYTES];

	qed_header_encode(&qed->top.geom, buf);
	return qed_file_write(qed->top.file, 0, buf, sizeof(buf));
}
