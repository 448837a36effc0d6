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
 * Every allocating operation (a write, write-zeroes or discard) first
 * claims the whole clusters under its guest range, waiting for any other
 * operation on them (qedblk_op_begin()), so two writers can never allocate the
 * same cluster twice.  Metadata changes are serialised by alloc_lock, which
 * is dropped while a new cluster's data is written: operations on other
 * clusters allocate meanwhile.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bvec.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/sched/mm.h>

#include "qed.h"

/*
 * The file is preallocated ahead of the clusters in use by as much as is
 * in use, between these bounds: every step costs a flush, so a file that
 * is being filled fast takes ever fewer of them.
 */
#define QED_PREALLOC_MIN	(64ull << 20)
#define QED_PREALLOC_MAX	(1024ull << 20)

/*
 * An L2 entry must never reach the disk pointing past the end of the
 * file: the host file system may write the table block in place long
 * before it commits the size of a file that grew.  So the file is grown
 * ahead of use and the new size flushed once, before any entry can point
 * into it.  Where the file system cannot preallocate, every allocation
 * flushes before its entry is written.
 */
static int qedblk_prealloc(struct qedblk_device *qed, u64 need_end)
{
	struct qedblk_image *img = &qed->top;
	const struct qedblk_geom *g = &img->geom;
	u64 isize = i_size_read(file_inode(img->file));
	/* The largest the file can become: every table and every cluster. */
	u64 max_end = g->l1_table_offset + g->table_bytes +
		      g->l1_entries_used * g->table_bytes +
		      round_up(g->image_size, (u64)g->cluster_size);
	u64 need, len;
	int ret;

	lockdep_assert_held(&qed->alloc_lock);
	if (need_end <= isize || qed->no_prealloc)
		return 0;
	need = round_up(need_end - isize, (u64)g->cluster_size);
	len = clamp(img->file_end, QED_PREALLOC_MIN, QED_PREALLOC_MAX);
	len = max_end > isize ? min(len, max_end - isize) : 0;
	len = round_up(max(need, len), (u64)g->cluster_size);
	/* Even a failed fallocate may have grown the file: trim it later. */
	qed->preallocated = true;
	ret = vfs_fallocate(img->file, 0, isize, len);
	/* Nearly full: ask for no more than this allocation needs. */
	if (ret == -ENOSPC && len > need) {
		len = need;
		ret = vfs_fallocate(img->file, 0, isize, len);
	}
	if (ret == -EOPNOTSUPP) {
		qed->no_prealloc = true;
		return 0;
	}
	if (ret)
		return ret;
	return qedblk_file_flush_range(img, isize, len);
}

/*
 * Give back what was preallocated and not used, before the image is
 * marked clean: a clean image has no leaked clusters at its end.
 */
static int qedblk_prealloc_trim(struct qedblk_device *qed)
{
	struct qedblk_image *img = &qed->top;

	lockdep_assert_held(&qed->alloc_lock);
	if (!qed->preallocated || i_size_read(file_inode(img->file)) <= img->file_end)
		return 0;
	qed->preallocated = false;
	return vfs_truncate(&img->file->f_path, img->file_end);
}

/* An allocating operation's claim on the clusters under its guest range. */
struct qedblk_op {
	struct list_head node;
	u64 start, end;
};

/* Add @op to the operations under way unless one of them overlaps it. */
static bool qedblk_op_try_claim(struct qedblk_device *qed, struct qedblk_op *op)
{
	struct qedblk_op *o;

	spin_lock(&qed->ops_lock);
	list_for_each_entry(o, &qed->ops, node) {
		if (o->start < op->end && op->start < o->end) {
			spin_unlock(&qed->ops_lock);
			return false;
		}
	}
	list_add_tail(&op->node, &qed->ops);
	spin_unlock(&qed->ops_lock);
	return true;
}

/* Claim the clusters under [pos, pos + len); sleeps while others hold them. */
static void qedblk_op_begin(struct qedblk_device *qed, struct qedblk_op *op, u64 pos, u64 len)
{
	u64 cs = qed->top.geom.cluster_size;

	op->start = round_down(pos, cs);
	op->end = round_up(pos + len, cs);
	wait_event(qed->ops_wait, qedblk_op_try_claim(qed, op));
}

