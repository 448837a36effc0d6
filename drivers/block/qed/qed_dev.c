// SPDX-License-Identifier: GPL-2.0
/*
 * One attached image: its gendisk and blk-mq queue, attach and detach.
 * The index and the moves to ATTACHING and BOUND are under
 * qedblk_ctl_mutex, the claim on the files in qed_claim.c; detach, resize
 * and flag changes under the device's own lock ("Locking" in qed.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>

#include "qed.h"
#include "qed_compat.h"

/* ---- block device ---- */

static int qedblk_open_disk(struct gendisk *disk)
{
	struct qedblk_device *qed = disk->private_data;

	/* Detach moves to RUNDOWN under it, attach to BOUND without. */
	lockdep_assert_held(&disk->open_mutex);
	if (READ_ONCE(qed->state) == QED_RUNDOWN)
		return -ENXIO;
	/*
	 * Autoclear counts only opens after attach returned: the partition
	 * scan inside add_disk must not detach the device it is adding.
	 */
	if (READ_ONCE(qed->state) == QED_BOUND)
		WRITE_ONCE(qed->used, true);
	return 0;
}

static void qedblk_release_disk(struct gendisk *disk)
{
	struct qedblk_device *qed = disk->private_data;

	/* As detach's check of the openers and its setting of AUTOCLEAR. */
	lockdep_assert_held(&disk->open_mutex);
	if (!READ_ONCE(qed->used))
		return;

	/*
	 * Detaching from here would deadlock on the disk's open_mutex.  The
	 * queued work holds a reference, so qed outlives it.
	 */
	if (disk_openers(disk) == 0 && (READ_ONCE(qed->flags) & QEDBLK_ATTACH_AUTOCLEAR)) {
		get_device(disk_to_dev(disk));
		if (!queue_work(qedblk_ctl_wq, &qed->detach_work))
			put_device(disk_to_dev(disk));
	}
}

/* block_device_operations.open takes the gendisk, and .release lost its mode, in 6.5. */
#ifdef QED_HAVE_OPEN_GENDISK
static int qedblk_open(struct gendisk *disk, blk_mode_t mode)
{
	return qedblk_open_disk(disk);
}

static void qedblk_release(struct gendisk *disk)
{
	qedblk_release_disk(disk);
}
#else
static int qedblk_open(struct block_device *bdev, fmode_t mode)
{
	return qedblk_open_disk(bdev->bd_disk);
}

static void qedblk_release(struct gendisk *disk, fmode_t mode)
{
	qedblk_release_disk(disk);
}
#endif

static void qedblk_free_disk(struct gendisk *disk)
{
	struct qedblk_device *qed = disk->private_data;

	kfree(qed);
}

static const struct block_device_operations qedblk_fops = {
	.owner		= THIS_MODULE,
	.open		= qedblk_open,
	.release	= qedblk_release,
	.free_disk	= qedblk_free_disk,
};

/* ---- attach ---- */

/*
 * Read the image and its chain, and check that the device's blocks tile
 * it: nothing is written here, the device does not own the files yet
 * (qedblk_claim()).
 */
static int qedblk_load_image(struct qedblk_device *qed, const s32 *backing_fds, u32 nr_backing)
{
	int ret;

	ret = qedblk_image_load(&qed->top);
	if (ret)
		return ret;
	ret = qedblk_chain_open(qed, backing_fds, nr_backing);
	if (ret)
		return ret;
	qed->was_dirty = !!(qed->top.geom.features & QED_F_NEED_CHECK);
	qed->need_check_on_disk = qed->was_dirty;
	/* loop rounds the size down; a QED image cannot be cut short. */
	if (qed->top.geom.image_size & (qed->block_size - 1)) {
		qedblk_warn(&qed->top, "image size %llu is not a multiple of the %u-byte block size",
			    qed->top.geom.image_size, qed->block_size);
		return -EINVAL;
	}
	return 0;
}

/*
 * The first writes of an attach, once the device owns its files: repair
 * an image left dirty, clear autoclear bits we do not know.
 */
static int qedblk_prepare_image(struct qedblk_device *qed, bool rw)
{
	struct qedblk_geom *g = &qed->top.geom;
	int ret = 0;

	if (qed->was_dirty && rw) {
		ret = qedblk_repair(qed);
		if (ret)
			return ret;
	} else if (qed->was_dirty) {
		qedblk_warn(&qed->top, "image was not closed cleanly; attached read-only without a check or repair");
	}

	/* Unknown autoclear bits say a newer writer's data is now stale. */
	if (rw && (g->autoclear_features & ~QED_AUTOCLEAR_FEATURE_MASK))
		ret = qedblk_image_update_header(qed, g->features,
						 g->autoclear_features & QED_AUTOCLEAR_FEATURE_MASK,
						 g->image_size, QEDBLK_FLUSH_FILE);
	return ret;
}

/*
 * Allocating writes get a workqueue of their own: a queue worker may wait
 * in a mempool for what a request holds until its allocation work has
 * run, and under memory pressure each workqueue has only its rescuer.
 * Named after the index, so after qedblk_claim(); on failure
 * qedblk_release_image() destroys the one that was allocated.
 */
