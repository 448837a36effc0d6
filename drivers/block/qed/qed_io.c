// SPDX-License-Identifier: GPL-2.0
/*
 * Guest I/O, the whole life of a request, as zloop.c has it:
 *
 * qedblk_queue_rq() walks a direct-I/O read or write itself
 * (qedblk_cmd_submit()), queues a buffered one on its hardware queue for
 * qedblk_queue_work(), anything else on a work item of its own.
 *
 * qedblk_rw_from() cuts a read or write where the mapping changes: reads
 * and in-place writes of allocated clusters go to the image file as
 * kiocbs on ->read_iter/->write_iter (asynchronous with direct I/O),
 * physically contiguous clusters in one kiocb.  Zero clusters read as
 * zeros, unallocated ones from the backing chain (qed_backing.c).  What
 * the context walking the request must not wait for goes on in a worker
 * (qedblk_cmd_hand_off()): a queue worker for table loads and the backing
 * chain, an alloc_wq worker of its own for a write to either kind, which
 * goes on through qed_alloc.c.
 *
 * Each kiocb, and each context while it walks the request, holds a
 * reference (@pending); the last qedblk_cmd_put() completes the request,
 * and qedblk_complete_rq() ends it.
 *
 * Functions come before their callers, so the file reads from the kiocb up
 * to the blk-mq ops at its end.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/fs.h>
#include <linux/uio.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/blk-cgroup.h>
#include <linux/kthread.h>

#include "qed.h"

static void qedblk_cmd_put(struct qedblk_cmd *cmd)
{
	if (atomic_dec_and_test(&cmd->pending))
		blk_mq_complete_request(blk_mq_rq_from_pdu(cmd));
}

static void qedblk_cmd_fail(struct qedblk_cmd *cmd, int err)
{
	/* The first error wins; the request fails as a whole. */
	cmpxchg(&cmd->error, 0, err);
}

static void qedblk_seg_retry(struct work_struct *work);

/* Once both the issuer and the completion are done with the kiocb. */
static void qedblk_seg_put(struct qedblk_seg *seg)
{
	struct qedblk_cmd *cmd = seg->cmd;

	if (!atomic_dec_and_test(&seg->ref))
		return;
	if (seg->again) {
		INIT_WORK(&seg->retry, qedblk_seg_retry);
		queue_work(cmd->qed->wq, &seg->retry);
		return;
	}
	if (seg != &cmd->seg)
		mempool_free(seg, cmd->qed->seg_pool);
	qedblk_cmd_put(cmd);
}

static void qedblk_seg_complete(struct kiocb *iocb, long ret)
{
	struct qedblk_seg *seg = container_of(iocb, struct qedblk_seg, iocb);
	struct qedblk_cmd *cmd = seg->cmd;

	if (iocb->ki_flags & IOCB_WRITE)
		kiocb_end_write(iocb);
	/*
	 * The host had to wait for something (an inode lock, an extent to
	 * convert, a tag of its disk): a worker issues the kiocb again, and
	 * may wait.  Some of it may have been done; doing it again reads or
	 * writes the same bytes, and no later request depends on it yet.
	 */
	if (ret == -EAGAIN && (iocb->ki_flags & IOCB_NOWAIT))
		seg->again = true;
	else if (ret < 0)
		qedblk_cmd_fail(cmd, ret);
	else if (ret != seg->len)
		qedblk_cmd_fail(cmd, -EIO);	/* the file ended under a cluster */
	qedblk_seg_put(seg);
}

/* The part [off, off + len) of the request's data. */
static void qedblk_cmd_slice(struct qedblk_cmd *cmd, u64 off, u64 len,
			     struct iov_iter *iter)
{
	*iter = cmd->iter;
	iov_iter_advance(iter, off);
	iov_iter_truncate(iter, len);
}

/*
 * kiocb_start_write() for qedblk_queue_rq(): the submitter may hold the
 * freeze protection of a file system of the same type, on /dev/qedN, and
 * must not wait for a frozen host file system either.
 */
