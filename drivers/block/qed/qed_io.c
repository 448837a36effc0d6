// SPDX-License-Identifier: GPL-2.0
/*
 * Guest I/O, the whole life of a request, as zloop.c has it:
 *
 * qedblk_queue_rq() queues a read or write on its hardware queue for
 * qedblk_queue_work(), anything else on a work item of its own.  Neither
 * blocks there: table loads and allocation may.
 *
 * qedblk_cmd_run() cuts a read or write where the mapping changes
 * (qedblk_rw_from()): reads and in-place writes of allocated clusters go
 * to the image file as kiocbs on ->read_iter/->write_iter (asynchronous
 * with direct I/O), physically contiguous clusters in one kiocb.  Zero
 * clusters read as zeros, unallocated ones from the backing chain
 * (qed_backing.c); a write to either is handed to an alloc_wq worker,
 * qedblk_alloc_cmd_work(), which goes on through qed_alloc.c.
 *
 * Each kiocb, and each worker while it walks the request, holds a
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

static void qedblk_seg_complete(struct kiocb *iocb, long ret)
{
	struct qedblk_seg *seg = container_of(iocb, struct qedblk_seg, iocb);
	struct qedblk_cmd *cmd = seg->cmd;

	if (iocb->ki_flags & IOCB_WRITE)
		kiocb_end_write(iocb);
	if (ret < 0)
		qedblk_cmd_fail(cmd, ret);
	else if (ret != seg->len)
		qedblk_cmd_fail(cmd, -EIO);	/* the file ended under a cluster */
	if (seg != &cmd->seg)
		mempool_free(seg, cmd->qed->seg_pool);
	qedblk_cmd_put(cmd);
}

/* The part [off, off + len) of the request's data. */
static void qedblk_cmd_slice(struct qedblk_cmd *cmd, u64 off, u64 len,
			     struct iov_iter *iter)
{
	*iter = cmd->iter;
	iov_iter_advance(iter, off);
	iov_iter_truncate(iter, len);
}

static ssize_t qedblk_seg_issue(struct qedblk_seg *seg, struct iov_iter *iter, bool write)
{
	struct file *file = seg->iocb.ki_filp;

	if (!write)
		return file->f_op->read_iter(&seg->iocb, iter);
	/* qedblk_queue_rq() refuses writes to a read-only device: never here. */
	if (WARN_ON_ONCE(!(file->f_mode & FMODE_WRITE)))
		return -EBADF;
	return file->f_op->write_iter(&seg->iocb, iter);
}

/* The first kiocb of a request is the command's own, the others come from seg_pool. */
static struct qedblk_seg *qedblk_cmd_get_seg(struct qedblk_cmd *cmd)
{
	switch (cmd->state) {
	case QED_CMD_ISSUING:
		cmd->state = QED_CMD_ISSUING_SEG;
		return &cmd->seg;
	case QED_CMD_ALLOCATING:
		cmd->state = QED_CMD_ALLOCATING_SEG;
		return &cmd->seg;
	default:
		return mempool_alloc(cmd->qed->seg_pool, GFP_NOIO);
	}
}

