// SPDX-License-Identifier: GPL-2.0
/*
 * Synchronous I/O on the image file, for metadata and allocating writes.
 * Guest data on allocated clusters goes through qed_io.c instead.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/uio.h>
#include <linux/bvec.h>
#include <linux/falloc.h>
#include <linux/pagemap.h>

#include "qed.h"

/**
 * qedblk_file_read() - read metadata from a file, all of it
 * @file: the file
 * @off: where to read
 * @buf: the buffer
 * @len: bytes to read
 *
 * Return: 0, the read's error, or -EIO where the file ends first (inside
 * a table).
 */
int qedblk_file_read(struct file *file, u64 off, void *buf, size_t len)
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

/**
 * qedblk_file_read_iter() - read into an iterator up to the end of a file
 * @file: the file
 * @off: where to read
 * @iter: what to fill; advanced over what was read
 *
 * Return: the bytes read, short at the end of the file, or an error.
 */
ssize_t qedblk_file_read_iter(struct file *file, u64 off, struct iov_iter *iter)
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

/**
 * qedblk_file_write() - write metadata to a file, all of it
 * @file: the file
 * @off: where to write
 * @buf: the data
 * @len: bytes to write
 *
 * Return: 0, the write's error, or -EIO where the write makes no progress.
 */
int qedblk_file_write(struct file *file, u64 off, const void *buf, size_t len)
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

/* A direct write issued asynchronously and waited for: qedblk_file_write_iter(). */
struct qedblk_file_dio {
	struct kiocb iocb;
	struct completion done;
	long ret;
};

static void qedblk_file_dio_complete(struct kiocb *iocb, long ret)
{
	struct qedblk_file_dio *dio = container_of(iocb, struct qedblk_file_dio, iocb);

	dio->ret = ret;
	complete(&dio->done);
}

/*
 * One ->write_iter() call; returns what it wrote.  A direct write goes as
 * an asynchronous kiocb and is waited for here: the host file system then
 * holds the inode lock only while it issues, not until the write is done
 * (ext4's and xfs's direct writes keep it shared across a synchronous
 * kiocb's wait), so the buffered L2 table write of another allocation,
 * which takes it exclusive, does not queue behind every allocating write
 * in flight, and they behind it.
 */
static ssize_t qedblk_file_write_once(struct file *file, u64 off, struct iov_iter *iter,
				      bool direct)
{
	struct qedblk_file_dio dio;
	size_t count = iov_iter_count(iter);
	ssize_t ret;

	init_sync_kiocb(&dio.iocb, file);
	dio.iocb.ki_pos = off;
	if (direct) {
		dio.iocb.ki_flags |= IOCB_DIRECT;
		dio.iocb.ki_complete = qedblk_file_dio_complete;
		init_completion(&dio.done);
	}
	file_start_write(file);
	ret = file->f_op->write_iter(&dio.iocb, iter);
	if (ret == -EIOCBQUEUED) {
		wait_for_completion(&dio.done);
		ret = dio.ret;
		/* The iterator went past what a short write wrote. */
		if (ret >= 0 && (size_t)ret < count - iov_iter_count(iter))
			iov_iter_revert(iter, count - iov_iter_count(iter) - ret);
	}
	file_end_write(file);
	return ret;
}

/**
 * qedblk_file_write_iter() - write all of an iterator to a file
 * @file: the file
 * @off: where to write
 * @iter: the data, its whole count; advanced over what was written
 * @direct: write with O_DIRECT
 *
 * No fallback to the page cache: direct I/O was decided at attach, with
 * blocks the file system takes (qedblk_decide_dio()), so an -EINVAL is a
 * real error, and a buffered write would put guest data in the page cache
 * under the direct writes of the same pages.
 *
 * Return: 0, the write's error, or -EIO where the write makes no progress.
 */
int qedblk_file_write_iter(struct file *file, u64 off, struct iov_iter *iter, bool direct)
{
	ssize_t ret;

	while (iov_iter_count(iter)) {
		ret = qedblk_file_write_once(file, off, iter, direct);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -EIO;
		off += ret;
	}
	return 0;
}

