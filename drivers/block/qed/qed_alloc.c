// SPDX-License-Identifier: GPL-2.0
/*
 * Allocating writes: guest writes to clusters that are unallocated or zero.
 *
 * New clusters are appended at the cluster-aligned end of the file and are
 * always written whole, the guest's data padded with zeros, so that no
 * stale byte of the file can ever show through.  The data is written
 * before the L2 entry that points at it; a new L2 table is written and
 * flushed before the L1 entry that points at it (qed_table.c).
 *
 * Allocation is serialised by alloc_lock, and every lookup is redone under
 * the lock, so two writers can never allocate the same cluster twice.
 */
#include <linux/fs.h>
#include <linux/uio.h>

#include "qed.h"

/* NEED_CHECK is cleared once allocation has been idle this long. */
#define QED_CLEAN_DELAY		(5 * HZ)

/* Make QED_F_NEED_CHECK durable before the first cluster is allocated. */
static int qed_mark_dirty(struct qed_device *qed)
{
	int ret;

	if (qed->need_check_on_disk)
		return 0;
	qed->geom.features |= QED_F_NEED_CHECK;
	ret = qed_write_header(qed);
	if (!ret)
		ret = qed_file_flush(qed);
	if (ret) {
		qed->geom.features &= ~QED_F_NEED_CHECK;
		return ret;
	}
	qed->need_check_on_disk = true;
	return 0;
}

/*
 * Clear NEED_CHECK after flushing everything it protected.  An image that
 * was dirty at attach keeps the bit: it has not been checked.
 */
int qed_mark_clean(struct qed_device *qed)
{
	int ret;

	lockdep_assert_held(&qed->alloc_lock);
	if (!qed->need_check_on_disk || qed->was_dirty)
		return 0;
	ret = qed_file_flush(qed);
	if (ret)
		return ret;
	qed->geom.features &= ~QED_F_NEED_CHECK;
	ret = qed_write_header(qed);
	if (!ret)
		ret = qed_file_flush(qed);
	if (ret) {
		qed->geom.features |= QED_F_NEED_CHECK;
		return ret;
	}
	qed->need_check_on_disk = false;
	return 0;
}

void qed_clean_work(struct work_struct *work)
{
	struct qed_device *qed = container_of(to_delayed_work(work),
					      struct qed_device, clean_work);
	int ret;

	mutex_lock(&qed->alloc_lock);
	ret = qed_mark_clean(qed);
	mutex_unlock(&qed->alloc_lock);
	if (ret)
		pr_warn_ratelimited("qed%d: clearing the need-check flag failed: %d\n",
				    qed->index, ret);
}

/* Zero [off, off + len) of newly allocated clusters. */
static int qed_zero_fill(struct qed_device *qed, u64 off, u64 len, u64 isize)
{
	if (!len)
		return 0;
	/*
	 * Past the file's end a hole reads as zeros: only the last bytes must
	 * be written, to extend the file over the range.
	 */
	if (off >= isize) {
		u64 tail = min_t(u64, len, 512);

		return qed_file_write_zeroes(qed, off + len - tail, tail);
	}
	return qed_file_write_zeroes(qed, off, len);
}

/*
 * Allocate the clusters under [pos, pos + len) and write @len bytes of
 * @iter there.  The range is one run from qed_map_range(): one kind, within
 * one page of L2 entries.
 */
static int qed_alloc_run(struct qed_device *qed, u64 pos, u64 len,
			 struct iov_iter *iter)
{
	const struct qed_geom *g = &qed->geom;
	u64 start = qed_cluster_start(g, pos);
	u64 end = round_up(pos + len, (u64)g->cluster_size);
	u32 nr = (u32)((end - start) >> g->cluster_shift);
	u64 new = qed->file_end;
	u64 head = pos - start;
	u64 isize = i_size_read(file_inode(qed->file));
	struct iov_iter data = *iter;
	int ret;

	ret = qed_mark_dirty(qed);
	if (ret)
		return ret;

	/* Claimed before writing: a failed write leaks, never reuses. */
	WRITE_ONCE(qed->file_end, new + (end - start));

	/* A head past the file's end is a hole the data write leaves behind. */
	if (new < isize) {
		ret = qed_zero_fill(qed, new, head, isize);
		if (ret)
			return ret;
	}
	iov_iter_truncate(&data, len);
	ret = qed_file_write_iter(qed, new + head, &data);
	if (ret)
		return ret;
	isize = i_size_read(file_inode(qed->file));
	ret = qed_zero_fill(qed, new + head + len, (end - start) - head - len, isize);
	if (ret)
		return ret;
	return qed_l2_set(qed, start, nr, new);
}

/*
 * Write @iter (its whole count) at guest offset @pos, allocating what is
 * not allocated.  Runs in process context; takes alloc_lock.
 */
int qed_alloc_write(struct qed_device *qed, u64 pos, struct iov_iter *iter)
{
	struct qed_map m;
	struct iov_iter part;
	int ret = 0;

	mutex_lock(&qed->alloc_lock);
	while (iov_iter_count(iter)) {
		/* Redo the lookup: another writer may have allocated it. */
		ret = qed_map_range(qed, pos, iov_iter_count(iter), &m);
		if (ret)
			break;
		if (m.type == QED_MAP_DATA) {
			part = *iter;
			iov_iter_truncate(&part, m.len);
			ret = qed_file_write_iter(qed, m.file_off, &part);
		} else {
			ret = qed_alloc_run(qed, pos, m.len, iter);
		}
		if (ret)
			break;
		iov_iter_advance(iter, m.len);
		pos += m.len;
	}
	if (qed->need_check_on_disk)
		mod_delayed_work(system_wq, &qed->clean_work, QED_CLEAN_DELAY);
	mutex_unlock(&qed->alloc_lock);
	return ret;
}