static void qedblk_submit_seg(struct qedblk_cmd *cmd, u64 off, u64 len, u64 file_off,
			      bool write)
{
	struct qedblk_device *qed = cmd->qed;
	struct file *file = qed->top.file;
	struct iov_iter iter;
	struct qedblk_seg *seg;
	ssize_t ret;

	seg = qedblk_cmd_get_seg(cmd);
	qedblk_cmd_slice(cmd, off, len, &iter);
	seg->cmd = cmd;
	seg->len = len;
	seg->iocb.ki_pos = file_off;
	seg->iocb.ki_filp = file;
	seg->iocb.ki_ioprio = req_get_ioprio(blk_mq_rq_from_pdu(cmd));
	if (qedblk_direct(qed)) {
		seg->iocb.ki_complete = qedblk_seg_complete;
		seg->iocb.ki_flags = IOCB_DIRECT;
	} else {
		seg->iocb.ki_complete = NULL;
		seg->iocb.ki_flags = 0;
		cmd->cpu_copied |= !write;
	}
	atomic_inc(&cmd->pending);
	/*
	 * Freeze protection for the host file system, held until the write
	 * completes, as lo_rw_aio() and aio take it.
	 */
	if (write) {
		seg->iocb.ki_flags |= IOCB_WRITE;
		kiocb_start_write(&seg->iocb);
	}
	ret = qedblk_seg_issue(seg, &iter, write);
	/*
	 * The host file system refuses direct I/O that does not fit its
	 * alignment (a 512-byte write on 4 KiB sectors): go through the page
	 * cache for that one, as loop does.
	 */
	if (ret == -EINVAL && (seg->iocb.ki_flags & IOCB_DIRECT)) {
		qedblk_cmd_slice(cmd, off, len, &iter);
		seg->iocb.ki_flags &= ~IOCB_DIRECT;
		seg->iocb.ki_complete = NULL;
		ret = qedblk_seg_issue(seg, &iter, write);
	}
	if (ret != -EIOCBQUEUED)
		qedblk_seg_complete(&seg->iocb, ret);
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

static void qedblk_alloc_cmd_work(struct work_struct *work);

/*
 * Allocation waits for the host file system and for allocations of the
 * same clusters: the request gets a worker of its own, from byte @done on,
 * and the queue's other requests, and other allocations, go on meanwhile.
 * Returns false if it is already on that worker.
 */
static bool qedblk_cmd_hand_off(struct qedblk_cmd *cmd, u64 done)
{
	switch (cmd->state) {
	case QED_CMD_ISSUING:
		cmd->state = QED_CMD_ALLOCATING;
		break;
	case QED_CMD_ISSUING_SEG:
		cmd->state = QED_CMD_ALLOCATING_SEG;
		break;
	default:
		return false;
	}
	cmd->alloc_from = done;
	atomic_inc(&cmd->pending);
	INIT_WORK(&cmd->work, qedblk_alloc_cmd_work);
	queue_work(cmd->qed->alloc_wq, &cmd->work);
	return true;
}

/* The request's data from byte @done on. */
static void qedblk_rw_from(struct qedblk_cmd *cmd, u64 done, bool write)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct qedblk_device *qed = cmd->qed;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 len = blk_rq_bytes(rq);
	struct iov_iter part;
	struct qedblk_map m;
	int ret = 0;

	while (done < len) {
		ret = qedblk_map_range(&qed->top, pos + done, len - done, &m);
		if (ret)
			break;
		if (m.type == QED_MAP_DATA) {
			qedblk_submit_seg(cmd, done, m.len, m.file_off, write);
		} else if (!write) {
			qedblk_cmd_slice(cmd, done, m.len, &part);
			cmd->cpu_copied = true;
			if (m.type == QED_MAP_ZERO)
				iov_iter_zero(m.len, &part);
			else
				ret = qedblk_chain_read(qed->top.backing, pos + done, &part);
		} else {
			if (qedblk_cmd_hand_off(cmd, done))
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

static void qedblk_alloc_cmd_work(struct work_struct *work)
{
	struct qedblk_cmd *cmd = container_of(work, struct qedblk_cmd, work);
	unsigned int orig_flags = current->flags;
	struct qedblk_cgroup_scope cg;

	current->flags |= QED_WORKER_FLAGS;
	qedblk_cgroup_enter(blk_mq_rq_from_pdu(cmd), &cg);
	qedblk_rw_from(cmd, cmd->alloc_from, true);
	qedblk_cgroup_leave(&cg);
	qedblk_cmd_put(cmd);
	current->flags = orig_flags;
}

static void qedblk_cmd_run(struct qedblk_cmd *cmd)
{
	struct request *rq = blk_mq_rq_from_pdu(cmd);
	struct qedblk_cgroup_scope cg;
	int ret;

	qedblk_cgroup_enter(rq, &cg);
	cmd->error = 0;
	cmd->state = QED_CMD_ISSUING;
	cmd->cpu_copied = false;
	atomic_set(&cmd->pending, 1);
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

	if (req_op(rq) == REQ_OP_READ)
		qedblk_cmd_flush_dcache(cmd);
	qedblk_cmd_free_bvec(cmd);
	blk_mq_end_request(rq, errno_to_blk_status(cmd->error));
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
	/* Table loads and allocation may block: never do them here. */
	switch (req_op(rq)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
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