static void qedblk_op_end(struct qedblk_device *qed, struct qedblk_op *op)
{
	spin_lock(&qed->ops_lock);
	list_del(&op->node);
	spin_unlock(&qed->ops_lock);
	wake_up_all(&qed->ops_wait);
}

/**
 * qedblk_mark_clean() - clear NEED_CHECK after flushing what it protected
 * @qed: the device
 *
 * Not while an allocating operation is under way, and not for an image
 * that was dirty at attach: it has not been checked.
 *
 * Return: 0, or the error of the trim, a flush or the header write.
 */
int qedblk_mark_clean(struct qedblk_device *qed)
{
	bool busy;
	int ret;

	lockdep_assert_held(&qed->alloc_lock);
	if (!qed->need_check_on_disk || qed->was_dirty)
		return 0;
	/* An operation under way may yet write an entry; it re-arms us. */
	spin_lock(&qed->ops_lock);
	busy = !list_empty(&qed->ops);
	spin_unlock(&qed->ops_lock);
	if (busy)
		return 0;
	ret = qedblk_prealloc_trim(qed);
	if (!ret)
		ret = qedblk_file_flush(&qed->top);
	if (ret)
		return ret;
	return qedblk_image_clear_need_check(qed);
}

/**
 * qedblk_clean_work() - clean_work: qedblk_mark_clean() once allocation is idle
 * @work: qed->clean_work
 */
void qedblk_clean_work(struct work_struct *work)
{
	struct qedblk_device *qed = container_of(to_delayed_work(work),
					      struct qedblk_device, clean_work);
	unsigned int noio = memalloc_noio_save();
	int ret;

	mutex_lock(&qed->alloc_lock);
	ret = qedblk_mark_clean(qed);
	mutex_unlock(&qed->alloc_lock);
	memalloc_noio_restore(noio);
	/* Its flushes noted the error for the guest's next flush. */
	if (ret)
		qedblk_err_ratelimited(&qed->top, "clearing the need-check flag failed: %d", ret);
}

/*
 * Copy guest range [pos, pos + len) from the backing chain to file offset
 * @off of the image: the part of a new cluster the guest did not write.
 * With @direct, written with O_DIRECT from the copy buffer: a kmalloc() of
 * a power of two is aligned to its size, so to a page here.  A bvec, not a
 * kvec: 6.1's direct I/O cannot take the pages of a kvec.
 */
static int qedblk_backing_fill(struct qedblk_device *qed, u64 off, u64 pos, u64 len, bool direct)
{
	struct iov_iter iter;
	struct bio_vec bv;
	struct kvec kv;
	void *buf;
	u64 n;
	int ret = 0;

	if (!len)
		return 0;
	buf = mempool_alloc(qed->copy_pool, GFP_NOIO);
	while (len) {
		n = min_t(u64, len, QED_COPY_BYTES);
		kv.iov_base = buf;
		kv.iov_len = n;
		iov_iter_kvec(&iter, ITER_DEST, &kv, 1, n);
		ret = qedblk_chain_read(qed->top.backing, pos, &iter);
		if (ret)
			break;
		bvec_set_page(&bv, virt_to_page(buf), n, offset_in_page(buf));
		iov_iter_bvec(&iter, ITER_SOURCE, &bv, 1, n);
		ret = qedblk_file_write_iter(qed->top.file, off, &iter, direct);
		if (ret)
			break;
		off += n;
		pos += n;
		len -= n;
	}
	mempool_free(buf, qed->copy_pool);
	return ret;
}

/* Fill what the guest did not write of a new cluster: backing data or zeros. */
static int qedblk_fill(struct qedblk_device *qed, bool from_backing, u64 off, u64 pos, u64 len,
		       bool direct)
{
	if (from_backing)
		return qedblk_backing_fill(qed, off, pos, len, direct);
	return qedblk_file_zero_new(&qed->top, off, len, direct);
}