/**
 * qedblk_file_write_zeroes() - write explicit zeros
 * @file: the file
 * @off: where to start
 * @len: bytes to zero
 * @direct: write with O_DIRECT: @off and @len are multiples of the
 *	device's block size, and the zero page is page aligned
 *
 * For ranges that may hold stale bytes of the file.
 *
 * Return: 0 or the write's error.
 */
int qedblk_file_write_zeroes(struct file *file, u64 off, u64 len, bool direct)
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
		ret = qedblk_file_write_iter(file, off, &iter, direct);
		if (ret)
			return ret;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

/**
 * qedblk_file_zero_new() - make new space at the end of the image read as zeros
 * @img: the attached image
 * @off: start of the space, claimed for clusters or an L2 table
 * @len: its length
 * @direct: guest data clusters with direct I/O on: written with O_DIRECT
 *
 * What lies past fresh_from was never written since attach: a hole or
 * preallocated space, zeros already, and only the file's size may need
 * extending over it.  Below it, stale bytes must be overwritten.
 *
 * The size is extended by writing the last block of zeros, the device's
 * block with @direct, as the file system's direct I/O takes it
 * (qedblk_decide_dio()): the same kind of write as the cluster's data, so
 * no page of it enters the page cache, and unlike an fallocate() it works
 * on every file system that can write.
 *
 * Return: 0 or the write's error.
 */
int qedblk_file_zero_new(struct qedblk_image *img, u64 off, u64 len, bool direct)
{
	u64 isize = i_size_read(file_inode(img->file));
	u64 tail;

	if (!len)
		return 0;
	if (off >= img->fresh_from) {
		if (off + len <= isize)
			return 0;
		tail = min_t(u64, len, direct ? img->qed->block_size : SECTOR_SIZE);
		return qedblk_file_write_zeroes(img->file, off + len - tail, tail, direct);
	}
	return qedblk_file_write_zeroes(img->file, off, len, direct);
}

/**
 * qedblk_file_punch() - give a range back to the host file system
 * @file: the file
 * @off: start of the range
 * @len: its length
 *
 * The range reads as zeros afterwards.
 *
 * Return: 0, -EOPNOTSUPP where the file system cannot punch holes, or
 * another error of vfs_fallocate().
 */
int qedblk_file_punch(struct file *file, u64 off, u64 len)
{
	return vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
}

/**
 * qedblk_note_error() - fail the guest's next flush
 * @qed: the device
 * @err: the error of an internal flush or header write
 *
 * A failed internal flush (an ordering point, the need-check flag) fails
 * the request it belongs to, if any, and the guest's next flush too: the
 * error it saw may be another request's lost write (qedblk_guest_flush()).
 */
void qedblk_note_error(struct qedblk_device *qed, int err)
{
	spin_lock(&qed->flush_lock);
	if (!qed->flush_error)
		qed->flush_error = err;
	spin_unlock(&qed->flush_lock);
}

/**
 * qedblk_file_zero_range() - zero a range and keep it allocated
 * @file: the file
 * @off: start of the range
 * @len: its length
 * @direct: write the zeros with O_DIRECT, if they are written
 *
 * For REQ_NOUNMAP, as lo_fallocate() does with FALLOC_FL_ZERO_RANGE;
 * written as zeros where the file system cannot.
 *
 * Return: 0 or an error.
 */
int qedblk_file_zero_range(struct file *file, u64 off, u64 len, bool direct)
{
	int ret = vfs_fallocate(file, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);

	if (ret == -EOPNOTSUPP)
		ret = qedblk_file_write_zeroes(file, off, len, direct);
	return ret;
}

/**
 * qedblk_file_flush() - flush the attached image, an internal ordering point
 * @img: the attached image; internal flushes never touch a backing file
 *
 * An error is also noted for the guest's next flush (qedblk_note_error()).
 *
 * Return: 0 or the error of vfs_fsync().
 */
int qedblk_file_flush(struct qedblk_image *img)
{
	int ret = vfs_fsync(img->file, 0);

	if (ret)
		qedblk_note_error(img->qed, ret);
	return ret;
}

