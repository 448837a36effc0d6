/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qedblk internals: one struct qed_device per attached image.
 */
#ifndef QED_H
#define QED_H

#include <linux/blk-mq.h>
#include <linux/completion.h>
#include <linux/errseq.h>
#include <linux/hashtable.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>
#include <uapi/linux/qed.h>

#include "qed_format.h"

/* 64-bit table entries are read with READ_ONCE() without a lock. */
#ifndef CONFIG_64BIT
#error "qedblk needs a 64-bit kernel"
#endif

#define QED_MINORS		16	/* partitions per device, as loop's max_part */
/* Hardware queues: one per CPU, up to this many. */
#define QED_MAX_QUEUES		16u
/* bvecs in one element of bvec_pool; a longer table is kmalloc'ed. */
#define QED_POOL_BVECS		128u
/* Bounce buffer size for copying backing data into a new cluster. */
#define QED_COPY_BYTES		(64u * 1024)
/* The L2 cache works in pieces of one page of table entries. */
#define QED_CHUNK_BYTES		4096u
#define QED_CHUNK_ENTRIES	(QED_CHUNK_BYTES / 8)

extern unsigned int qed_l2_cache_chunks;

struct qed_l2_chunk {
	struct hlist_node hnode;	/* found under RCU, changed under the lock */
	struct list_head lru;
	u64 offset;		/* file offset of this page of an L2 table */
	refcount_t ref;		/* the cache's own reference counts as one */
	unsigned long flags;	/* QED_CHUNK_* bits */
	int error;		/* load error, valid once LOADING is clear */
	__le64 *entries;
	mempool_t *pool;	/* the device's chunk_pool, where it goes back */
	struct rcu_head rcu;
};

#define QED_CHUNK_LOADING	0
#define QED_CHUNK_REFERENCED	1	/* used since the last eviction scan */

struct qed_l2cache {
	spinlock_t lock;	/* changes to hash, lru and count */
	DECLARE_HASHTABLE(hash, 8);
	struct list_head lru;	/* oldest first; hits only mark REFERENCED */
	unsigned int count;
	unsigned int max;
	wait_queue_head_t wait;
	atomic64_t hits;
	atomic64_t misses;
	atomic64_t evictions;
};

/*
 * One file of the chain: the attached image (depth 0) or a backing file
 * below it.  Backing files are only ever read; the tables of a QED backing
 * file are therefore fixed while attached.
 */
struct qed_image {
	struct qed_device *qed;		/* the device it belongs to */
	struct file *file;
	enum qed_file_format format;	/* QED_FMT_QED or QED_FMT_RAW */
	unsigned int depth;		/* 0 for the attached image */
	struct qed_image *backing;	/* the next file down, or NULL */

	/* QED images only: */
	struct qed_geom geom;
	/* The part of the L1 table that covers image_size, as on disk. */
	__le64 *l1;
	u32 l1_bytes;
	struct qed_l2cache l2;
	u64 file_end;			/* next free cluster-aligned offset */
	/* From here on the file reads as zeros: never written since attach. */
	u64 fresh_from;
};

/*
 * A device's lifecycle, as loop's Lo_unbound/Lo_bound/Lo_rundown.  An
 * ATTACHING device is in the index and holds its images (a second attach
 * of them gets EBUSY) before anything is written to them; a RUNDOWN one
 * still holds them until its files are closed.
 */
enum qed_state {
	QED_ATTACHING,
	QED_BOUND,
	QED_RUNDOWN,
};

struct qed_device {
	int index;
	u32 flags;			/* QED_ATTACH_*; changed under @lock */
	u32 block_size;			/* logical, fixed at attach */
	/* The image file as stat(2) names it, taken at attach (loop_get_status()). */
	u64 image_dev;
	u64 image_ino;
	char path[QED_NAME_SIZE];
	struct qed_image top;		/* the image attached */
	struct qed_image *chain;	/* nr_backing files below it, nearest first */
	unsigned int nr_backing;