static bool qedblk_start_write_nowait(struct kiocb *iocb)
{
	struct super_block *sb = file_inode(iocb->ki_filp)->i_sb;

	if (!sb_start_write_trylock(sb))
		return false;
	/* Released in another context: kiocb_end_write(), as aio's. */
	__sb_writers_release(sb, SB_FREEZE_WRITE);
	return true;
}

/*
 * Send one piece to the image file; completes it unless the file system
 * queued it.  @nowait: the caller is qedblk_queue_rq(), which must not
 * wait for the host.
 */
static void qedblk_seg_issue(struct qedblk_seg *seg, bool nowait)
{
	struct qedblk_cmd *cmd = seg->cmd;
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	bool write = req_op(rq) == REQ_OP_WRITE;
	struct file *file = cmd->qed->top.file;
	struct iov_iter iter;
	ssize_t ret;

	qedblk_cmd_slice(cmd, seg->off, seg->len, &iter);
	atomic_set(&seg->ref, 2);
	seg->again = false;
	seg->iocb.ki_pos = seg->file_off;
	seg->iocb.ki_filp = file;
	seg->iocb.ki_ioprio = req_get_ioprio(rq);
	if (qedblk_direct(cmd->qed)) {
		seg->iocb.ki_complete = qedblk_seg_complete;
		seg->iocb.ki_flags = IOCB_DIRECT | (nowait ? IOCB_NOWAIT : 0);
	} else {
		seg->iocb.ki_complete = NULL;
		seg->iocb.ki_flags = 0;
		cmd->cpu_copied |= !write;
	}
	if (!write) {
		ret = file->f_op->read_iter(&seg->iocb, &iter);
	} else if (WARN_ON_ONCE(!(file->f_mode & FMODE_WRITE))) {
		/* qedblk_queue_rq() refuses writes to a read-only device. */
		ret = -EBADF;
	} else if (nowait && !qedblk_start_write_nowait(&seg->iocb)) {
		ret = -EAGAIN;
	} else {
		/*
		 * Freeze protection for the host file system, held until
		 * the write completes, as lo_rw_aio() and aio take it.
		 */
		if (!nowait)
			kiocb_start_write(&seg->iocb);
		seg->iocb.ki_flags |= IOCB_WRITE;
		ret = file->f_op->write_iter(&seg->iocb, &iter);
	}
	if (ret != -EIOCBQUEUED)
		qedblk_seg_complete(&seg->iocb, ret);
	qedblk_seg_put(seg);
}

/* The first kiocb of a request is the command's own, the others come from seg_pool. */
static struct qedblk_seg *qedblk_cmd_get_seg(struct qedblk_cmd *cmd)
{
	if (!cmd->seg_busy) {
		cmd->seg_busy = true;
		return &cmd->seg;
	}
	return mempool_alloc(cmd->qed->seg_pool, GFP_NOIO);
}

static void qedblk_submit_seg(struct qedblk_cmd *cmd, u64 off, u64 len, u64 file_off)
{
	struct qedblk_seg *seg = qedblk_cmd_get_seg(cmd);

	seg->cmd = cmd;
	seg->off = off;
	seg->len = len;
	seg->file_off = file_off;
	atomic_inc(&cmd->pending);
	qedblk_seg_issue(seg, cmd->phase == QED_CMD_SUBMITTING);
}

/*
 * Set cmd->iter over the request's pages.  The bvecs are always copied
 * (into the command itself when there are few, else into a bvec_pool
 * element): a bio may start in the middle of its bvec table, and how to
 * express that differs by kernel.
 */
