/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel interface difference qedblk meets, in one place.  The
 * QED_HAVE_* symbols come from Kbuild, which looks for each interface in
 * the headers of the kernel being built against.  Supported: 6.1 to 7.3.
 */
#ifndef QED_COMPAT_H
#define QED_COMPAT_H

#include <linux/blkdev.h>
#include <linux/blk-mq.h>
#include <linux/fs.h>

#ifdef QED_HAVE_MQ_SHOULD_MERGE
#define QEDBLK_MQ_F_MERGE	BLK_MQ_F_SHOULD_MERGE
#else
#define QEDBLK_MQ_F_MERGE	0	/* 6.14: always */
#endif

/* Queue parameters, applied the way the running kernel wants them. */
struct qedblk_queue_params {
	unsigned int logical_block_size;
	unsigned int physical_block_size;
	unsigned int max_hw_sectors;
	unsigned int max_write_zeroes_sectors;
	unsigned int max_discard_sectors;
	unsigned int discard_granularity;
	unsigned int dma_alignment;
	bool write_cache;
};

#ifdef QED_HAVE_ALLOC_DISK_LIM
static inline struct gendisk *qedblk_alloc_disk(struct blk_mq_tag_set *set,
						const struct qedblk_queue_params *p,
						void *data)
{
	struct queue_limits lim = {
		.logical_block_size	= p->logical_block_size,
		.physical_block_size	= p->physical_block_size,
		.max_hw_sectors		= p->max_hw_sectors,
		.max_write_zeroes_sectors = p->max_write_zeroes_sectors,
		.max_hw_discard_sectors	= p->max_discard_sectors,
		.discard_granularity	= p->discard_granularity,
		.dma_alignment		= p->dma_alignment,
	};
	struct gendisk *disk;

#ifdef QED_HAVE_BLK_FEAT
	if (p->write_cache)
		lim.features |= BLK_FEAT_WRITE_CACHE;
#endif
	disk = blk_mq_alloc_disk(set, &lim, data);
#ifndef QED_HAVE_BLK_FEAT
	if (!IS_ERR(disk))
		blk_queue_write_cache(disk->queue, p->write_cache, false);
#endif
	return disk;
}
#else
static inline struct gendisk *qedblk_alloc_disk(struct blk_mq_tag_set *set,
						const struct qedblk_queue_params *p,
						void *data)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, data);

	if (IS_ERR(disk))
		return disk;
	blk_queue_logical_block_size(disk->queue, p->logical_block_size);
	blk_queue_physical_block_size(disk->queue, p->physical_block_size);
	blk_queue_max_hw_sectors(disk->queue, p->max_hw_sectors);
	blk_queue_max_write_zeroes_sectors(disk->queue, p->max_write_zeroes_sectors);
	blk_queue_max_discard_sectors(disk->queue, p->max_discard_sectors);
	disk->queue->limits.discard_granularity = p->discard_granularity;
	blk_queue_dma_alignment(disk->queue, p->dma_alignment);
	blk_queue_write_cache(disk->queue, p->write_cache, false);
	return disk;
}
#endif

/*
 * An open file description (OFD) lock request on the one byte @start, as
 * fcntl(F_OFD_SETLK/F_OFD_GETLK) builds it.  Since 6.9 the owner, type and
 * flags live in the lock's file_lock_core.
 */
#ifdef QED_HAVE_FILE_LOCK_CORE
#include <linux/filelock.h>

static inline void qedblk_ofd_lock_init(struct file_lock *fl, struct file *file,
					unsigned char type, loff_t start)
{
	locks_init_lock(fl);
	fl->c.flc_flags = FL_POSIX | FL_OFDLCK;
	fl->c.flc_owner = file;
	fl->c.flc_pid = current->tgid;
	fl->c.flc_file = file;
	fl->c.flc_type = type;
	fl->fl_start = start;
	fl->fl_end = start;
}

static inline unsigned char qedblk_lock_type(const struct file_lock *fl)
{
	return fl->c.flc_type;
}
#else
static inline void qedblk_ofd_lock_init(struct file_lock *fl, struct file *file,
					unsigned char type, loff_t start)
{
	locks_init_lock(fl);
	fl->fl_flags = FL_POSIX | FL_OFDLCK;
	fl->fl_owner = file;
	fl->fl_pid = current->tgid;
	fl->fl_file = file;
	fl->fl_type = type;
	fl->fl_start = start;
	fl->fl_end = start;
}

static inline unsigned char qedblk_lock_type(const struct file_lock *fl)
{
	return fl->fl_type;
}
#endif

#endif /* QED_COMPAT_H */