/* What qedblk_alloc_run() writes of the run itself. */
enum qedblk_run_data {
	QED_RUN_ITER,		/* the guest's data */
	QED_RUN_ZEROES,		/* zeros */
	QED_RUN_COPY,		/* nothing: the whole clusters are what they were */
};

/*
 * Allocate the clusters under [pos, pos + len) and write the run there:
 * @len bytes of @iter, zeros, or with QED_RUN_COPY (copy-on-read) nothing.
 * The range is one run from qedblk_map_range(): one kind (@type), within
 * one page of L2 entries.  The rest of each new cluster is what the guest
 * saw there before: backing data for unallocated clusters, zeros for zero
 * clusters.  The caller has a claim on the clusters (qedblk_op_begin())
 * and alloc_lock, which is dropped while the data is written.
 */
static int qedblk_alloc_run(struct qedblk_device *qed, enum qedblk_map_type type, u64 pos,
			    u64 len, enum qedblk_run_data what, struct iov_iter *iter)
{
	const struct qedblk_geom *g = &qed->top.geom;
	u64 start = qedblk_cluster_start(g, pos);
	u64 end = round_up(pos + len, (u64)g->cluster_size);
	u32 nr = (u32)((end - start) >> g->cluster_shift);
	u64 new = qed->top.file_end;
	u64 head = what == QED_RUN_COPY ? end - start : pos - start;
	u64 tail = (end - start) - head - (what == QED_RUN_COPY ? 0 : len);
	bool backed = type == QED_MAP_UNALLOC && qed->top.backing;
	struct iov_iter data;
	bool ordered, direct;
	int ret;

	lockdep_assert_held(&qed->alloc_lock);
	ret = qedblk_image_set_need_check(qed);
	if (ret)
		return ret;

	ret = qedblk_prealloc(qed, new + (end - start));
	if (ret)
		return ret;

	/* Claimed before writing: a failed write leaks, never reuses. */
	WRITE_ONCE(qed->top.file_end, new + (end - start));
	/*
	 * Over a backing file the entry must not reach the disk before the
	 * data: a cut in between would show zeros where the backing data
	 * was.  Without one, an unwritten cluster reads as the zeros it held
	 * before, as long as the file's size covers it (qedblk_prealloc()).
	 */
	ordered = backed || qed->no_prealloc;
	/*
	 * With --direct-io every write of a data cluster is direct, the fills
	 * too: a buffered write would leave a page of the cluster in the page
	 * cache for a later direct write of the same page to write back and
	 * invalidate (or, failing that, to race with).  The offsets and
	 * lengths are all multiples of the device's block size, which
	 * qedblk_decide_dio() made at least the file system's direct I/O
	 * size.  Metadata (the header, L1 and L2 tables) stays buffered: each
	 * table fills clusters of its own, taken at the end of the file
	 * (qedblk_l2_create()), and no cluster ever changes kind: allocation
	 * only appends, a discarded or zeroed data cluster stays allocated
	 * (qedblk_zero_run()), nothing frees a table, and only a repair cuts
	 * the file short or punches leaked clusters, which drops their pages,
	 * before anything is allocated again.  So direct and buffered I/O
	 * never meet on one page of the file.
	 */
	direct = qedblk_direct(qed);
	if (what == QED_RUN_ITER)
		data = *iter;
	/*
	 * The data needs no lock.  Our claim keeps every other allocating
	 * operation off these clusters, so their entries stay as
	 * qedblk_map_range() found them; file_end is past the new clusters,
	 * so no one else allocates there; qedblk_mark_clean() sees the claim
	 * and leaves NEED_CHECK set.  What the lock guards was read above:
	 * the L2 entry is written under it again.
	 */
	mutex_unlock(&qed->alloc_lock);

	ret = qedblk_fill(qed, backed, new, start, head, direct);
	if (!ret && what == QED_RUN_ZEROES) {
		ret = qedblk_file_write_zeroes(qed->top.file, new + head, len, direct);
	} else if (!ret && what == QED_RUN_ITER) {
		iov_iter_truncate(&data, len);
		ret = qedblk_file_write_iter(qed->top.file, new + head, &data, direct);
	}
	if (!ret)
		ret = qedblk_fill(qed, backed, end - tail - start + new, end - tail, tail, direct);
	if (!ret && ordered)
		ret = qedblk_file_flush_range(&qed->top, new, end - start);

	mutex_lock(&qed->alloc_lock);
	if (ret)
		return ret;
	return qedblk_l2_set(qed, start, nr, new);
}