static int qedblk_alloc_workqueues(struct qedblk_device *qed)
{
	qed->wq = alloc_workqueue("qed%d", WQ_MEM_RECLAIM | WQ_UNBOUND, 0, qed->index);
	qed->alloc_wq = alloc_workqueue("qed%d_alloc", WQ_MEM_RECLAIM | WQ_UNBOUND, 0,
					qed->index);
	if (!qed->wq || !qed->alloc_wq)
		return -ENOMEM;
	return 0;
}

/*
 * The smallest direct I/O the image's file system takes, and the alignment
 * (a mask) it wants of the memory, as loop_query_min_dio_size():
 * STATX_DIOALIGN, or the limits of the file system's device.
 */
u32 qedblk_min_dio_size(struct file *file, unsigned int *mem_align)
{
	struct super_block *sb = file_inode(file)->i_sb;
	struct kstat st;

	if (!vfs_getattr(&file->f_path, &st, STATX_DIOALIGN, AT_STATX_SYNC_AS_STAT) &&
	    (st.result_mask & STATX_DIOALIGN) && st.dio_offset_align && st.dio_mem_align) {
		*mem_align = min_t(u32, st.dio_mem_align - 1, PAGE_SIZE - 1);
		return st.dio_offset_align;
	}
	if (sb->s_bdev) {
		*mem_align = bdev_dma_alignment(sb->s_bdev);
		return bdev_logical_block_size(sb->s_bdev);
	}
	*mem_align = SECTOR_SIZE - 1;
	return SECTOR_SIZE;
}

/*
 * Direct I/O hands the guest's pages to the file system as they are: the
 * queue asks for the memory alignment the file system wants, as
 * loop_set_dma_limit() does.
 */
static unsigned int qedblk_dma_alignment(struct qedblk_device *qed)
{
	unsigned int mem_align = SECTOR_SIZE - 1;

	if (qed->flags & QEDBLK_ATTACH_DIRECT_IO)
		qedblk_min_dio_size(qed->top.file, &mem_align);
	return max_t(unsigned int, mem_align, SECTOR_SIZE - 1);
}

static int qedblk_add_disk(struct qedblk_device *qed)
{
	const struct qedblk_queue_params params = {
		.logical_block_size	= qed->block_size,
		.physical_block_size	= PAGE_SIZE,
		.max_hw_sectors		= 2048,
		/* Whole clusters become zero clusters without a data write. */
		.max_write_zeroes_sectors = UINT_MAX >> SECTOR_SHIFT,
		.max_discard_sectors	= UINT_MAX >> SECTOR_SHIFT,
		.discard_granularity	= qed->top.geom.cluster_size,
		.dma_alignment		= qedblk_dma_alignment(qed),
		/*
		 * Flushes mean something only where writes are taken and
		 * the file can be synced, as loop_update_dio() decides.
		 */
		.write_cache		= !(qed->flags & QEDBLK_ATTACH_READ_ONLY) &&
					  qed->top.file->f_op->fsync,
	};
	unsigned int i, nr_queues = min(num_online_cpus(), QED_MAX_QUEUES);
	struct blk_mq_tag_set *set = &qed->tag_set;
	struct gendisk *disk;
	int ret;

	qed->queues = kcalloc(nr_queues, sizeof(*qed->queues), GFP_KERNEL);
	if (!qed->queues)
		return -ENOMEM;
	for (i = 0; i < nr_queues; i++) {
		spin_lock_init(&qed->queues[i].lock);
		INIT_LIST_HEAD(&qed->queues[i].cmds);
		INIT_WORK(&qed->queues[i].work, qedblk_queue_work);
	}
	set->ops = &qedblk_mq_ops;
	/*
	 * As loop_add(): no I/O scheduler by default, the host's does the
	 * scheduling.  Unlike loop, qedblk_queue_rq() issues direct I/O
	 * itself, and may sleep there (qedblk_submit_here()).
	 */
	set->flags = QEDBLK_MQ_F_MERGE | BLK_MQ_F_NO_SCHED_BY_DEFAULT | BLK_MQ_F_BLOCKING;
	set->nr_hw_queues = nr_queues;
	set->queue_depth = 128;
	set->numa_node = NUMA_NO_NODE;
	set->cmd_size = sizeof(struct qedblk_cmd);
	set->driver_data = qed;
	ret = blk_mq_alloc_tag_set(set);
	if (ret)
		return ret;

	disk = qedblk_alloc_disk(set, &params, qed);
	if (IS_ERR(disk)) {
		blk_mq_free_tag_set(set);
		return PTR_ERR(disk);
	}
	disk->major = qedblk_major;
	disk->first_minor = qed->index * QED_MINORS;
	disk->minors = QED_MINORS;
	disk->fops = &qedblk_fops;
	disk->private_data = qed;
	/* As loop without LO_FLAGS_PARTSCAN: no partitions are looked for. */
	if (qed->flags & QEDBLK_ATTACH_NO_PARTSCAN)
		disk->flags |= GENHD_FL_NO_PART;
	snprintf(disk->disk_name, DISK_NAME_LEN, "qed%d", qed->index);
	set_capacity(disk, qed->top.geom.image_size >> SECTOR_SHIFT);
	set_disk_ro(disk, !!(qed->flags & QEDBLK_ATTACH_READ_ONLY));
	qed->disk = disk;

	ret = device_add_disk(NULL, disk, qedblk_attr_groups);
	if (ret) {
		qed->disk = NULL;
		disk->private_data = NULL;	/* qed is freed by our caller */
		put_disk(disk);
		blk_mq_free_tag_set(set);
		return ret;
	}
	return 0;
}