static int qedblk_cmd_setup_iter(struct qedblk_cmd *cmd, struct request *rq, bool write)
{
	struct req_iterator rq_iter;
	struct bio_vec tmp, *bvec;
	unsigned int nr_bvec = 0;

	rq_for_each_bvec(tmp, rq, rq_iter)
		nr_bvec++;

	cmd->bvec = NULL;
	cmd->bvec_pooled = false;
	bvec = cmd->inline_bvec;
	if (nr_bvec > ARRAY_SIZE(cmd->inline_bvec)) {
		if (nr_bvec <= QED_POOL_BVECS) {
			bvec = mempool_alloc(cmd->qed->bvec_pool, GFP_NOIO);
			cmd->bvec_pooled = true;
		} else {
			bvec = kmalloc_array(nr_bvec, sizeof(*bvec), GFP_NOIO);
			if (!bvec)
				return -ENOMEM;
		}
		cmd->bvec = bvec;
	}
	nr_bvec = 0;
	rq_for_each_bvec(tmp, rq, rq_iter)
		bvec[nr_bvec++] = tmp;
	iov_iter_bvec(&cmd->iter, write ? ITER_SOURCE : ITER_DEST, bvec, nr_bvec,
		      blk_rq_bytes(rq));
	return 0;
}

static void qedblk_resume_work(struct work_struct *work);

/*
 * Hand the walk from byte @done on to a worker that may do what this
 * context must not: a queue worker (ISSUING) may wait for a table load or
 * the backing chain; allocation waits for the host file system and for
 * allocations of the same clusters, so it gets a worker of its own
 * (ALLOCATING) and the queue's other requests go on meanwhile.
 * Returns false if this context may already do it.
 */
static bool qedblk_cmd_hand_off(struct qedblk_cmd *cmd, u64 done, enum qedblk_cmd_phase to)
{
	struct qedblk_device *qed = cmd->qed;

	if (cmd->phase >= to)
		return false;
	cmd->phase = to;
	cmd->resume_from = done;
	atomic_inc(&cmd->pending);
	INIT_WORK(&cmd->work, qedblk_resume_work);
	queue_work(to == QED_CMD_ALLOCATING ? qed->alloc_wq : qed->wq, &cmd->work);
	return true;
}

/*
 * What qedblk_queue_rq() can do for a range that is not data: zeros.
 * The backing chain's files may have to be read.
 */
static bool qedblk_reads_as_zeros(struct qedblk_cmd *cmd, const struct qedblk_map *m)
{
	return m->type == QED_MAP_ZERO || !cmd->qed->top.backing;
}

/*
 * Copy-on-read of the unallocated range @m at @pos, in an allocating
 * worker: true when the clusters are now in the image, to be read from
 * there.  A copy that fails costs the image nothing and the read nothing:
 * it is read from the backing chain as without copy-on-read.
 */
static bool qedblk_copy_on_read(struct qedblk_device *qed, u64 pos, const struct qedblk_map *m)
{
	int ret = qedblk_alloc_copy(qed, pos, m->len);

	if (ret)
		qedblk_err_ratelimited(&qed->top, "copy-on-read at %llu failed: %d; read from the backing file",
				       pos, ret);
	return !ret;
}