/**
 * qedblk_alloc_write() - a guest write that may need allocation
 * @qed: the device
 * @pos: guest offset
 * @iter: the data, its whole count
 *
 * Allocates what is not allocated.  Runs in process context; takes
 * alloc_lock.
 *
 * Return: 0 or the error of translation, a write or a table update.
 */
int qedblk_alloc_write(struct qedblk_device *qed, u64 pos, struct iov_iter *iter)
{
	struct qedblk_map m;
	struct iov_iter part;
	struct qedblk_op op;
	int ret = 0;

	qedblk_op_begin(qed, &op, pos, iov_iter_count(iter));
	mutex_lock(&qed->alloc_lock);
	while (iov_iter_count(iter)) {
		/* Redo the lookup: another writer may have allocated it. */
		ret = qedblk_map_range(&qed->top, pos, iov_iter_count(iter), &m);
		if (ret)
			break;
		if (m.type == QED_MAP_DATA) {
			part = *iter;
			iov_iter_truncate(&part, m.len);
			ret = qedblk_file_write_iter(qed->top.file, m.file_off, &part,
						     qedblk_direct(qed));
		} else {
			ret = qedblk_alloc_run(qed, m.type, pos, m.len, QED_RUN_ITER, iter);
		}
		if (ret)
			break;
		iov_iter_advance(iter, m.len);
		pos += m.len;
	}
	if (qed->need_check_on_disk)
		mod_delayed_work(qed->wq, &qed->clean_work, QED_CLEAN_DELAY);
	mutex_unlock(&qed->alloc_lock);
	qedblk_op_end(qed, &op);
	return ret;
}

/**
 * qedblk_alloc_copy() - copy-on-read: copy backing data into the image
 * @qed: the device, attached with QEDBLK_ATTACH_COPY_ON_READ
 * @pos: guest offset of a read that found [pos, pos + len) unallocated
 * @len: its length
 *
 * The whole clusters under the range that are still unallocated are
 * allocated and filled from the backing chain, as QEMU's copy-on-read
 * does, so that the next read of them stays in the image.  Under a claim
 * on the clusters, with the lookup done again: a guest write that
 * allocated one since the read found it unallocated owns it, and the
 * copy leaves it alone.
 *
 * Return: 0 or the error of translation, a write or a table update.
 */
int qedblk_alloc_copy(struct qedblk_device *qed, u64 pos, u64 len)
{
	const struct qedblk_geom *g = &qed->top.geom;
	u64 start = qedblk_cluster_start(g, pos);
	u64 end = round_up(pos + len, (u64)g->cluster_size);
	struct qedblk_map m;
	struct qedblk_op op;
	int ret = 0;

	end = min(end, g->image_size);
	qedblk_op_begin(qed, &op, start, end - start);
	mutex_lock(&qed->alloc_lock);
	for (pos = start; pos < end; pos += m.len) {
		ret = qedblk_map_range(&qed->top, pos, end - pos, &m);
		if (ret)
			break;
		if (m.type != QED_MAP_UNALLOC)
			continue;
		ret = qedblk_alloc_run(qed, m.type, pos, m.len, QED_RUN_COPY, NULL);
		if (ret)
			break;
		atomic64_add(DIV_ROUND_UP(m.len, g->cluster_size), &qed->copied_clusters);
	}
	if (qed->need_check_on_disk)
		mod_delayed_work(qed->wq, &qed->clean_work, QED_CLEAN_DELAY);
	mutex_unlock(&qed->alloc_lock);
	qedblk_op_end(qed, &op);
	return ret;
}