static void qedblk_free_reserves(struct qedblk_device *qed)
{
	kfree(qed->table_buf);
	qed->table_buf = NULL;
	mempool_destroy(qed->seg_pool);
	qed->seg_pool = NULL;
	mempool_destroy(qed->bvec_pool);
	qed->bvec_pool = NULL;
	mempool_destroy(qed->copy_pool);
	qed->copy_pool = NULL;
	/* After qedblk_image_release(): the caches give their chunks back. */
	qedblk_chunk_pool_destroy(qed->chunk_pool);
	qed->chunk_pool = NULL;
}

static void qedblk_release_image(struct qedblk_device *qed)
{
	if (qed->wq)
		destroy_workqueue(qed->wq);
	if (qed->alloc_wq)
		destroy_workqueue(qed->alloc_wq);
	qedblk_chain_close(qed);
	qedblk_image_release(&qed->top);
	qedblk_free_reserves(qed);
	qed->wq = NULL;
	kfree(qed->queues);
	qed->queues = NULL;
}

/* The file userspace passed: what it may do decides what we may. */
int qedblk_validate_user_file(struct file *file, bool rw)
{
	umode_t mode = file_inode(file)->i_mode;

	if (S_ISDIR(mode))
		return -EISDIR;
	if (!S_ISREG(mode) || !file->f_op->read_iter)
		return -EINVAL;
	if (!(file->f_mode & FMODE_READ) ||
	    (rw && (!(file->f_mode & FMODE_WRITE) || !file->f_op->write_iter)))
		return -EBADF;
	return 0;
}

/*
 * Our own file of the image (qedblk_file_reopen()), once the one userspace
 * passed allows what is asked for and no device on its way out holds the
 * image any more.  Whether it can do direct I/O is for qedblk_decide_dio().
 */
static struct file *qedblk_open_image_file(struct qedblk_attach *a, bool rw)
{
	struct file *file, *user;
	int ret;

	user = fget(a->fd);
	if (!user)
		return ERR_PTR(-EBADF);
	ret = qedblk_validate_user_file(user, rw);
	if (!ret)
		ret = qedblk_wait_rundown(file_inode(user));
	file = ret ? ERR_PTR(ret) : qedblk_file_reopen(user, rw, a->path);
	fput(user);
	return file;
}

static void qedblk_detach_workfn(struct work_struct *work);

static struct qedblk_device *qedblk_alloc_device(struct qedblk_attach *a, struct file *file)
{
	struct qedblk_device *qed = kzalloc(sizeof(*qed), GFP_KERNEL);

	if (!qed)
		return NULL;
	qed->table_buf = kmalloc(QED_CHUNK_BYTES, GFP_KERNEL);
	qed->seg_pool = mempool_create_kmalloc_pool(16, sizeof(struct qedblk_seg));
	qed->bvec_pool = mempool_create_kmalloc_pool(2, QED_POOL_BVECS *
						     sizeof(struct bio_vec));
	qed->copy_pool = mempool_create_kmalloc_pool(1, QED_COPY_BYTES);
	qed->chunk_pool = qedblk_chunk_pool_create();
	if (!qed->table_buf || !qed->seg_pool || !qed->bvec_pool || !qed->copy_pool ||
	    !qed->chunk_pool) {
		qedblk_free_reserves(qed);
		kfree(qed);
		return NULL;
	}
	qedblk_image_init(&qed->top, qed, file, 0);
	qed->flags = a->flags & ~QEDBLK_ATTACH_WANT_INDEX;
	qed->block_size = a->block_size ? a->block_size : SECTOR_SIZE;
	strscpy(qed->path, a->path, sizeof(qed->path));
	mutex_init(&qed->alloc_lock);
	mutex_init(&qed->lock);
	spin_lock_init(&qed->ops_lock);
	INIT_LIST_HEAD(&qed->ops);
	init_waitqueue_head(&qed->ops_wait);
	spin_lock_init(&qed->flush_lock);
	spin_lock_init(&qed->files_lock);
	qed->flush_since = errseq_sample(&file->f_mapping->wb_err);
	INIT_DELAYED_WORK(&qed->clean_work, qedblk_clean_work);
	INIT_WORK(&qed->detach_work, qedblk_detach_workfn);
	init_completion(&qed->unclaimed);
	return qed;
}

/*
 * The image file's device and inode as stat(2) reports them, for
 * QEDBLK_CTL_INFO: taken once, as the file may be gone by the time INFO races
 * with a detach.  vfs_getattr(), as loop_get_status(): i_sb->s_dev and
 * i_ino are not what stat(2) says on btrfs subvolumes, overlayfs or NFS.
 * Left 0 ("unknown") if the file system will not say.
 */