/* The request's data from byte @done on. */
static void qedblk_rw_from(struct qedblk_cmd *cmd, u64 done, bool write)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct qedblk_device *qed = cmd->qed;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 len = blk_rq_bytes(rq);
	/* Where a copy-on-read was tried: once, then the range is read. */
	u64 copied = U64_MAX;
	struct iov_iter part;
	struct qedblk_map m;
	int ret = 0;

	while (done < len) {
		if (cmd->phase == QED_CMD_SUBMITTING)
			ret = qedblk_map_range_cached(&qed->top, pos + done, len - done, &m);
		else
			ret = qedblk_map_range(&qed->top, pos + done, len - done, &m);
		if (ret == -EAGAIN && qedblk_cmd_hand_off(cmd, done, QED_CMD_ISSUING))
			return;
		if (ret)
			break;
		if (m.type == QED_MAP_DATA) {
			qedblk_submit_seg(cmd, done, m.len, m.file_off);
		} else if (!write) {
			if (m.type == QED_MAP_UNALLOC && qed->top.backing && copied != done &&
			    (READ_ONCE(qed->flags) & QEDBLK_ATTACH_COPY_ON_READ)) {
				/* Allocation: in an allocating worker, as a write's. */
				if (qedblk_cmd_hand_off(cmd, done, QED_CMD_ALLOCATING))
					return;
				copied = done;
				if (qedblk_copy_on_read(qed, pos + done, &m))
					continue;
			}
			if (!qedblk_reads_as_zeros(cmd, &m) &&
			    qedblk_cmd_hand_off(cmd, done, QED_CMD_ISSUING))
				return;
			qedblk_cmd_slice(cmd, done, m.len, &part);
			cmd->cpu_copied = true;
			if (m.type == QED_MAP_ZERO)
				iov_iter_zero(m.len, &part);
			else
				ret = qedblk_chain_read(qed->top.backing, pos + done, &part);
		} else {
			if (qedblk_cmd_hand_off(cmd, done, QED_CMD_ALLOCATING))
				return;
			qedblk_cmd_slice(cmd, done, m.len, &part);
			ret = qedblk_alloc_write(qed, pos + done, &part);
		}
		if (ret)
			break;
		done += m.len;
	}
	if (ret)
		qedblk_cmd_fail(cmd, ret);
}

static void qedblk_do_rw(struct qedblk_cmd *cmd, struct request *rq, bool write)
{
	int ret = qedblk_cmd_setup_iter(cmd, rq, write);

	if (ret)
		qedblk_cmd_fail(cmd, ret);
	else
		qedblk_rw_from(cmd, 0, write);
}

/*
 * Every worker of ours runs as loop_process_work() does: its allocations
 * must not recurse into I/O (it may be what reclaim waits for), and the
 * writeback it causes on the host file system throttles only itself, not
 * as if it were the writer of the file system above us.
 */
#define QED_WORKER_FLAGS	(PF_LOCAL_THROTTLE | PF_MEMALLOC_NOIO)

/*
 * The bios a request causes on the host are the submitter's: charged to,
 * and throttled by, its blkcg, as loop_handle_cmd() does.
 *
 * Unlike loop, the worker does not take on the submitter's memcg: page
 * cache it allocates for the image would then be charged there with
 * GFP_NOIO, and once that memcg is at its limit with dirty pages only we
 * can clean, the charge fails and the guest's write fails with ENOMEM.
 */
struct qedblk_cgroup_scope {
	struct cgroup_subsys_state *blkcg;
};

static void qedblk_cgroup_enter(struct request *rq, struct qedblk_cgroup_scope *s)
{
	s->blkcg = NULL;
#ifdef CONFIG_BLK_CGROUP
	if (!rq->bio)
		return;
	s->blkcg = bio_blkcg_css(rq->bio);
	if (s->blkcg)
		kthread_associate_blkcg(s->blkcg);
#endif
}

static void qedblk_cgroup_leave(struct qedblk_cgroup_scope *s)
{
	if (s->blkcg)
		kthread_associate_blkcg(NULL);
}

static void qedblk_resume_work(struct work_struct *work)
{
	struct qedblk_cmd *cmd = container_of(work, struct qedblk_cmd, work);
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	unsigned int orig_flags = current->flags;
	struct qedblk_cgroup_scope cg;

	current->flags |= QED_WORKER_FLAGS;
	qedblk_cgroup_enter(rq, &cg);
	qedblk_rw_from(cmd, cmd->resume_from, req_op(rq) == REQ_OP_WRITE);
	qedblk_cgroup_leave(&cg);
	qedblk_cmd_put(cmd);
	current->flags = orig_flags;
}

/* A kiocb IOCB_NOWAIT refused, issued again by a worker that may wait. */
static void qedblk_seg_retry(struct work_struct *work)
{
	struct qedblk_seg *seg = container_of(work, struct qedblk_seg, retry);
	unsigned int orig_flags = current->flags;
	struct qedblk_cgroup_scope cg;

	current->flags |= QED_WORKER_FLAGS;
	qedblk_cgroup_enter(blk_mq_rq_from_pdu(seg->cmd), &cg);
	qedblk_seg_issue(seg, false);
	qedblk_cgroup_leave(&cg);
	current->flags = orig_flags;
}

