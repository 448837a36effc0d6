/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qedblk internals: one struct qedblk_device per attached image.
 */
#ifndef QED_H
#define QED_H

#include <linux/blk-mq.h>
#include <linux/completion.h>
#include <linux/errseq.h>
#include <linux/hashtable.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>
#include <uapi/linux/qedblk.h>

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

extern unsigned int qedblk_l2_cache_chunks;

struct qedblk_l2_chunk {
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

struct qedblk_l2cache {
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
struct qedblk_image {
	struct qedblk_device *qed;		/* the device it belongs to */
	struct file *file;
	enum qedblk_file_format format;	/* QED_FMT_QED or QED_FMT_RAW */
	unsigned int depth;		/* 0 for the attached image */
	struct qedblk_image *backing;	/* the next file down, or NULL */

	/* QED images only: */
	struct qedblk_geom geom;
	/* The part of the L1 table that covers image_size, as on disk. */
	__le64 *l1;
	u32 l1_bytes;
	struct qedblk_l2cache l2;
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
enum qedblk_state {
	QED_ATTACHING,
	QED_BOUND,
	QED_RUNDOWN,
};

struct qedblk_device {
	int index;
	u32 flags;			/* QEDBLK_ATTACH_*; changed under @lock */
	u32 block_size;			/* logical, fixed at attach */
	/* The image file as stat(2) names it, taken at attach (loop_get_status()). */
	u64 image_dev;
	u64 image_ino;
	char path[QEDBLK_NAME_SIZE];
	struct qedblk_image top;		/* the image attached */
	struct qedblk_image *chain;	/* nr_backing files below it, nearest first */
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
	mempool_t *chunk_pool;		/* struct qedblk_l2_chunk with its page */
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
	gfp_t old_gfp_mask;		/* the image mapping's before us: qedblk_strip_gfp() */