static void qedblk_stat_image(struct qedblk_device *qed)
{
	struct kstat st;

	if (vfs_getattr(&qed->top.file->f_path, &st, STATX_INO, AT_STATX_SYNC_AS_STAT))
		return;
	qed->image_dev = huge_encode_dev(st.dev);
	qed->image_ino = st.ino;
}

/* Can the image file do O_DIRECT at all?  Says why not. */
static bool qedblk_file_can_dio(struct qedblk_device *qed)
{
	struct file *file = qed->top.file;

	if (file->f_mode & FMODE_CAN_ODIRECT)
		return true;
	qedblk_err(&qed->top, "direct I/O: the image's file system (%s) does not do O_DIRECT",
		   file_inode(file)->i_sb->s_type->name);
	return false;
}

/*
 * Direct I/O is decided once, at attach, as loop_configure() decides it
 * (lo_can_use_dio(), loop_default_blocksize()): no request ever falls
 * back to the page cache, so direct and buffered writes never meet on a
 * page of guest data (qedblk_alloc_run()).  The device's blocks must be
 * as large as the file system's smallest direct I/O: raised to it when
 * the caller gave no block size, refused when it gave a smaller one.
 * Unlike loop, which quietly goes buffered, a refusal says why: the
 * caller asked for direct I/O and would not get it.
 */
static int qedblk_decide_dio(struct qedblk_device *qed, u32 asked_block_size)
{
	struct file *file = qed->top.file;
	unsigned int mem_align;
	u32 min;

	if (!(qed->flags & QEDBLK_ATTACH_DIRECT_IO))
		return 0;
	if (!qedblk_file_can_dio(qed))
		return -EINVAL;
	min = qedblk_min_dio_size(file, &mem_align);
	if (qed->block_size >= min)
		return 0;
	if (asked_block_size) {
		qedblk_err(&qed->top, "direct I/O on this file system needs blocks of at least %u bytes; attach with -b %u or without --direct-io",
			   min, min);
		return -EINVAL;
	}
	if (min > SZ_4K || min > PAGE_SIZE || blk_validate_block_size(min)) {
		qedblk_err(&qed->top, "direct I/O on this file system needs blocks of %u bytes, more than a qed device can have; attach without --direct-io",
			   min);
		return -EINVAL;
	}
	if (qed->top.geom.image_size & (min - 1)) {
		qedblk_err(&qed->top, "direct I/O on this file system needs blocks of %u bytes, and the image size %llu is not a multiple of it; attach without --direct-io",
			   min, qed->top.geom.image_size);
		return -EINVAL;
	}
	qed->block_size = min;
	return 0;
}

/**
 * qedblk_attach() - attach an image as a new /dev/qedN
 * @a: the request, its fields checked by qedblk_ctl_attach(); @a->index
 *	is set to N on success
 * @backing_fds: @a->nr_backing descriptors of the backing files, nearest
 *	first
 *
 * As loop_configure(): our own file, then the claim on the image before
 * any write to it, then the repair, and the disk last, so that /dev/qedN
 * appears only once the image is usable.  qedblk_ctl_mutex is held only to
 * look at and change the index, never across I/O.  An attached device pins
 * the module until its detach.
 *
 * Context: process context of the caller that passed the descriptors (they
 * are looked up in its file table), no lock of the driver held.  Sleeps:
 * reads the image, may repair it, and waits killably for a detach of the
 * same image to finish.
 * Return: 0, or a negative errno, most with the reason in the kernel log:
 * -EBADF when @a->fd is no open file or lacks the access asked for;
 * -EISDIR for a directory; -EPERM for writing an append-only or immutable
 * file; -EBUSY when another qed device or QEMU uses the image; -EEXIST
 * when the index asked for is taken, -ENOSPC when every one is; -ELOOP for
 * a backing chain that loops or is too deep; the header's refusal
 * (qedblk_header_errno()); -EINVAL for any other unusable file, image,
 * chain or parameter; -EINTR or -ERESTARTSYS on a fatal signal; -ENOMEM;
 * or the error of opening, locking or reading a file.
 */
int qedblk_attach(struct qedblk_attach *a, const s32 *backing_fds)
{
	bool rw = !(a->flags & QEDBLK_ATTACH_READ_ONLY);
	struct qedblk_device *qed;
	struct file *file;
	int ret;

	file = qedblk_open_image_file(a, rw);
	if (IS_ERR(file))
		return PTR_ERR(file);
	qed = qedblk_alloc_device(a, file);
	if (!qed) {
		fput(file);
		return -ENOMEM;
	}
	qedblk_stat_image(qed);
	/* As QEMU: the locks before the first read, so nothing read is stale. */
	ret = qedblk_lock_image(&qed->top, rw);
	if (ret)
		goto out_free;
	ret = qedblk_load_image(qed, backing_fds, a->nr_backing);
	if (ret)
		goto out_free;
	ret = qedblk_claim(qed, a);
	if (ret)
		goto out_free;
	/* After the claim, so that a refusal names the device. */
	ret = qedblk_decide_dio(qed, a->block_size);
	if (ret)
		goto out_unclaim;
	ret = qedblk_prepare_image(qed, rw);
	if (!ret && qedblk_direct(qed))
		ret = qedblk_file_drop_cache(&qed->top);
	if (ret)
		goto out_unclaim;
	ret = qedblk_alloc_workqueues(qed);
	if (ret)
		goto out_unclaim;
	ret = qedblk_add_disk(qed);
	if (ret)
		goto out_unclaim;
	/* An attached device pins the module: rmmod is refused until detach. */
	__module_get(THIS_MODULE);
	mutex_lock(&qedblk_ctl_mutex);
	WRITE_ONCE(qed->state, QED_BOUND);
	mutex_unlock(&qedblk_ctl_mutex);
	a->index = qed->index;
	return 0;

out_unclaim:
	qedblk_unclaim(qed);
out_free:
	qedblk_release_image(qed);
	kfree(qed);
	return ret;
}