/* The start of every request's walk: one reference for the walker. */
static void qedblk_cmd_init(struct qedblk_cmd *cmd, enum qedblk_cmd_phase phase)
{
	cmd->error = 0;
	cmd->phase = phase;
	cmd->seg_busy = false;
	cmd->cpu_copied = false;
	atomic_set(&cmd->pending, 1);
}

static void qedblk_cmd_run(struct qedblk_cmd *cmd)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct qedblk_cgroup_scope cg;
	int ret;

	qedblk_cgroup_enter(rq, &cg);
	qedblk_cmd_init(cmd, QED_CMD_ISSUING);
	switch (req_op(rq)) {
	case REQ_OP_FLUSH:
		ret = qedblk_guest_flush(cmd->qed);
		if (ret)
			qedblk_cmd_fail(cmd, ret);
		break;
	case REQ_OP_READ:
		qedblk_do_rw(cmd, rq, false);
		break;
	case REQ_OP_WRITE:
		qedblk_do_rw(cmd, rq, true);
		break;
	case REQ_OP_WRITE_ZEROES:
	case REQ_OP_DISCARD:
		ret = qedblk_alloc_zeroes(cmd->qed, (u64)blk_rq_pos(rq) << SECTOR_SHIFT,
					  blk_rq_bytes(rq), req_op(rq) == REQ_OP_DISCARD,
					  rq->cmd_flags & REQ_NOUNMAP);
		if (ret)
			qedblk_cmd_fail(cmd, ret);
		break;
	default:
		qedblk_cmd_fail(cmd, -EOPNOTSUPP);
		break;
	}
	qedblk_cgroup_leave(&cg);
	qedblk_cmd_put(cmd);
}

/* Flush, discard and write-zeroes: one work item each, they may be slow. */
static void qedblk_cmd_work(struct work_struct *work)
{
	unsigned int orig_flags = current->flags;

	current->flags |= QED_WORKER_FLAGS;
	qedblk_cmd_run(container_of(work, struct qedblk_cmd, work));
	current->flags = orig_flags;
}

/**
 * qedblk_queue_work() - run the reads and writes queued on a hardware queue
 * @work: &qedblk_queue.work of that queue
 *
 * Takes all the commands qedblk_queue_rq() queued there so far and runs
 * them one after the other, as loop_process_work() does, so that a burst
 * of requests costs one wakeup.  Set up by qedblk_add_disk().
 *
 * Context: process context, a worker of the device's @wq.
 */
void qedblk_queue_work(struct work_struct *work)
{
	struct qedblk_queue *q = container_of(work, struct qedblk_queue, work);
	unsigned int orig_flags = current->flags;
	struct qedblk_cmd *cmd, *next;
	LIST_HEAD(cmds);

	current->flags |= QED_WORKER_FLAGS;
	spin_lock(&q->lock);
	list_splice_init(&q->cmds, &cmds);
	spin_unlock(&q->lock);
	/*
	 * A command may be completed, reused and queued again once run.
	 * Yield between commands, as loop_process_work() does: a long batch
	 * of buffered reads under memory pressure can hold the CPU long
	 * enough for a soft lockup.
	 */
	list_for_each_entry_safe(cmd, next, &cmds, node) {
		list_del_init(&cmd->node);
		qedblk_cmd_run(cmd);
		cond_resched();
	}
	current->flags = orig_flags;
}

/*
 * A read whose data the CPU copied (zeros, backing data) makes the
 * request's pages coherent for a user mapping, as lo_read_simple() does.
 */
static void qedblk_cmd_flush_dcache(struct qedblk_cmd *cmd)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct req_iterator iter;
	struct bio_vec bv;

	if (!cmd->cpu_copied)
		return;
	rq_for_each_segment(bv, rq, iter)
		flush_dcache_page(bv.bv_page);
}