	/*
	 * alloc_lock serialises everything that changes metadata: cluster
	 * allocation, table and header writes.  Lookups and in-place I/O run
	 * without it.
	 */
	struct mutex alloc_lock;
	/*
	 * Guest ranges of the allocating operations under way (qed_alloc.c):
	 * alloc_lock is dropped while their data is written, so operations
	 * on disjoint clusters overlap and those on the same clusters wait.
	 */
	spinlock_t ops_lock;		/* ops */
	struct list_head ops;
	wait_queue_head_t ops_wait;
	/* QED_F_NEED_CHECK durable on disk; read locklessly by sysfs */
	bool need_check_on_disk;
	bool preallocated;		/* the file was extended past file_end */
	bool no_prealloc;		/* the file system cannot fallocate */
	bool was_dirty;			/* NEED_CHECK was set at attach */
	/*
	 * A table sector is built here and written before its entries are
	 * published: a failed write must never revert an entry another
	 * request has already used.  Under alloc_lock.
	 */
	u8 *table_buf;
	/*
	 * Reserves for what a request may need beyond its own space, so that
	 * memory pressure delays guest I/O and never fails it: more kiocbs
	 * for a request split over the file, the bvec table of a request of
	 * several bios, a buffer for backing data copied into a new cluster,
	 * the pages of L2 tables the cache loads for every file of the chain.
	 */
	mempool_t *seg_pool;
	mempool_t *bvec_pool;		/* QED_POOL_BVECS entries */
	mempool_t *copy_pool;		/* QED_COPY_BYTES */
	mempool_t *chunk_pool;		/* struct qed_l2_chunk with its page */
	struct delayed_work clean_work;

	/*
	 * A host writeback error or a failed internal flush must fail the
	 * guest's next flush, whoever saw it first.  Internal flushes use
	 * the file's own errseq cursor (f_wb_err); the guest's flush has its
	 * own, @flush_since, sampled at attach.  Both under @flush_lock.
	 */
	spinlock_t flush_lock;
	errseq_t flush_since;
	int flush_error;		/* an internal flush or header write failed */
	gfp_t old_gfp_mask;		/* the image mapping's before us: qed_strip_gfp() */

	struct workqueue_struct *wq;
	struct workqueue_struct *alloc_wq;	/* allocating writes */
	struct qed_queue *queues;	/* one per hardware queue */
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	struct work_struct detach_work;	/* autoclear detach at last close */
	/*
	 * Serialises detach, resize and flag changes (@flags: AUTOCLEAR by a
	 * lazy detach, DIRECT_IO by QED_CTL_SET) of this device; held across their
	 * I/O, so qed_ctl_mutex need not be (one stuck image must not block
	 * every other device's control commands).
	 */
	struct mutex lock;
	/*
	 * Written under qed_ctl_mutex; BOUND -> RUNDOWN also under the
	 * disk's open_mutex, where qed_open() reads it, so that no open can
	 * slip in between detach's openers check and del_gendisk().
	 */
	enum qed_state state;
	bool used;			/* opened since: autoclear may act */
	/* Out of the index, claim and locks dropped: qed_wait_rundown(). */
	struct completion unclaimed;
};

/*
 * One per hardware queue: reads and writes wait on @cmds for one work item
 * that takes them all, as loop's workers do, so a burst of requests costs
 * one wakeup rather than one each.
 */
struct qed_queue {
	spinlock_t lock;		/* cmds */
	struct list_head cmds;
	struct work_struct work;
};

struct qed_cmd;

/* A piece of a request sent to the image file as one kiocb. */
struct qed_seg {
	struct kiocb iocb;
	struct qed_cmd *cmd;
	size_t len;
};

/* One blk-mq request in flight. */
struct qed_cmd {
	struct work_struct work;	/* flush, discard, write-zeroes, allocation */
	struct list_head node;		/* on qed_queue.cmds */
	struct qed_device *qed;
	struct qed_seg seg;		/* the first piece: no allocation */
	bool seg_busy;
	bool own_work;			/* allocating: runs on @work from @resume */
	bool cpu_copied;		/* a read filled by memcpy: qed_cmd_flush_dcache() */
	u64 resume;
	struct bio_vec *bvec;		/* allocated when inline_bvec is too small */
	bool bvec_pooled;		/* @bvec came from bvec_pool */
	struct bio_vec inline_bvec[4];
	struct iov_iter iter;		/* the whole request's data */
	atomic_t pending;		/* segments in flight, plus one while issuing */
	int error;
};

/* What a range of guest addresses maps to. */
enum qed_map_type {
	QED_MAP_DATA,			/* cluster(s) in the image file */
	QED_MAP_ZERO,			/* zero cluster(s) */
	QED_MAP_UNALLOC,		/* nothing allocated: backing data or zeros */
};