/* ---- detach ---- */

/* A reference to BOUND device @index, or NULL. */
static struct qedblk_device *qedblk_get(u32 index)
{
	struct qedblk_device *qed;

	mutex_lock(&qedblk_ctl_mutex);
	qed = idr_find(&qedblk_index_idr, index);
	if (qed && READ_ONCE(qed->state) == QED_BOUND)
		get_device(disk_to_dev(qed->disk));
	else
		qed = NULL;
	mutex_unlock(&qedblk_ctl_mutex);
	return qed;
}

static void qedblk_put(struct qedblk_device *qed)
{
	put_device(disk_to_dev(qed->disk));
}

/**
 * qedblk_get_locked() - a BOUND device, locked, for a command that changes it
 * @index: N
 * @qedp: set to the device on success
 *
 * Resize, flag changes and snapshots hold the device's lock across their
 * I/O; a detach that got there first leaves them ENXIO.
 * qedblk_unlock_put() undoes it.
 *
 * Context: process context, no lock of the driver held; sleeps.
 * Return: 0; -ENXIO when no attached device has @index; -EINTR on a fatal
 * signal.
 */
int qedblk_get_locked(u32 index, struct qedblk_device **qedp)
{
	struct qedblk_device *qed = qedblk_get(index);
	int ret;

	if (!qed)
		return -ENXIO;
	ret = mutex_lock_killable(&qed->lock);
	if (!ret && qed->state != QED_BOUND) {
		mutex_unlock(&qed->lock);
		ret = -ENXIO;
	}
	if (ret) {
		qedblk_put(qed);
		return ret;
	}
	*qedp = qed;
	return 0;
}

void qedblk_unlock_put(struct qedblk_device *qed)
{
	mutex_unlock(&qed->lock);
	qedblk_put(qed);
}

/*
 * Move a BOUND device that nobody has open to RUNDOWN (returns 0), or,
 * with @deferred, mark an open one to detach at its last close (returns
 * 1).  Under the disk's open_mutex, where qedblk_open() and qedblk_release()
 * run: no open slips in between the check and del_gendisk(), and a last
 * close either sees autoclear or has already happened.  loop_clr_fd()
 * decides the same way under lo_mutex.
 */
static int qedblk_start_rundown(struct qedblk_device *qed, bool deferred)
{
	struct gendisk *disk = qed->disk;
	int ret = 0;

	lockdep_assert_held(&qed->lock);
	mutex_lock(&disk->open_mutex);
	if (qed->state != QED_BOUND) {
		ret = -ENXIO;
	} else if (disk_openers(disk) > 0) {
		ret = -EBUSY;
		if (deferred) {
			WRITE_ONCE(qed->used, true);
			WRITE_ONCE(qed->flags, qed->flags | QEDBLK_ATTACH_AUTOCLEAR);
			ret = 1;
		}
	} else {
		WRITE_ONCE(qed->state, QED_RUNDOWN);
	}
	mutex_unlock(&disk->open_mutex);
	return ret;
}

/*
 * Tear down a RUNDOWN device, as __loop_clr_fd(): the disk goes first, so
 * no request is in flight; the image is left clean; the index entry, and
 * with it the claim on the files, goes last.  Under qed->lock alone: the
 * final flush may take long, and no other device's control command may
 * wait for it on qedblk_ctl_mutex.
 */
static void qedblk_teardown(struct qedblk_device *qed)
{
	struct gendisk *disk = qed->disk;
	int ret;

	lockdep_assert_held(&qed->lock);
	lockdep_assert_not_held(&qedblk_ctl_mutex);
	del_gendisk(disk);

	cancel_delayed_work_sync(&qed->clean_work);
	mutex_lock(&qed->alloc_lock);
	ret = qedblk_mark_clean(qed);
	if (!ret && !(qed->flags & QEDBLK_ATTACH_READ_ONLY))
		ret = qedblk_file_flush(&qed->top);
	mutex_unlock(&qed->alloc_lock);
	if (ret)
		qedblk_err(&qed->top, "final flush failed (%d); the image stays marked for a check",
			   ret);

	blk_mq_free_tag_set(&qed->tag_set);
	qedblk_unclaim(qed);
	qedblk_release_image(qed);
	put_disk(disk);		/* the attach's reference */
	/*
	 * Taken at attach.  From the detach work this may be the last
	 * reference: qedblk_exit() destroys qedblk_ctl_wq, which waits for the work
	 * to return before the module goes.
	 */
	module_put(THIS_MODULE);
}

