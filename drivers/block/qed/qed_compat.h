/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference qedblk meets, in one place.  Supported:
 * 6.1 up to 7.3.
 */
#ifndef QED_COMPAT_H
#define QED_COMPAT_H

#include <linux/version.h>
#include <linux/blkdev.h>
#include <linux/blk-mq.h>

/* Queue parameters, applied the way the running kernel wants them. */
struct qed_queue_params {
	unsigned int logical_block_size;
	unsigned int physical_block_size;
	unsigned int max_hw_sectors;
	bool write_cache;
};

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
static inline struct gendisk *qed_alloc_disk(struct blk_mq_tag_set *set,
					     const struct qed_queue_params *p,
					     void *data)
{
	struct queue_limits lim = {
		.logical_block_size	= p->logical_block_size,
		.physical_block_size	= p->physical_block_size,
		.max_hw_sectors		= p->max_hw_sectors,
	};

	if (p->write_cache)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	return blk_mq_alloc_disk(set, &lim, data);
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
	blk_queue_write_cache(disk->queue, p->write_cache, false);
	return disk;
}
#endif

/*
 * block_device_operations.open takes the gendisk, and .release lost its
 * mode argument, since 6.5.  QED_OPEN_DISK names the gendisk inside open.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define QED_OPEN_PROTO(name)	int name(struct gendisk *disk, blk_mode_t mode)
#define QED_OPEN_DISK		disk
#define QED_RELEASE_PROTO(name)	void name(struct gendisk *disk)
#else
#define QED_OPEN_PROTO(name)	int name(struct block_device *bdev, fmode_t mode)
#define QED_OPEN_DISK		(bdev->bd_disk)
#define QED_RELEASE_PROTO(name)	void name(struct gendisk *disk, fmode_t mode)
#endif

#endif /* QED_COMPAT_H */