struct qed_map {
	enum qed_map_type type;
	u64 len;			/* bytes from pos the mapping holds for */
	u64 file_off;			/* QED_MAP_DATA: file offset of pos */
};

/* Guest data goes to the image file with O_DIRECT (attach --direct-io). */
static inline bool qed_direct(const struct qed_device *qed)
{
	return READ_ONCE(qed->flags) & QED_ATTACH_DIRECT_IO;
}

/* qed_main.c */
extern struct mutex qed_ctl_mutex;
extern int qed_major;
extern struct workqueue_struct *qed_ctl_wq;

/* qed_dev.c */
int qed_attach(struct qed_attach *a, const s32 *backing_fds);
int qed_detach(u32 index, u32 flags);
int qed_get_info(struct qed_info *info);
int qed_resize(u32 index, u64 new_size);
int qed_set_flags(u32 index, u32 mask, u32 flags);
int qed_list(u32 *indices, u32 room, u32 *count);
void qed_dev_exit(void);

/* qed_file.c: synchronous I/O on the image file */
int qed_file_read(struct file *file, u64 off, void *buf, size_t len);
ssize_t qed_file_read_iter(struct file *file, u64 off, struct iov_iter *iter);
int qed_file_write(struct file *file, u64 off, const void *buf, size_t len);
int qed_file_write_iter(struct file *file, u64 off, struct iov_iter *iter, bool direct);
int qed_file_write_zeroes(struct file *file, u64 off, u64 len);
int qed_file_punch(struct file *file, u64 off, u64 len);
int qed_file_zero_range(struct file *file, u64 off, u64 len);
int qed_file_flush(struct qed_image *img);
int qed_file_flush_range(struct qed_image *img, u64 off, u64 len);
int qed_write_header(struct qed_device *qed);
struct file *qed_file_reopen(struct file *file, bool write, const char *path);
void qed_note_error(struct qed_device *qed, int err);
int qed_guest_flush(struct qed_device *qed);

/* qed_lock.c: QEMU's image locks */
int qed_lock_image(struct qed_image *img, bool write);
void qed_unlock_image(struct qed_image *img);

/* qed_image.c */
__printf(2, 3) void qed_image_err(const struct qed_image *img, const char *fmt, ...);
void qed_image_init(struct qed_image *img, struct qed_device *qed, struct file *file,
		    unsigned int depth);
int qed_image_load(struct qed_image *img);
void qed_image_release(struct qed_image *img);

/* qed_backing.c */
int qed_chain_open(struct qed_device *qed, const s32 *fds, u32 nr);
void qed_chain_close(struct qed_device *qed);
int qed_chain_read(struct qed_image *img, u64 pos, struct iov_iter *iter);

/* qed_table.c */
u32 qed_l1_bytes_for(const struct qed_geom *g);
int qed_l1_load(struct qed_image *img);
void qed_l1_free(struct qed_image *img);
int qed_map_range(struct qed_image *img, u64 pos, u64 len, struct qed_map *m);
int qed_l2_set(struct qed_device *qed, u64 pos, u32 nr, u64 first_off);

/* qed_l2cache.c */
int qed_l2cache_init(void);
void qed_l2cache_exit(void);
void qed_l2cache_setup(struct qed_l2cache *c, unsigned int max);
mempool_t *qed_chunk_pool_create(void);
void qed_chunk_pool_destroy(mempool_t *pool);
void qed_l2cache_destroy(struct qed_l2cache *c);
struct qed_l2_chunk *qed_l2cache_get(struct qed_image *img, u64 off);
struct qed_l2_chunk *qed_l2cache_new(struct qed_image *img, u64 off);
void qed_l2cache_put(struct qed_l2_chunk *chunk);

/* qed_alloc.c */
int qed_alloc_write(struct qed_device *qed, u64 pos, struct iov_iter *iter);
int qed_alloc_zeroes(struct qed_device *qed, u64 pos, u64 len, bool discard, bool nounmap);
void qed_clean_work(struct work_struct *work);
int qed_mark_clean(struct qed_device *qed);
int qed_zero_new(struct qed_image *img, u64 off, u64 len);

/* qed_repair.c */
int qed_repair(struct qed_device *qed);

/* qed_io.c */
void qed_cmd_work(struct work_struct *work);
void qed_queue_work(struct work_struct *work);
void qed_cmd_flush_dcache(struct qed_cmd *cmd);
void qed_cmd_free_bvec(struct qed_cmd *cmd);

#endif /* QED_H */