static void qedblk_detach_workfn(struct work_struct *work)
{
	struct qedblk_device *qed = container_of(work, struct qedblk_device, detach_work);
	struct gendisk *disk = qed->disk;

	mutex_lock(&qed->lock);
	if (qedblk_start_rundown(qed, false) == 0)
		qedblk_teardown(qed);
	mutex_unlock(&qed->lock);
	put_device(disk_to_dev(disk));	/* taken by qedblk_release() */
}

/**
 * qedblk_detach() - detach /dev/qedN
 * @index: N
 * @flags: QEDBLK_DETACH_DEFERRED to have a device that is open detach at
 *	its last close rather than refuse
 *
 * Removes the disk, marks the image clean and flushes it, then gives up
 * the files and the index (qedblk_teardown()).  A failed final flush is
 * reported, not returned: the image stays marked for a check.
 *
 * Context: process context, no lock of the driver held.  Sleeps: takes
 * the device's lock killably and holds it across the final flush.
 * Return: 0 when the device is detached or, with QEDBLK_DETACH_DEFERRED,
 * will be at its last close; -ENXIO when no attached device has @index
 * (or it is already on its way out); -EBUSY when it is open and
 * QEDBLK_DETACH_DEFERRED was not given; -EINTR on a fatal signal.
 */
int qedblk_detach(u32 index, u32 flags)
{
	struct qedblk_device *qed = qedblk_get(index);
	int ret;

	if (!qed)
		return -ENXIO;
	ret = mutex_lock_killable(&qed->lock);
	if (!ret) {
		ret = qedblk_start_rundown(qed, flags & QEDBLK_DETACH_DEFERRED);
		if (ret == 0)
			qedblk_teardown(qed);
		mutex_unlock(&qed->lock);
	}
	qedblk_put(qed);
	return ret < 0 ? ret : 0;
}

/**
 * qedblk_dev_exit() - free the device index at module exit
 *
 * Attached devices pin the module, so none is left.
 */
void qedblk_dev_exit(void)
{
	idr_destroy(&qedblk_index_idr);
}

/**
 * qedblk_get_info() - describe an attached device
 * @info: in: @info->index, the device's N; out: every other field, which
 *	the caller has zeroed (qedblk_ctl_info())
 *
 * The header fields and the dirty bit are one snapshot, taken under
 * alloc_lock; the flags are read once, without the device's lock.
 *
 * Context: process context; sleeps (alloc_lock).
 * Return: 0, or -ENXIO when no attached device has that index.
 */
int qedblk_get_info(struct qedblk_info *info)
{
	struct qedblk_device *qed = qedblk_get(info->index);
	u32 flags;

	if (!qed)
		return -ENXIO;
	/* One snapshot: @flags changes under qed->lock, not taken here. */
	flags = READ_ONCE(qed->flags);
	mutex_lock(&qed->alloc_lock);
	info->cluster_size = qed->top.geom.cluster_size;
	info->table_size = qed->top.geom.table_size;
	info->header_size = qed->top.geom.header_size;
	info->image_size = qed->top.geom.image_size;
	info->features = qed->top.geom.features;
	info->compat_features = qed->top.geom.compat_features;
	info->autoclear_features = qed->top.geom.autoclear_features;
	info->file_size = qed->top.file_end;
	info->dev_flags = 0;
	if (flags & QEDBLK_ATTACH_READ_ONLY)
		info->dev_flags |= QEDBLK_INFO_READ_ONLY;
	if (flags & QEDBLK_ATTACH_AUTOCLEAR)
		info->dev_flags |= QEDBLK_INFO_AUTOCLEAR;
	if (flags & QEDBLK_ATTACH_DIRECT_IO)
		info->dev_flags |= QEDBLK_INFO_DIRECT_IO;
	if (flags & QEDBLK_ATTACH_NO_PARTSCAN)
		info->dev_flags |= QEDBLK_INFO_NO_PARTSCAN;
	if (flags & QEDBLK_ATTACH_COPY_ON_READ)
		info->dev_flags |= QEDBLK_INFO_COPY_ON_READ;
	if (qed->need_check_on_disk)
		info->dev_flags |= QEDBLK_INFO_DIRTY;
	/* A snapshot changes these too (qed_snapshot.c). */
	info->image_dev = qed->image_dev;
	info->image_ino = qed->image_ino;
	info->nr_backing = qed->nr_backing;
	strscpy(info->path, qed->path, sizeof(info->path));
	mutex_unlock(&qed->alloc_lock);
	info->block_size = qed->block_size;
	qedblk_put(qed);
	return 0;
}