static void qedblk_cmd_free_bvec(struct qedblk_cmd *cmd)
{
	if (cmd->bvec_pooled)
		mempool_free(cmd->bvec, cmd->qed->bvec_pool);
	else
		kfree(cmd->bvec);
	cmd->bvec = NULL;
	cmd->bvec_pooled = false;
}

static void qedblk_complete_rq(struct request *rq)
{
	struct qedblk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	if (cmd->counted)
		atomic_dec(&cmd->qed->rw_in_flight);
	if (req_op(rq) == REQ_OP_READ)
		qedblk_cmd_flush_dcache(cmd);
	qedblk_cmd_free_bvec(cmd);
	blk_mq_end_request(rq, errno_to_blk_status(cmd->error));
}

/*
 * Whether the submitter's context may issue to the host file system, as
 * qedblk_cmd_submit() does.  Not:
 *
 * - inside a file system's transaction: a journal handle in
 *   current->journal_info (jbd2's, xfs's) or a NOFS scope.  The host
 *   file system would take that handle for its own, even on a read, to
 *   update the atime, and jbd2__journal_start() BUG()s on another
 *   journal's handle: ext4 on /dev/qedN reads an inode bitmap inside its
 *   handle;
 * - with bios held back by this task: on current->bio_list (a bio-based
 *   driver above us put them there to go out once the submit_bio it is
 *   in returns; md's wait_barrier() makes the same test), or in the
 *   callbacks of the submitter's plug (md's raid1 keeps writes there,
 *   counted against a barrier), which the plug flush that called us need
 *   not have run.  The host file system might wait for one of them.  An
 *   empty list defers nothing: qedblk_cmd_submit() sets it aside;
 * - inside another device's issue, ours or a file-backed driver's (a
 *   noio scope): each level would add a file system's and a block
 *   layer's stack to the same stack;
 * - for a write, under a file size limit (RLIMIT_FSIZE): the host's
 *   generic_write_check_limits() would apply the submitter's to the
 *   image file, where the workers have none.
 */
static bool qedblk_submitter_may_issue(bool write)
{
	struct bio_list *bl = current->bio_list;

	if (current->journal_info ||
	    (current->flags & (PF_MEMALLOC_NOFS | PF_MEMALLOC_NOIO)))
		return false;
	if (bl && (!bio_list_empty(&bl[0]) || !bio_list_empty(&bl[1])))
		return false;
	if (current->plug && !list_empty(&current->plug->cb_list))
		return false;
	return !write || rlimit(RLIMIT_FSIZE) == RLIM_INFINITY;
}

/*
 * With direct I/O, a read or write of data clusters whose L2 entries are
 * cached goes to the host from here: no worker to wake, no second context
 * switch, much of a 4 KiB request's latency under TCG
 * (Documentation/benchmarks.md).  The hardware queues are
 * BLK_MQ_F_BLOCKING, so this may sleep; but it must not wait for the host
 * file system, whose locks the submitter may be below (a file system on
 * /dev/qedN over one of the same type): kiocbs go with IOCB_NOWAIT, and
 * anything that would wait (a table load, the backing chain, allocation,
 * a kiocb the host refused with -EAGAIN) goes on in a worker.  Buffered
 * I/O stays with the workers, as in loop: a page-cache copy is the CPU
 * time the submitter would pay.
 */
static bool qedblk_submit_here(struct qedblk_device *qed, struct qedblk_cmd *cmd)
{
	bool alone;

	if (!qedblk_direct(qed))
		return false;
	/*
	 * Only a request alone in flight: at queue depth 1 nothing runs
	 * while the submitter waits, and the hand-off is most of the
	 * latency.  With others in flight the workers issue, as loop's do:
	 * a submitter that issues one of its batch itself submits the rest
	 * that much later, while the workers idle.  Measured, 6.12 guest:
	 * walking any request while no other walked one was in flight
	 * (0.13.0) cost up to a fifth at depths 8 to 32 against handing
	 * them all to the workers; alone in flight, depth 1 keeps its gain.
	 * Every direct read and write counts, walked here or not.
	 */
	alone = atomic_inc_return(&qed->rw_in_flight) == 1;
	cmd->counted = true;
	if (!alone || !(qed->top.file->f_mode & FMODE_NOWAIT) ||
	    !qedblk_submitter_may_issue(req_op(blk_mq_rq_from_pdu(cmd)) == REQ_OP_WRITE))
		return false;
	atomic64_inc(&qed->inline_requests);
	return true;
}

