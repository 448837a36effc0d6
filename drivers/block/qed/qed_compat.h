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

/* Queue parameters, applied the way the running kernel wants them. */
struct qed_queue_params {
	unsigned int logical_block_size;
	unsigned int physical_block_size;
	unsigned int max_hw_sectors;
	unsigned int max_write_zeroes_sectors;
	unsigned int max_discard_sectors;
	unsigned int discard_granularity;
	bool write_cache;
};

#ifdef QED_HAVE_ALLOC_DISK_LIM
static inline struct gendisk *qed_alloc_disk(struct blk_mq_tag_set *set,
					     const struct qed_queue_params *p,
					     void *data)
{
	struct queue_limits lim = {
		.logical_block_size	= p->logical_block_size,
		.physical_block_size	= p->physical_block_size,
		.max_hw_sectors		= p->max_hw_sectors,
		.max_write_zeroes_sectors = p->max_write_zeroes_sectors,
		.max_hw_discard_sectors	= p->max_discard_sectors,
		.discard_granularity	= p->discard_granularity,
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
static inline struct gendisk *qed_alloc_disk(struct blk_mq_tag_set *set,
					     const struct qed_queue_params *p,
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
	blk_queue_write_cache(disk->queue, p->write_cache, false);
	return disk;
}
#endif

/*
 * block_device_operations.open takes the gendisk, and .release lost its
 * mode argument, since 6.5.  QED_OPEN_DISK names the gendisk inside open.
 */
#ifdef QED_HAVE_OPEN_GENDISK
#define QED_OPEN_PROTO(name)	int name(struct gendisk *disk, blk_mode_t mode)
#define QED_OPEN_DISK		disk
#define QED_RELEASE_PROTO(name)	void name(struct gendisk *disk)
#else
#define QED_OPEN_PROTO(name)	int name(struct block_device *bdev, fmode_t mode)
#define QED_OPEN_DISK		(bdev->bd_disk)
#define QED_RELEASE_PROTO(name)	void name(struct gendisk *disk, fmode_t mode)
#endif

/* Since 6.14 freezing a queue returns the memalloc flags to restore. */
#ifdef QED_HAVE_FREEZE_MEMFLAGS
static inline unsigned int qed_freeze_queue(struct request_queue *q)
{
	return blk_mq_freeze_queue(q);
}

static inline void qed_unfreeze_queue(struct request_queue *q, unsigned int memflags)
{
	blk_mq_unfreeze_queue(q, memflags);
}
#else
static inline unsigned int qed_freeze_queue(struct request_queue *q)
{
	blk_mq_freeze_queue(q);
	return 0;
}

static inline void qed_unfreeze_queue(struct request_queue *q, unsigned int memflags)
{
	blk_mq_unfreeze_queue(q);
}
#endif

#endif /* QED_COMPAT_H */