/**
 * qedblk_drain() - no request in the driver until qedblk_undrain()
 * @qed: the device, its lock held
 *
 * For a change of what requests read without a lock (the L1 array and
 * geometry, the files of the chain, the direct I/O flag): the queue is
 * quiesced, so qedblk_queue_rq() is not called, and the requests it
 * started are waited for; new ones wait in the queue, bios as requests.
 * Not blk_mq_freeze_queue(), as loop_change_fd() and loop_set_dio() use:
 * each change here writes the image back in there, and lockdep puts the
 * host file system's writeback locks in one class with those of a file
 * system of the same type on this device, which writes back into a freeze
 * (q_usage_counter(io)): a cycle in lockdep's eyes (debug lane, 6.12).
 * Neither waits for a lock a request holds: started requests need none
 * of ours but alloc_lock and claims, which are never held here.
 *
 * Context: process context, alloc_lock not held.  Sleeps.
 * Return: the noio scope to restore, as a freeze's memflags: reclaim must
 * not wait for the requests held back.
 */
unsigned int qedblk_drain(struct qedblk_device *qed)
{
	struct request_queue *q = qed->disk->queue;

	lockdep_assert_held(&qed->lock);
	lockdep_assert_not_held(&qed->alloc_lock);
	blk_mq_quiesce_queue(q);
	while (blk_mq_queue_inflight(q))
		usleep_range(500, 1000);
	return memalloc_noio_save();
}

/**
 * qedblk_undrain() - let requests into the driver again
 * @qed: the device, drained by qedblk_drain()
 * @noio: what qedblk_drain() returned
 */
void qedblk_undrain(struct qedblk_device *qed, unsigned int noio)
{
	memalloc_noio_restore(noio);
	blk_mq_unquiesce_queue(qed->disk->queue);
}

/*
 * Grow the image to @new_size.  The L1 entries it gains were never part of
 * the image: whatever the file holds there (a table from before a shrink,
 * a hostile writer's) is zeroed, durably, before the header with the new
 * size can make them reachable.  The queue is drained so that no request
 * holds the old L1 array.
 */
static int qedblk_grow(struct qedblk_device *qed, u64 new_size)
{
	struct qedblk_image *img = &qed->top;
	struct qedblk_geom g = img->geom;
	u32 old_bytes = img->l1_bytes, bytes;
	u32 from = img->geom.l1_entries_used * 8, to;
	unsigned int noio;
	__le64 *l1 = NULL;
	int ret;

	lockdep_assert_held(&qed->lock);
	g.image_size = new_size;
	qedblk_geom_derive(&g);
	bytes = qedblk_l1_bytes_for(&g);
	to = g.l1_entries_used * 8;
	if (to > from) {
		/*
		 * The loaded sectors hold entries past the old size too.  No
		 * lookup reaches them, but an L1 sector write copies them:
		 * clear them first (qedblk_table_update()).
		 */
		mutex_lock(&qed->alloc_lock);
		memset((u8 *)img->l1 + from, 0, min(old_bytes, to) - from);
		mutex_unlock(&qed->alloc_lock);
		ret = qedblk_file_write_zeroes(img->file, g.l1_table_offset + from, to - from,
					       false);
		if (!ret)
			ret = qedblk_file_flush_range(img, g.l1_table_offset + from, to - from);
		if (ret) {
			qedblk_err(img, "resize: zeroing the new L1 entries failed: %d", ret);
			return ret;
		}
	}
	if (bytes > old_bytes) {
		l1 = kvzalloc(bytes, GFP_KERNEL);
		if (!l1)
			return -ENOMEM;
	}

	noio = qedblk_drain(qed);
	mutex_lock(&qed->alloc_lock);
	ret = qedblk_image_update_header(qed, img->geom.features, img->geom.autoclear_features,
					 new_size, QEDBLK_FLUSH_FILE);
	if (ret) {
		/* The header on disk may hold either size; both are valid. */
		qedblk_err(img, "resize: writing the header failed: %d", ret);
	} else if (l1) {
		memcpy(l1, img->l1, old_bytes);
		swap(l1, img->l1);
		img->l1_bytes = bytes;
	}
	qedblk_geom_derive(&img->geom);
	mutex_unlock(&qed->alloc_lock);
	qedblk_undrain(qed, noio);
	kvfree(l1);
	if (!ret)
		set_capacity_and_notify(qed->disk, new_size >> SECTOR_SHIFT);
	return ret;
}

/**
 * qedblk_resize() - grow the image of /dev/qedN
 * @index: N
 * @new_size: the new guest size in bytes
 *
 * Only growing is possible; the same size is no change.  The new L1
 * entries are zeroed durably before the header gets the new size
 * (qedblk_grow()), then the capacity change is announced.
 *
 * Context: process context, no lock of the driver held.  Sleeps: takes
 * the device's lock killably, writes and flushes the image, and drains
 * the queue, so never from the I/O path.
 * Return: 0; -ENXIO when no attached device has @index; -EINTR on a fatal
 * signal; -EROFS for a read-only device; -EINVAL for a size that is not a
 * multiple of the block size or below the current one; -EFBIG for a size
 * beyond what the geometry addresses (qedblk_max_image_size()); -ENOMEM;
 * or the I/O error of zeroing the new entries or of writing the header,
 * reported, the device keeping its old size.
 */