static void qedblk_cmd_submit(struct qedblk_cmd *cmd, struct request *rq)
{
	/*
	 * The submitter may be flushing its plug into us: the host's bios
	 * must not join that plug, whose flush is underway.  A plug of our
	 * own batches the request's kiocbs.  Called from inside
	 * submit_bio() (directly, or from the plug that __submit_bio()
	 * flushes on 6.10 and later), we find its bio list, empty
	 * (qedblk_submitter_may_issue()): on it the host's bios would wait
	 * until we return, and the host file system may wait for a bio it
	 * submits, an extent block it reads, even with IOCB_NOWAIT.  Without
	 * it they join our plug, which a sleep flushes.
	 */
	struct blk_plug *outer = current->plug, plug;
	struct bio_list *bio_list = current->bio_list;
	unsigned int noio = memalloc_noio_save();

	current->bio_list = NULL;
	current->plug = NULL;
	blk_start_plug(&plug);
	qedblk_cmd_init(cmd, QED_CMD_SUBMITTING);
	qedblk_do_rw(cmd, rq, req_op(rq) == REQ_OP_WRITE);
	qedblk_cmd_put(cmd);
	blk_finish_plug(&plug);
	current->plug = outer;
	current->bio_list = bio_list;
	memalloc_noio_restore(noio);
}

static blk_status_t qedblk_queue_rq(struct blk_mq_hw_ctx *hctx,
				    const struct blk_mq_queue_data *bd)
{
	struct request *rq = bd->rq;
	struct qedblk_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct qedblk_device *qed = rq->q->queuedata;
	struct qedblk_queue *q = hctx->driver_data;

	/*
	 * The block layer lets writes through to a read-only disk once
	 * userspace cleared its flag (BLKROSET): refuse them here, as
	 * loop_handle_cmd() does.  A flush has nothing to write.
	 */
	if (op_is_write(req_op(rq)) && req_op(rq) != REQ_OP_FLUSH &&
	    (qed->flags & QEDBLK_ATTACH_READ_ONLY))
		return BLK_STS_IOERR;
	blk_mq_start_request(rq);
	/*
	 * Set up here rather than in ->init_request, whose prototype
	 * differs between the kernels we support.
	 */
	cmd->qed = qed;
	cmd->counted = false;
	switch (req_op(rq)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		if (qedblk_submit_here(qed, cmd)) {
			qedblk_cmd_submit(cmd, rq);
			break;
		}
		spin_lock(&q->lock);
		list_add_tail(&cmd->node, &q->cmds);
		spin_unlock(&q->lock);
		queue_work(qed->wq, &q->work);
		break;
	default:
		/* A flush must not hold up the reads queued behind it. */
		INIT_WORK(&cmd->work, qedblk_cmd_work);
		queue_work(qed->wq, &cmd->work);
		break;
	}
	return BLK_STS_OK;
}

static int qedblk_init_hctx(struct blk_mq_hw_ctx *hctx, void *data, unsigned int idx)
{
	struct qedblk_device *qed = data;

	hctx->driver_data = &qed->queues[idx];
	return 0;
}

/* The device's tag set, set up by qedblk_add_disk(), points here. */
const struct blk_mq_ops qedblk_mq_ops = {
	.queue_rq	= qedblk_queue_rq,
	.init_hctx	= qedblk_init_hctx,
	.complete	= qedblk_complete_rq,
};
