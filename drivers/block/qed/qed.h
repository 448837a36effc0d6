/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qedblk internals: one struct qedblk_device per attached image.
 *
 * Locking
 *
 * The locks nest in this order, outermost first: a lock is taken only
 * with nothing held or with locks on the path above it, never with one
 * below it held.
 *
 *   qedblk_device.lock            detach, resize, QEDBLK_CTL_SET
 *     disk->open_mutex            qedblk_start_rundown(), del_gendisk()
 *     queue drain                 qedblk_drain(): grow, direct I/O, snapshot
 *       claim on clusters         qedblk_op_begin(): allocating requests
 *         alloc_lock              metadata changes
 *           qedblk_l2cache.lock   spinlock
 *           ops_lock              spinlock
 *           flush_lock            spinlock
 *           files_lock            spinlock
 *     qedblk_ctl_mutex            qedblk_unclaim(), last in a detach;
 *                                 around a snapshot's drain
 *       files_lock                spinlock
 *   qedblk_queue.lock             spinlock
 *
 * qedblk_ctl_mutex (qed_main.c) guards the device index (qed_claim.c), the
 * moves to ATTACHING and BOUND, and each device's @index and @old_gfp_mask.
 * It is held only to look at or change them, never across I/O or a wait
 * (qedblk_wait_rundown() waits after dropping it): one stuck image must
 * not hold up the control commands of every other device.
 *
 * qedblk_device.lock serialises what changes a bound device: detach, from
 * QEDBLK_CTL_DETACH or the autoclear work, resize and QEDBLK_CTL_SET.
 * They hold it across their I/O; detach takes qedblk_ctl_mutex under it
 * to leave the index.
 *
 * disk->open_mutex is the block layer's: qedblk_open() and qedblk_release()
 * run under it and take no lock of ours.  Detach moves BOUND to RUNDOWN
 * under it, so that no open slips in between its check of the openers and
 * del_gendisk().  A last close hands its autoclear detach to a work item:
 * taking qedblk_device.lock there would invert the order.
 *
 * A queue drain (qedblk_drain(), where loop freezes its queue) waits
 * until every request started has completed, so it is never started with
 * anything held that a request may wait for: alloc_lock, a claim on
 * clusters.  Unlike a freeze, lockdep sees no lock in it, and the host
 * file system can be written back in it.
 *
 * A claim on clusters (struct qedblk_op, qed_alloc.c) is a sleeping lock
 * on the whole clusters under an allocating request's guest range.  It is
 * taken before alloc_lock and never waited for with alloc_lock held, so
 * that two requests never allocate one cluster twice.
 *
 * alloc_lock serialises every change of metadata: cluster allocation,
 * table and header writes, file_end, the need-check flag.  It is held
 * across file I/O (table and header writes, flushes, L2 cache loads), so
 * its holders allocate memory only in a noio scope (the workers'
 * PF_MEMALLOC_NOIO, qedblk_clean_work(), a drained queue): reclaim must
 * never wait for a request that waits for alloc_lock.  qedblk_alloc_run()
 * drops it while the data of new clusters is written: then only the
 * entries of the clusters its caller claimed stay as they were looked up.
 *
 * The spinlocks are leaves: nothing sleeps and no other lock is taken
 * under them, and none is taken in interrupt context (a kiocb completion
 * takes none).
 *
 * Functions that need a lock held say so with lockdep_assert_held().
 *
 * Read without a lock, and the barriers that pair:
 *
 * - Table entries and file_end.  An allocation raises file_end before it
 *   publishes an entry below it: qedblk_table_update() has smp_wmb()
 *   between the two, before WRITE_ONCE() of the L1 or L2 entries.
 *   qedblk_map_range() reads an entry with READ_ONCE(), then smp_rmb(),
 *   then file_end, so that a new entry is never checked against an old
 *   end.  Entries are 64 bits, hence CONFIG_64BIT.
 *
 * - L2 cache chunks.  A chunk is set up before hash_add_rcu() publishes
 *   it; lookups walk the hash under RCU and take it with
 *   refcount_inc_not_zero().  Eviction takes the count from one (the
 *   cache's own) to zero under the cache lock, so a lookup either got its
 *   reference first or misses, and frees the chunk after a grace period.
 *   While a chunk loads, QED_CHUNK_LOADING is set: the loader's
 *   clear_bit_unlock() pairs with the waiters' test_bit_acquire() in
 *   qedblk_l2cache_get(), after which its entries and error are seen.
 *   QED_CHUNK_REFERENCED is a hint for eviction and orders nothing.
 *
 * - The L1 array and the image size, with all that derives from it, are
 *   changed only under alloc_lock with the queue drained (qedblk_grow()):
 *   the I/O path reads them unlocked, as no request runs meanwhile.
 *
 * - Values that order nothing, read with READ_ONCE() against WRITE_ONCE():
 *   the device's @state, @flags and @need_check_on_disk, an L2 cache's
 *   @count (sysfs).  The cache's statistics are atomics;
 *   qedblk_l2_cache_chunks, a writable module parameter, is read once
 *   per image: at attach, at a snapshot for the new chain.
 *
 * - A request's segments: @pending counts them, and the one that takes it
 *   to zero (atomic_dec_and_test(), fully ordered) completes the request
 *   and sees every error set with cmpxchg().
 *
 * - The files of the chain, and the device's @path, @image_dev and
 *   @image_ino, change only in a live snapshot (qed_snapshot.c), under
 *   qedblk_device.lock and alloc_lock with the queue drained: the I/O path
 *   and messages read them unlocked, as no request runs and no other
 *   control command meanwhile.  The index (under qedblk_ctl_mutex) and
 *   sysfs read the files and names under files_lock, a leaf spinlock,
 *   as loop's lo_lock for loop_change_fd(); the switch holds it.  So is
 *   the whole geometry replaced then, the L2 cache set up anew (its
 *   statistics from zero, its bound qedblk_l2_cache_chunks as then).
 *
 * Everything else is fixed from attach until the files are released, and
 * read by anyone: the geometry but for the above, the device's
 * @block_size, @was_dirty, reserves and workqueues.
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

/* Table entries are read without a lock: see "Locking" above. */
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
/* The L2 cache's unit, a chunk: 4 KiB of one table's entries. */
#define QED_CHUNK_BYTES		4096u
#define QED_CHUNK_ENTRIES	(QED_CHUNK_BYTES / 8)
/* NEED_CHECK is cleared once allocation has been idle this long. */
#define QED_CLEAN_DELAY		(5 * HZ)

extern unsigned int qedblk_l2_cache_chunks;

/*
 * One chunk of an L2 table in the cache, its entries in a page of their
 * own.  Found under RCU; offset, entries and pool are fixed while it is
 * cached.
 */
struct qedblk_l2_chunk {
	struct hlist_node hnode;	/* changed under the cache's lock */
	struct list_head lru;		/* under the cache's lock */
	u64 offset;		/* file offset of this chunk of an L2 table */
	refcount_t ref;		/* the cache's own reference counts as one */
	unsigned long flags;	/* QED_CHUNK_* bits, atomic */
	int error;		/* load error, valid once LOADING is clear */
	/* Changed under alloc_lock once loaded; read with READ_ONCE(). */
	__le64 *entries;
	mempool_t *pool;	/* the device's chunk_pool, where it goes back */
	struct rcu_head rcu;
};

#define QED_CHUNK_LOADING	0	/* cleared with release: see "Locking" */
#define QED_CHUNK_REFERENCED	1	/* used since the last eviction scan */

struct qedblk_l2cache {
	spinlock_t lock;	/* hash, lru and count */
	DECLARE_HASHTABLE(hash, 8);	/* walked under RCU */
	struct list_head lru;	/* oldest first; hits only mark REFERENCED */
	unsigned int count;	/* read locklessly by sysfs */
	unsigned int max;	/* chunks; fixed at attach */
	wait_queue_head_t wait;	/* for chunks that are LOADING */
	atomic64_t hits;
	atomic64_t misses;
	atomic64_t evictions;
};

/*
 * One file of the chain: the attached image (depth 0) or a backing file
 * below it.  Backing files are only ever read; the tables of a QED backing
 * file are therefore fixed while attached, and so is all of a backing
 * file's struct but its cache.
 */
struct qedblk_image {
	struct qedblk_device *qed;		/* the device it belongs to */
	struct file *file;
	enum qedblk_file_format format;	/* QED_FMT_QED or QED_FMT_RAW */
	unsigned int depth;		/* 0 for the attached image */
	struct qedblk_image *backing;	/* the next file down, or NULL */

	/* QED images only: */
	/*
	 * features under alloc_lock; image_size and what derives from it
	 * also with the queue drained; the rest fixed, but for the attached
	 * image's, all of which a snapshot replaces with the queue drained.
	 */
	struct qedblk_geom geom;
	/*
	 * The part of the L1 table that covers image_size, as on disk.  Its
	 * entries change under alloc_lock and are read with READ_ONCE(); the
	 * array is replaced, and l1_bytes changed, with the queue drained too.
	 */
	__le64 *l1;
	u32 l1_bytes;
	struct qedblk_l2cache l2;
	/* Next free cluster-aligned offset: raised under alloc_lock (Locking). */
	u64 file_end;
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
	int index;			/* set under qedblk_ctl_mutex at claim */
	/*
	 * QEDBLK_ATTACH_*.  Changed under @lock with WRITE_ONCE(), AUTOCLEAR
	 * also under the disk's open_mutex, where qedblk_release() reads it;
	 * READ_ONLY, NO_PARTSCAN and COPY_ON_READ never change.  Read with READ_ONCE()
	 * where @lock is not held.
	 */
	u32 flags;
	u32 block_size;			/* logical, fixed at attach */
	/* The image file as stat(2) names it, taken at attach (loop_get_status()). */
	u64 image_dev;
	u64 image_ino;
	char path[QEDBLK_NAME_SIZE];
	struct qedblk_image top;		/* the image attached */
	struct qedblk_image *chain;	/* nr_backing files below it, nearest first */
	unsigned int nr_backing;
	/*
	 * For sysfs and the index: top.file, top.backing, @chain,
	 * @nr_backing, @path, @image_dev, @image_ino and @snap_file change
	 * under it ("Locking" above).
	 */
	spinlock_t files_lock;
	/* The overlay of a snapshot under way, claimed (qedblk_claim_overlay()). */
	struct file *snap_file;

	/*
	 * alloc_lock serialises everything that changes metadata: cluster
	 * allocation, table and header writes.  Lookups and in-place I/O run
	 * without it.  See "Locking" at the top of this file.
	 */
	struct mutex alloc_lock;
	/*
	 * Guest ranges of the allocating operations under way (qed_alloc.c):
	 * alloc_lock is dropped while their data is written, so operations
	 * on disjoint clusters overlap and those on the same clusters wait.
	 */
	spinlock_t ops_lock;		/* ops */
	struct list_head ops;
	wait_queue_head_t ops_wait;	/* for a claim on clusters */
	/*
	 * QED_F_NEED_CHECK durable on disk: under alloc_lock once attached,
	 * with WRITE_ONCE(); read locklessly by sysfs.
	 */
	bool need_check_on_disk;
	bool preallocated;		/* the file was extended past file_end */
	bool no_prealloc;		/* the file system cannot fallocate */
	/* NEED_CHECK was set at attach and no repair cleared it. */
	bool was_dirty;
	/*
	 * A table sector is built here and written before its entries are
	 * published: a failed write must never revert an entry another
	 * request has already used.  preallocated, no_prealloc and this are
	 * under alloc_lock.
	 */
	u8 *table_buf;
	/*
	 * Reserves for what a request may need beyond its own space, so that
	 * memory pressure delays guest I/O and never fails it: more kiocbs
	 * for a request split over the file, the bvec table of a request of
	 * several bios, a buffer for backing data copied into a new cluster,
	 * the chunks of L2 tables the cache loads for every file of the chain.
	 */
	mempool_t *seg_pool;
	mempool_t *bvec_pool;		/* QED_POOL_BVECS entries */
	mempool_t *copy_pool;		/* QED_COPY_BYTES */
	mempool_t *chunk_pool;		/* struct qedblk_l2_chunk with its page */
	struct delayed_work clean_work;	/* queued under alloc_lock */

	/*
	 * A host writeback error or a failed internal flush must fail the
	 * guest's next flush, whoever saw it first.  Internal flushes use
	 * the file's own errseq cursor (f_wb_err); the guest's flush has its
	 * own, @flush_since, sampled at attach.  Both under @flush_lock.
	 */
	spinlock_t flush_lock;
	errseq_t flush_since;
	int flush_error;		/* an internal flush or header write failed */
	/* The image mapping's before us: qedblk_strip_gfp(); qedblk_ctl_mutex. */
	gfp_t old_gfp_mask;

	struct workqueue_struct *wq;
	struct workqueue_struct *alloc_wq;	/* allocating writes */
	struct qedblk_queue *queues;	/* one per hardware queue */
	/* Direct reads and writes in flight, queue_rq to completion: atomic. */
	atomic_t rw_in_flight;
	/* Reads and writes it walked itself since attach, for sysfs. */
	atomic64_t inline_requests;
	/* Clusters copy-on-read put in the image since attach, for sysfs. */
	atomic64_t copied_clusters;
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
	 * ATTACHING and BOUND are set under qedblk_ctl_mutex; BOUND -> RUNDOWN
	 * under @lock and the disk's open_mutex, where qedblk_open() reads
	 * it, so that no open can slip in between detach's openers check and
	 * del_gendisk().  Read with READ_ONCE() where @lock is not held: a
	 * holder of @lock found it BOUND, and only it moves it on.
	 */
	enum qedblk_state state;
	bool used;	/* opened since: autoclear may act; under open_mutex */
	/* Out of the index, claim and locks dropped: qedblk_wait_rundown(). */
	struct completion unclaimed;
};

/*
 * One per hardware queue: reads and writes wait on @cmds for one work item
 * that takes them all, as loop's workers do, so a burst of requests costs
 * one wakeup rather than one each.
 */
struct qedblk_queue {
	spinlock_t lock;		/* protects @cmds */
	struct list_head cmds;		/* qedblk_cmd.node */
	struct work_struct work;	/* qedblk_queue_work() */
};

struct qedblk_cmd;

/*
 * A piece of a request sent to the image file as one kiocb.  Set up by
 * the context that issues it, read by its completion: no lock.
 */
struct qedblk_seg {
	struct kiocb iocb;
	struct qedblk_cmd *cmd;
	u64 off;			/* where in the request its data starts */
	size_t len;
	u64 file_off;			/* where in the image file it goes */
	struct work_struct retry;	/* IOCB_NOWAIT refused it: qedblk_seg_retry() */
	/*
	 * The issuer's and the completion's, as loop_cmd's ref: a file
	 * system may still touch the kiocb after ->ki_complete() ran, until
	 * its ->read_iter() or ->write_iter() returns (ext4's direct read
	 * does file_accessed(iocb->ki_filp) after iomap_dio_rw()), so the
	 * last of the two frees the piece, completes it or retries it.
	 */
	atomic_t ref;
	bool again;			/* set by the completion: retry, not done */
};

/*
 * Who walks a read or write in qedblk_rw_from().  Only that context reads
 * or moves it, and queue_work() orders each hand-over.
 */
enum qedblk_cmd_phase {
	/*
	 * qedblk_queue_rq() itself, with direct I/O: it must not wait for a
	 * table load, the backing chain or the host file system, so kiocbs
	 * go with IOCB_NOWAIT and the rest of the walk to a worker.
	 */
	QED_CMD_SUBMITTING,
	/* A queue worker: may block, hands allocation on. */
	QED_CMD_ISSUING,
	/* Its own alloc_wq worker, from @resume_from on: does it all. */
	QED_CMD_ALLOCATING,
};

/*
 * One blk-mq request in flight (the tag set's pdu).  Most of it needs no
 * lock because one context at a time owns it: qedblk_queue_rq(), then the
 * workers it may be handed to (@phase), and once @pending drops to zero
 * qedblk_complete_rq().  Kiocb completions, and the workers that issue a
 * kiocb again (qedblk_seg_retry()), meanwhile touch only their own
 * qedblk_seg, @pending and @error.
 */
struct qedblk_cmd {
	struct work_struct work;	/* flush, discard, write-zeroes, hand-offs */
	struct list_head node;		/* on qedblk_queue.cmds, under its lock */
	struct qedblk_device *qed;	/* set by qedblk_queue_rq() */
	struct qedblk_seg seg;		/* the first piece: no allocation */
	enum qedblk_cmd_phase phase;	/* reads and writes only */
	bool seg_busy;			/* @seg was taken for a kiocb */
	bool counted;			/* in qedblk_device.rw_in_flight */
	bool cpu_copied;		/* a read filled by memcpy: qedblk_cmd_flush_dcache() */
	u64 resume_from;		/* where a worker taking the walk over starts */
	struct bio_vec *bvec;		/* allocated when inline_bvec is too small */
	bool bvec_pooled;		/* @bvec came from bvec_pool */
	struct bio_vec inline_bvec[4];
	struct iov_iter iter;		/* the whole request's data */
	atomic_t pending;		/* kiocbs in flight, plus one per worker walking it */
	int error;			/* the first error, set by cmpxchg() */
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

/* qed_ctl.c */
long qedblk_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* qed_dev.c */
int qedblk_attach(struct qedblk_attach *a, const s32 *backing_fds);
int qedblk_detach(u32 index, u32 flags);
int qedblk_get_info(struct qedblk_info *info);
int qedblk_resize(u32 index, u64 new_size);
int qedblk_set_flags(u32 index, u32 mask, u32 flags);
int qedblk_list(u32 *indices, u32 room, u32 *count);
void qedblk_dev_exit(void);
int qedblk_get_locked(u32 index, struct qedblk_device **qedp);
void qedblk_unlock_put(struct qedblk_device *qed);
unsigned int qedblk_drain(struct qedblk_device *qed);
void qedblk_undrain(struct qedblk_device *qed, unsigned int noio);
int qedblk_validate_user_file(struct file *file, bool rw);
u32 qedblk_min_dio_size(struct file *file, unsigned int *mem_align);

/* qed_snapshot.c */
int qedblk_snapshot(struct qedblk_snapshot *a);

/* qed_claim.c: the device index, and each device's claim on its files */
extern struct idr qedblk_index_idr;
int qedblk_wait_rundown(const struct inode *inode);
int qedblk_claim(struct qedblk_device *qed, struct qedblk_attach *a);
void qedblk_unclaim(struct qedblk_device *qed);
int qedblk_claim_overlay(struct qedblk_device *qed, struct file *file, gfp_t *old_gfp);
void qedblk_unclaim_overlay(struct qedblk_device *qed, bool taken, struct file *old,
			    gfp_t old_gfp);

/* qed_file.c: synchronous I/O on the image file */
int qedblk_file_read(struct file *file, u64 off, void *buf, size_t len);
ssize_t qedblk_file_read_iter(struct file *file, u64 off, struct iov_iter *iter);
int qedblk_file_write(struct file *file, u64 off, const void *buf, size_t len);
int qedblk_file_write_iter(struct file *file, u64 off, struct iov_iter *iter, bool direct);
int qedblk_file_write_zeroes(struct file *file, u64 off, u64 len, bool direct);
int qedblk_file_zero_new(struct qedblk_image *img, u64 off, u64 len, bool direct);
int qedblk_file_punch(struct file *file, u64 off, u64 len);
int qedblk_file_zero_range(struct file *file, u64 off, u64 len, bool direct);
int qedblk_file_flush(struct qedblk_image *img);
int qedblk_file_flush_range(struct qedblk_image *img, u64 off, u64 len);
struct file *qedblk_file_reopen(struct file *file, bool write, const char *path);
void qedblk_note_error(struct qedblk_device *qed, int err);
int qedblk_file_drop_cache(struct qedblk_image *img);
int qedblk_guest_flush(struct qedblk_device *qed);

/* qed_lock.c: QEMU's image locks */
int qedblk_lock_image(struct qedblk_image *img, bool write);
void qedblk_unlock_image(struct qedblk_image *img);
int qedblk_lock_handover(struct qedblk_image *ro, struct qedblk_image *rw);

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
int qedblk_map_range_cached(struct qedblk_image *img, u64 pos, u64 len, struct qedblk_map *m);

/* qed_l2cache.c */
int qedblk_l2cache_init(void);
void qedblk_l2cache_exit(void);
void qedblk_l2cache_setup(struct qedblk_l2cache *c, unsigned int max);
mempool_t *qedblk_chunk_pool_create(void);
void qedblk_chunk_pool_destroy(mempool_t *pool);
void qedblk_l2cache_destroy(struct qedblk_l2cache *c);
struct qedblk_l2_chunk *qedblk_l2cache_get(struct qedblk_image *img, u64 off);
struct qedblk_l2_chunk *qedblk_l2cache_peek(struct qedblk_image *img, u64 off);
struct qedblk_l2_chunk *qedblk_l2cache_new(struct qedblk_image *img, u64 off);
void qedblk_l2cache_put(struct qedblk_l2_chunk *chunk);

/* qed_alloc.c */
int qedblk_alloc_write(struct qedblk_device *qed, u64 pos, struct iov_iter *iter);
int qedblk_alloc_copy(struct qedblk_device *qed, u64 pos, u64 len);
int qedblk_alloc_zeroes(struct qedblk_device *qed, u64 pos, u64 len, bool discard, bool nounmap);
void qedblk_clean_work(struct work_struct *work);
int qedblk_mark_clean(struct qedblk_device *qed);

/* qed_repair.c */
int qedblk_repair(struct qedblk_device *qed);

/* qed_sysfs.c */
extern const struct attribute_group *qedblk_attr_groups[];

/* qed_io.c */
extern const struct blk_mq_ops qedblk_mq_ops;
void qedblk_queue_work(struct work_struct *work);

#endif /* QED_H */