int qedblk_resize(u32 index, u64 new_size)
{
	const struct qedblk_geom *g;
	struct qedblk_device *qed;
	int ret = qedblk_get_locked(index, &qed);

	if (ret)
		return ret;
	g = &qed->top.geom;
	if (qed->flags & QEDBLK_ATTACH_READ_ONLY)
		ret = -EROFS;
	else if ((new_size & (qed->block_size - 1)) || new_size < g->image_size)
		ret = -EINVAL;
	else if (new_size > qedblk_max_image_size(g->cluster_size, g->table_size))
		ret = -EFBIG;
	else if (new_size != g->image_size)
		ret = qedblk_grow(qed, new_size);
	qedblk_unlock_put(qed);
	return ret;
}

static bool qedblk_may_switch_dio_on(struct qedblk_device *qed)
{
	unsigned int mem_align;
	u32 min;

	if (!qedblk_file_can_dio(qed))
		return false;
	min = qedblk_min_dio_size(qed->top.file, &mem_align);
	if (qed->block_size < min) {
		qedblk_err(&qed->top, "direct I/O on this file system needs blocks of at least %u bytes; the device's are %u (attach with -b %u --direct-io)",
			   min, qed->block_size, min);
		return false;
	}
	if (mem_align > queue_dma_alignment(qed->disk->queue)) {
		qedblk_err(&qed->top, "direct I/O on this file system needs memory aligned to %u bytes, more than the device asks for (attach with --direct-io)",
			   mem_align + 1);
		return false;
	}
	return true;
}

/*
 * Switch direct I/O on the image file, as loop_set_dio().  Refused where
 * the device's blocks are smaller than the file system's direct I/O, as
 * lo_can_use_dio() refuses it: the block size is fixed once attached, and
 * no request falls back to the page cache (qedblk_decide_dio()).  Refused
 * too where the file system wants its memory more aligned than the queue
 * was set up to ask for (loop_set_dma_limit() changes the limit; a qed
 * device decides it at attach).
 * Dirty page cache is written back first, as loop_set_dio() does, and
 * the queue is drained (qedblk_drain(), where loop freezes) so that no
 * request sees the flag change halfway;
 * what the last buffered requests left in the page cache goes once they
 * are drained (qedblk_file_drop_cache()).
 */
static int qedblk_set_direct_io(struct qedblk_device *qed, bool on)
{
	unsigned int noio;
	int ret = 0;

	lockdep_assert_held(&qed->lock);
	if (on == qedblk_direct(qed))
		return 0;
	if (on && !qedblk_may_switch_dio_on(qed))
		return -EINVAL;
	if (on && !(qed->flags & QEDBLK_ATTACH_READ_ONLY))
		ret = qedblk_file_flush(&qed->top);
	if (ret)
		return ret;
	noio = qedblk_drain(qed);
	if (on)
		ret = qedblk_file_drop_cache(&qed->top);
	if (on && !ret)
		WRITE_ONCE(qed->flags, qed->flags | QEDBLK_ATTACH_DIRECT_IO);
	else if (!on)
		WRITE_ONCE(qed->flags, qed->flags & ~QEDBLK_ATTACH_DIRECT_IO);
	qedblk_undrain(qed, noio);
	return ret;
}

/**
 * qedblk_set_flags() - change the flags of /dev/qedN, as LOOP_SET_DIRECT_IO
 * @index: N
 * @mask: the QEDBLK_ATTACH_* flags to change, within QEDBLK_SET_FLAGS_ALL
 *	(checked by qedblk_ctl_set())
 * @flags: their new values, within @mask
 *
 * Context: process context, no lock of the driver held.  Sleeps: takes
 * the device's lock killably, writes back the page cache and drains the
 * queue, so never from the I/O path.
 * Return: 0; -ENXIO when no attached device has @index; -EINTR on a fatal
 * signal; -EINVAL when direct I/O is asked for and the image's file cannot
 * do it, or not in blocks as small as the device's; or the error of
 * writing back the page cache before direct I/O starts.
 */
int qedblk_set_flags(u32 index, u32 mask, u32 flags)
{
	struct qedblk_device *qed;
	int ret = qedblk_get_locked(index, &qed);

	if (ret)
		return ret;
	if (mask & QEDBLK_ATTACH_DIRECT_IO)
		ret = qedblk_set_direct_io(qed, flags & QEDBLK_ATTACH_DIRECT_IO);
	qedblk_unlock_put(qed);
	return ret;
}

/**
 * qedblk_list() - the indices of the attached devices
 * @indices: where they go, in ascending order
 * @room: how many @indices holds; may be 0
 * @count: set to how many devices are attached, which may exceed @room
 *
 * Devices still attaching or already on their way out are not listed.
 *
 * Context: process context; sleeps (qedblk_ctl_mutex).
 * Return: 0.
 */
int qedblk_list(u32 *indices, u32 room, u32 *count)
{
	struct qedblk_device *qed;
	u32 n = 0;
	int id;

	mutex_lock(&qedblk_ctl_mutex);
	idr_for_each_entry(&qedblk_index_idr, qed, id) {
		if (READ_ONCE(qed->state) != QED_BOUND)
			continue;
		if (n < room)
			indices[n] = id;
		n++;
	}
	mutex_unlock(&qedblk_ctl_mutex);
	*count = n;
	return 0;
}