/* Zero part of one cluster that maps as @type (not data). */
static int qedblk_zero_partial(struct qedblk_device *qed, enum qedblk_map_type type,
			       u64 pos, u64 len)
{
	/* Zero clusters, and unallocated ones with nothing below, are zeros. */
	if (!len || type == QED_MAP_ZERO || !qed->top.backing)
		return 0;
	return qedblk_alloc_run(qed, type, pos, len, QED_RUN_ZEROES, NULL);
}

/*
 * Zero (@discard false) or discard the run @m at guest offset @pos.
 * Whole unallocated clusters become zero clusters, with no data written:
 * always for write-zeroes, as QEMU does; for discard only over a backing
 * file, whose data must not show through again.  Whole data clusters stay
 * allocated, as QEMU keeps them, and their file range is punched: the host
 * gets the space back, no cluster leaks, and qemu-img check stays clean.
 * With @nounmap the range is zeroed in place instead and keeps its space.
 * Partial clusters are written as zeros, or left alone by discard.
 */
static int qedblk_zero_run(struct qedblk_device *qed, const struct qedblk_map *m, u64 pos,
			   bool discard, bool nounmap)
{
	const struct qedblk_geom *g = &qed->top.geom;
	struct file *file = qed->top.file;
	u64 end = pos + m->len;
	u64 a = round_up(pos, (u64)g->cluster_size);
	u64 b = round_down(end, (u64)g->cluster_size);
	bool mark = !discard || qed->top.backing;
	bool direct = qedblk_direct(qed);	/* as in qedblk_alloc_run() */
	int ret = 0;

	lockdep_assert_held(&qed->alloc_lock);
	if (a >= b) {		/* no whole cluster */
		a = end;
		b = end;
	}
	if (m->type == QED_MAP_DATA) {
		if (a < b && nounmap)
			ret = qedblk_file_zero_range(file, m->file_off + (a - pos), b - a, direct);
		else if (a < b)
			ret = qedblk_file_punch(file, m->file_off + (a - pos), b - a);
		if (ret == -EOPNOTSUPP)
			return discard ? 0 : qedblk_file_write_zeroes(file, m->file_off, m->len,
								      direct);
		if (ret || discard)
			return ret;
		ret = qedblk_file_write_zeroes(file, m->file_off, a - pos, direct);
		if (!ret)
			ret = qedblk_file_write_zeroes(file, m->file_off + (b - pos), end - b,
						       direct);
		return ret;
	}
	if (!discard)
		ret = qedblk_zero_partial(qed, m->type, pos, a - pos);
	if (!ret && a < b && m->type == QED_MAP_UNALLOC && mark) {
		ret = qedblk_image_set_need_check(qed);
		if (!ret)
			ret = qedblk_l2_set(qed, a, (u32)((b - a) >> g->cluster_shift),
					    QED_ENTRY_ZERO);
	}
	if (!ret && !discard)
		ret = qedblk_zero_partial(qed, m->type, b, end - b);
	return ret;
}

/**
 * qedblk_alloc_zeroes() - REQ_OP_WRITE_ZEROES or REQ_OP_DISCARD
 * @qed: the device
 * @pos: guest offset
 * @len: bytes
 * @discard: discard rather than zero
 * @nounmap: REQ_NOUNMAP: keep allocated clusters' space allocated in the file
 *
 * Takes alloc_lock.
 *
 * Return: 0 or the error of translation, a write or a table update.
 */
int qedblk_alloc_zeroes(struct qedblk_device *qed, u64 pos, u64 len, bool discard, bool nounmap)
{
	struct qedblk_map m;
	struct qedblk_op op;
	int ret = 0;

	qedblk_op_begin(qed, &op, pos, len);
	mutex_lock(&qed->alloc_lock);
	while (len) {
		ret = qedblk_map_range(&qed->top, pos, len, &m);
		if (ret)
			break;
		ret = qedblk_zero_run(qed, &m, pos, discard, nounmap);
		if (ret)
			break;
		pos += m.len;
		len -= m.len;
	}
	if (qed->need_check_on_disk)
		mod_delayed_work(qed->wq, &qed->clean_work, QED_CLEAN_DELAY);
	mutex_unlock(&qed->alloc_lock);
	qedblk_op_end(qed, &op);
	return ret;
}