	struct workqueue_struct *wq;
	struct workqueue_struct *alloc_wq;	/* allocating writes */
	struct qedblk_queue *queues;	/* one per hardware queue */
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	struct work_struct detach_work;	/* autoclear detach at last close */
	/*
	 * Serialises detach, resize and flag changes (@flags: AUTOCLEAR by a
	 * lazy detach, DIRECT_IO by QEDBLK_CTL_SET) of this device; held across their
	 * I/O, so qedblk_ctl_mutex need not be (one stuck image must not block
	 * every other device's control commands).
	 */
	struct mutex lock;
	/*
	 * Written under qedblk_ctl_mutex; BOUND -> RUNDOWN also under the
	 * disk's open_mutex, where qedblk_open() reads it, so that no open can
	 * slip in between detach's openers check and del_gendisk().
	 */
	enum qedblk_state state;
	bool used;			/* opened since: autoclear may act */
	/* Out of the index, claim and locks dropped: qedblk_wait_rundown(). */
	struct completion unclaimed;
};

/*
 * One per hardware queue: reads and writes wait on @cmds for one work item
 * that takes them all, as loop's workers do, so a burst of requests costs
 * one wakeup rather than one each.
 */
struct qedblk_queue {
	spinlock_t lock;		/* cmds */
	struct list_head cmds;
	struct work_struct work;
};

struct qedblk_cmd;

/* A piece of a request sent to the image file as one kiocb. */
struct qedblk_seg {
	struct kiocb iocb;
	struct qedblk_cmd *cmd;
	size_t len;
};

/* One blk-mq request in flight. */
struct qedblk_cmd {
	struct work_struct work;	/* flush, discard, write-zeroes, allocation */
	struct list_head node;		/* on qedblk_queue.cmds */
	struct qedblk_device *qed;
	struct qedblk_seg seg;		/* the first piece: no allocation */
	bool seg_busy;
	bool own_work;			/* allocating: runs on @work from @resume */
	bool cpu_copied;		/* a read filled by memcpy: qedblk_cmd_flush_dcache() */
	u64 resume;
	struct bio_vec *bvec;		/* allocated when inline_bvec is too small */
	bool bvec_pooled;		/* @bvec came from bvec_pool */
	struct bio_vec inline_bvec[4];
	struct iov_iter iter;		/* the whole request's data */
	atomic_t pending;		/* segments in flight, plus one while issuing */
	int error;
};

/* What a range of guest addresses maps to. */
enum qedblk_map_type {
	QED_MAP_DATA,			/* cluster(s) in the image file */
	QED_MAP_ZERO,			/* zero cluster(s) */
	QED_MAP_UNALLOC,		/* nothing allocated: backing data or zeros */
};

struct qedblk_map {
	enum qedblk_map_type type;
	u64 len;			/* bytes from pos the mapping holds for */
	u64 file_off;			/* QED_MAP_DATA: file offset of pos */
};

/* Guest data goes to the image file with O_DIRECT (attach --direct-io). */
static inline bool qedblk_direct(const struct qedblk_device *qed)
{
	return READ_ONCE(qed->flags) & QEDBLK_ATTACH_DIRECT_IO;
}

/* qed_main.c */
extern struct mutex qedblk_ctl_mutex;
extern int qedblk_major;
extern struct workqueue_struct *qedblk_ctl_wq;

/* qed_dev.c */
int qedblk_attach(struct qedblk_attach *a, const s32 *backing_fds);
int qedblk_detach(u32 index, u32 flags);
int qedblk_get_info(struct qedblk_info *info);
int qedblk_resize(u32 index, u64 new_size);
int qedblk_set_flags(u32 index, u32 mask, u32 flags);
int qedblk_list(u32 *indices, u32 room, u32 *count);
void qedblk_dev_exit(void);

/* qed_file.c: synchronous I/O on the image file */
int qedblk_file_read(struct file *file, u64 off, void *buf, size_t len);
ssize_t qedblk_file_read_iter(struct file *file, u64 off, struct iov_iter *iter);
int qedblk_file_write(struct file *file, u64 off, const void *buf, size_t len);
int qedblk_file_write_iter(struct file *file, u64 off, struct iov_iter *iter, bool direct);
int qedblk_file_write_zeroes(struct file *file, u64 off, u64 len);
int qedblk_file_zero_new(struct qedblk_image *img, u64 off, u64 len);
int qedblk_file_punch(struct file *file, u64 off, u64 len);
int qedblk_file_zero_range(struct file *file, u64 off, u64 len);
int qedblk_file_flush(struct qedblk_image *img);
int qedblk_file_flush_range(struct qedblk_image *img, u64 off, u64 len);
struct file *qedblk_file_reopen(struct file *file, bool write, const char *path);
void qedblk_note_error(struct qedblk_device *qed, int err);
int qedblk_guest_flush(struct qedblk_device *qed);

/* qed_lock.c: QEMU's image locks */
int qedblk_lock_image(struct qedblk_image *img, bool write);
void qedblk_unlock_image(struct qedblk_image *img);

/* qed_log.c */
/*
 * Every message about a device names it as "qedblk: qedN: PATH: ", and one
 * about a file below the image adds "backing file D (FILE): ".
 */
__printf(3, 4) void qedblk_printk(int level, const struct qedblk_image *img, const char *fmt, ...);
#define qedblk_err(img, fmt, ...)	qedblk_printk(LOGLEVEL_ERR, img, fmt, ##__VA_ARGS__)
#define qedblk_warn(img, fmt, ...)	qedblk_printk(LOGLEVEL_WARNING, img, fmt, ##__VA_ARGS__)
#define qedblk_info(img, fmt, ...)	qedblk_printk(LOGLEVEL_INFO, img, fmt, ##__VA_ARGS__)
/* For what a guest can repeat at will: a bad table entry, a failed flag write. */
#define qedblk_err_ratelimited(img, fmt, ...)					\
do {										\
	static DEFINE_RATELIMIT_STATE(_rs, DEFAULT_RATELIMIT_INTERVAL,		\
				      DEFAULT_RATELIMIT_BURST);			\
	if (__ratelimit(&_rs))							\
		qedblk_printk(LOGLEVEL_ERR, img, fmt, ##__VA_ARGS__);		\
} while (0)

/* qed_image.c */
void qedblk_image_init(struct qedblk_image *img, struct qedblk_device *qed, struct file *file,
		       unsigned int depth);
int qedblk_image_load(struct qedblk_image *img);
int qedblk_image_reload(struct qedblk_image *img);
void qedblk_image_release(struct qedblk_image *img);
/* What qedblk_image_update_header() makes durable after its write. */
enum qedblk_header_flush {
	QEDBLK_FLUSH_HEADER,		/* the header alone */
	QEDBLK_FLUSH_FILE,		/* the whole file */
};

int qedblk_image_update_header(struct qedblk_device *qed, u64 features, u64 autoclear_features,
			       u64 image_size, enum qedblk_header_flush flush);
int qedblk_image_set_need_check(struct qedblk_device *qed);
int qedblk_image_clear_need_check(struct qedblk_device *qed);

/* qed_backing.c */
int qedblk_chain_open(struct qedblk_device *qed, const s32 *fds, u32 nr);
void qedblk_chain_close(struct qedblk_device *qed);
int qedblk_chain_read(struct qedblk_image *img, u64 pos, struct iov_iter *iter);

/* qed_table.c */
u32 qedblk_l1_bytes_for(const struct qedblk_geom *g);
int qedblk_l1_load(struct qedblk_image *img);
void qedblk_l1_free(struct qedblk_image *img);
int qedblk_l2_set(struct qedblk_device *qed, u64 pos, u32 nr, u64 first_off);
void qedblk_bad_entry(struct qedblk_image *img, const char *what, u64 pos, u64 entry,
		      enum qedblk_entry_error err);

/* qed_map.c: translation */
int qedblk_map_range(struct qedblk_image *img, u64 pos, u64 len, struct qedblk_map *m);

/* qed_l2cache.c */
int qedblk_l2cache_init(void);
void qedblk_l2cache_exit(void);
void qedblk_l2cache_setup(struct qedblk_l2cache *c, unsigned int max);
mempool_t *qedblk_chunk_pool_create(void);
void qedblk_chunk_pool_destroy(mempool_t *pool);
void qedblk_l2cache_destroy(struct qedblk_l2cache *c);
struct qedblk_l2_chunk *qedblk_l2cache_get(struct qedblk_image *img, u64 off);
struct qedblk_l2_chunk *qedblk_l2cache_new(struct qedblk_image *img, u64 off);
void qedblk_l2cache_put(struct qedblk_l2_chunk *chunk);

/* qed_alloc.c */
int qedblk_alloc_write(struct qedblk_device *qed, u64 pos, struct iov_iter *iter);
int qedblk_alloc_zeroes(struct qedblk_device *qed, u64 pos, u64 len, bool discard, bool nounmap);
void qedblk_clean_work(struct work_struct *work);
int qedblk_mark_clean(struct qedblk_device *qed);

/* qed_repair.c */
int qedblk_repair(struct qedblk_device *qed);

/* qed_io.c */
void qedblk_cmd_work(struct work_struct *work);
void qedblk_queue_work(struct work_struct *work);
void qedblk_cmd_flush_dcache(struct qedblk_cmd *cmd);
void qedblk_cmd_free_bvec(struct qedblk_cmd *cmd);

#endif /* QED_H */