/**
 * qedblk_file_flush_range() - make one range of the attached image durable
 * @img: the attached image
 * @off: start of the range
 * @len: its length, not 0
 *
 * With what is needed to read it back (the file's size, its allocation),
 * but not the rest of the file's dirty data: an ordering point for one
 * allocation should not write back the guest's whole page cache.  An
 * error is also noted for the guest's next flush.
 *
 * Return: 0 or the error of vfs_fsync_range().
 */
int qedblk_file_flush_range(struct qedblk_image *img, u64 off, u64 len)
{
	int ret = vfs_fsync_range(img->file, off, off + len - 1, 1);

	if (ret)
		qedblk_note_error(img->qed, ret);
	return ret;
}

/**
 * qedblk_file_drop_cache() - leave none of the image's data in the page cache
 * @img: the attached image, about to be used with direct I/O
 *
 * What a buffered writer (QEMU, qemu-img, a buffered attach) left there:
 * dirty pages would be written back under the first direct I/O to each
 * range, and direct writes with IOCB_NOWAIT refuse any page at all in
 * their range (kiocb_invalidate_pages()), so each would go to a worker.
 * Only clean pages nobody maps are dropped; the tables' pages come back
 * as they are read.
 *
 * Return: 0, or the error of writing back.
 */
int qedblk_file_drop_cache(struct qedblk_image *img)
{
	struct address_space *mapping = img->file->f_mapping;
	int ret = filemap_write_and_wait(mapping);

	if (ret) {
		qedblk_note_error(img->qed, ret);
		return ret;
	}
	invalidate_mapping_pages(mapping, 0, -1);
	return 0;
}

/**
 * qedblk_guest_flush() - REQ_OP_FLUSH
 * @qed: the device
 *
 * vfs_fsync() reports a writeback error only once per file description,
 * and our internal flushes share the description: one of them may have
 * consumed the error of a guest write that never reached the disk.  So the
 * guest's flush keeps its own errseq cursor on the mapping, as
 * file_check_and_advance_wb_err() does for each file, and also fails for
 * an internal flush that failed since the last guest flush.  loop's
 * lo_req_flush() gets this for free, having no internal flushes.
 *
 * Return: 0, or the error of this flush, of a writeback since the last
 * one, or of an internal flush since then.
 */
int qedblk_guest_flush(struct qedblk_device *qed)
{
	struct file *file = qed->top.file;
	int ret = vfs_fsync(file, 0);
	int err;

	spin_lock(&qed->flush_lock);
	err = errseq_check_and_advance(&file->f_mapping->wb_err, &qed->flush_since);
	if (!err)
		err = qed->flush_error;
	qed->flush_error = 0;
	spin_unlock(&qed->flush_lock);
	return ret ? ret : err;
}

/**
 * qedblk_file_reopen() - our own open file description of an image file
 * @file: the file userspace passed
 * @write: open it read-write
 * @path: the image's name, for messages
 *
 * The file userspace passed may carry O_APPEND (every table write would
 * land at the end of the file), O_DIRECT (unaligned metadata writes fail)
 * or O_DSYNC, and shares its file position and writeback error cursor with
 * its owner.  loop uses the caller's file as it is; qed writes metadata
 * through it, so it opens its own, as QEMU does, with the opener's
 * credentials.
 *
 * Return: the new file, or an ERR_PTR(): -EINVAL on a pseudo file system,
 * -EPERM for writing an append-only or immutable file, or dentry_open()'s.
 */
struct file *qedblk_file_reopen(struct file *file, bool write, const char *path)
{
	struct inode *inode = file_inode(file);

	if (qedblk_pseudo_fs_magic(inode->i_sb->s_magic)) {
		pr_err("%s: %pD is on a pseudo file system (%s), not an image\n",
		       path, file, inode->i_sb->s_type->name);
		return ERR_PTR(-EINVAL);
	}
	if (write && (IS_APPEND(inode) || IS_IMMUTABLE(inode))) {
		pr_err("%s: the file is %s; only a read-only attach is possible\n",
		       path, IS_APPEND(inode) ? "append-only" : "immutable");
		return ERR_PTR(-EPERM);
	}
	return dentry_open(&file->f_path, O_LARGEFILE | (write ? O_RDWR : O_RDONLY),
			   file->f_cred);
}
