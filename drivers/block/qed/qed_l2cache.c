// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded cache of L2 table chunks.
 *
 * L2 tables may be as large as 1 GiB (64 MiB clusters, 16 per table), so the
 * cache does not hold whole tables: its unit is a chunk, QED_CHUNK_BYTES of
 * entries (512 clusters) in a page of its own, keyed by the chunk's offset
 * in the image file.  That bounds the memory a hostile geometry can cost
 * and makes a miss one 4 KiB read.
 *
 * Entries are kept write-through: every change is written to the file by
 * qed_table.c under alloc_lock before the lock is dropped, so an entry
 * can be dropped at any time once nobody holds a reference.
 *
 * A hit takes no lock: the hash is searched under RCU and the chunk taken
 * with refcount_inc_not_zero(); it only marks the chunk REFERENCED, and
 * eviction gives such chunks a second chance (the clock algorithm) instead
 * of keeping an exact LRU order that every hit would have to lock.  A
 * chunk is evicted by taking its count from one (the cache's own) to zero,
 * so a lookup racing with the eviction either got its reference first or
 * fails and takes the slow path; chunks are freed after a grace period.
 * The locks and barriers are those of "Locking" in qed.h.
 *
 * A miss must not fail a guest's I/O with ENOMEM, so chunks come from the
 * device's chunk_pool.  Its reserve ends up in the caches; when neither
 * the allocator nor the reserve has a chunk, the oldest unused chunks of
 * the device's caches go back to the reserve.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/wait.h>
#include <linux/mempool.h>

#include "qed.h"

static struct kmem_cache *qedblk_chunk_cache;

/**
 * qedblk_l2cache_init() - create the slab cache of chunk structs, at module load
 *
 * Return: 0 or -ENOMEM.
 */
int qedblk_l2cache_init(void)
{
	qedblk_chunk_cache = kmem_cache_create("qedblk_l2_chunk",
					       sizeof(struct qedblk_l2_chunk), 0, 0, NULL);
	return qedblk_chunk_cache ? 0 : -ENOMEM;
}

/**
 * qedblk_l2cache_exit() - destroy what qedblk_l2cache_init() created, at module unload
 */
void qedblk_l2cache_exit(void)
{
	rcu_barrier();		/* chunks still waiting for qedblk_chunk_free_rcu() */
	kmem_cache_destroy(qedblk_chunk_cache);
}

/**
 * qedblk_l2cache_setup() - initialise an empty L2 cache
 * @c: the cache, in its image
 * @max: how many chunks it may keep; at least 4 are
 */
void qedblk_l2cache_setup(struct qedblk_l2cache *c, unsigned int max)
{
	spin_lock_init(&c->lock);
	hash_init(c->hash);
	INIT_LIST_HEAD(&c->lru);
	init_waitqueue_head(&c->wait);
	c->count = 0;
	c->max = max(max, 4u);
	atomic64_set(&c->hits, 0);
	atomic64_set(&c->misses, 0);
	atomic64_set(&c->evictions, 0);
}

/* Enough for the misses of a few workers at once; eviction does the rest. */
#define QED_CHUNK_RESERVE	4

static void *qedblk_chunk_pool_alloc(gfp_t gfp, void *data)
{
	struct qedblk_l2_chunk *chunk = kmem_cache_alloc(qedblk_chunk_cache, gfp);

	if (!chunk)
		return NULL;
	chunk->entries = (__le64 *)__get_free_page(gfp);
	if (!chunk->entries) {
		kmem_cache_free(qedblk_chunk_cache, chunk);
		return NULL;
	}
	return chunk;
}

static void qedblk_chunk_pool_free(void *element, void *data)
{
	struct qedblk_l2_chunk *chunk = element;

	free_page((unsigned long)chunk->entries);
	kmem_cache_free(qedblk_chunk_cache, chunk);
}

/**
 * qedblk_chunk_pool_create() - a device's reserve of chunks for every cache of its chain
 *
 * Return: the pool, or NULL without memory.
 */
mempool_t *qedblk_chunk_pool_create(void)
{
	return mempool_create(QED_CHUNK_RESERVE, qedblk_chunk_pool_alloc, qedblk_chunk_pool_free,
			      NULL);
}

/**
 * qedblk_chunk_pool_destroy() - free a chunk pool once its caches are destroyed
 * @pool: the pool, or NULL
 */
void qedblk_chunk_pool_destroy(mempool_t *pool)
{
	if (!pool)
		return;
	rcu_barrier();		/* chunks on their way back through qedblk_chunk_free_rcu() */
	mempool_destroy(pool);
}

static void qedblk_chunk_free(struct qedblk_l2_chunk *chunk)
{
	mempool_free(chunk, chunk->pool);
}

static void qedblk_chunk_free_rcu(struct rcu_head *head)
{
	qedblk_chunk_free(container_of(head, struct qedblk_l2_chunk, rcu));
}

/* Under c->lock every chunk in the hash has a count >= 1. */
static struct qedblk_l2_chunk *qedblk_chunk_find(struct qedblk_l2cache *c, u64 off)
{
	struct qedblk_l2_chunk *chunk;

	lockdep_assert_held(&c->lock);
	hash_for_each_possible(c->hash, chunk, hnode, off)
		if (chunk->offset == off)
			return chunk;
	return NULL;
}

/* The lock-free hit: a referenced chunk, or NULL for the slow path. */
static struct qedblk_l2_chunk *qedblk_chunk_find_rcu(struct qedblk_l2cache *c, u64 off)
{
	struct qedblk_l2_chunk *chunk, *found = NULL;

	rcu_read_lock();
	hash_for_each_possible_rcu(c->hash, chunk, hnode, off) {
		if (chunk->offset == off && refcount_inc_not_zero(&chunk->ref)) {
			found = chunk;
			break;
		}
	}
	rcu_read_unlock();
	if (found && !test_bit(QED_CHUNK_REFERENCED, &found->flags))
		set_bit(QED_CHUNK_REFERENCED, &found->flags);
	return found;
}

/*
 * Move @chunk to @victims if only the cache's own reference is left
 * (nobody uses it).  Returns whether it did.
 */
static bool qedblk_chunk_evict(struct qedblk_l2cache *c, struct qedblk_l2_chunk *chunk,
			       struct list_head *victims)
{
	lockdep_assert_held(&c->lock);
	if (!refcount_dec_if_one(&chunk->ref))
		return false;
	hash_del_rcu(&chunk->hnode);
	list_move(&chunk->lru, victims);
	WRITE_ONCE(c->count, c->count - 1);
	atomic64_inc(&c->evictions);
	return true;
}

/*
 * Unlink unused chunks past the bound, oldest first, giving recently
 * referenced ones a second chance.  Hits keep marking chunks without the
 * lock, so the scan is bounded.
 */
static void qedblk_l2cache_shrink(struct qedblk_l2cache *c, struct list_head *victims)
{
	struct qedblk_l2_chunk *chunk, *next;
	unsigned int budget = 2 * c->count;

	lockdep_assert_held(&c->lock);
	list_for_each_entry_safe(chunk, next, &c->lru, lru) {
		if (c->count <= c->max || !budget--)
			break;
		if (test_and_clear_bit(QED_CHUNK_REFERENCED, &chunk->flags)) {
			list_move_tail(&chunk->lru, &c->lru);
			continue;
		}
		qedblk_chunk_evict(c, chunk, victims);
	}
}

/* Publish @chunk, set up; what it pushes out goes to @victims. */
static void qedblk_l2cache_insert(struct qedblk_l2cache *c, struct qedblk_l2_chunk *chunk,
				  struct list_head *victims)
{
	lockdep_assert_held(&c->lock);
	hash_add_rcu(c->hash, &chunk->hnode, chunk->offset);
	list_add_tail(&chunk->lru, &c->lru);
	WRITE_ONCE(c->count, c->count + 1);
	qedblk_l2cache_shrink(c, victims);
}

/* What qedblk_l2cache_insert() pushed out: lock-free lookups may still see it. */
static void qedblk_free_victims(struct list_head *victims)
{
	struct qedblk_l2_chunk *v, *next;

	list_for_each_entry_safe(v, next, victims, lru)
		call_rcu(&v->rcu, qedblk_chunk_free_rcu);
}

/*
 * Give up to @want chunks of @c that nobody uses back to their pool, oldest
 * first, after a grace period (lock-free lookups may still look at them).
 * Returns how many.
 */
static unsigned int qedblk_l2cache_evict(struct qedblk_l2cache *c, unsigned int want)
{
	struct qedblk_l2_chunk *chunk, *next;
	unsigned int n = 0;
	LIST_HEAD(victims);

	spin_lock(&c->lock);
	list_for_each_entry_safe(chunk, next, &c->lru, lru) {
		if (n == want)
			break;
		n += qedblk_chunk_evict(c, chunk, &victims);
	}
	spin_unlock(&c->lock);
	qedblk_free_victims(&victims);
	return n;
}

/*
 * Never NULL, never ENOMEM: a chunk from the allocator or the reserve; else
 * the reserve is in the caches of the device's files, so some of their
 * unused chunks go back to it (after a grace period), or the requests that
 * hold them put them back soon: look again a jiffy later.  No blocking
 * mempool_alloc(): a chunk given back may go to another waiter, and only
 * this loop gives more back.
 */
static struct qedblk_l2_chunk *qedblk_chunk_alloc(struct qedblk_image *img, u64 off)
{
	struct qedblk_device *qed = img->qed;
	struct qedblk_l2_chunk *chunk;
	unsigned int i, freed;
	__le64 *entries;

	for (;;) {
		chunk = mempool_alloc(qed->chunk_pool, GFP_NOIO & ~__GFP_DIRECT_RECLAIM);
		if (chunk)
			break;
		freed = qedblk_l2cache_evict(&qed->top.l2, 1);
		for (i = 0; i < qed->nr_backing && !freed; i++)
			freed = qedblk_l2cache_evict(&qed->chain[i].l2, 1);
		schedule_timeout_uninterruptible(1);
	}
	entries = chunk->entries;
	memset(chunk, 0, sizeof(*chunk));
	chunk->entries = entries;
	clear_page(entries);
	chunk->pool = qed->chunk_pool;
	chunk->offset = off;
	refcount_set(&chunk->ref, 2);	/* the cache's and the caller's */
	return chunk;
}

/**
 * qedblk_l2cache_get() - find or load a chunk of an L2 table
 * @img: the file the table is in
 * @off: the chunk's offset in that file, QED_CHUNK_BYTES aligned
 *
 * Concurrent callers for the same chunk wait for one load.  May sleep.
 *
 * Return: the chunk, with a reference for qedblk_l2cache_put(), or an
 * ERR_PTR() of the load's error.
 */
struct qedblk_l2_chunk *qedblk_l2cache_get(struct qedblk_image *img, u64 off)
{
	struct qedblk_l2cache *c = &img->l2;
	struct qedblk_l2_chunk *chunk, *fresh;
	LIST_HEAD(victims);
	int err;

	might_sleep();		/* a miss reads the file, a hit may wait for one */
	chunk = qedblk_chunk_find_rcu(c, off);
	if (chunk) {
		atomic64_inc(&c->hits);
		goto wait;
	}

	fresh = qedblk_chunk_alloc(img, off);
	set_bit(QED_CHUNK_LOADING, &fresh->flags);

	spin_lock(&c->lock);
	chunk = qedblk_chunk_find(c, off);
	if (chunk) {
		/* Somebody else inserted it meanwhile. */
		refcount_inc(&chunk->ref);
		spin_unlock(&c->lock);
		qedblk_chunk_free(fresh);
		atomic64_inc(&c->hits);
		goto wait;
	}
	qedblk_l2cache_insert(c, fresh, &victims);
	spin_unlock(&c->lock);
	qedblk_free_victims(&victims);
	atomic64_inc(&c->misses);

	err = qedblk_file_read(img->file, off, fresh->entries, QED_CHUNK_BYTES);
	fresh->error = err;
	if (err) {
		/* Do not keep a failed load: the next lookup tries again. */
		spin_lock(&c->lock);
		hash_del_rcu(&fresh->hnode);
		list_del_init(&fresh->lru);
		WRITE_ONCE(c->count, c->count - 1);
		refcount_dec(&fresh->ref);
		spin_unlock(&c->lock);
	}
	clear_bit_unlock(QED_CHUNK_LOADING, &fresh->flags);
	wake_up_all(&c->wait);
	if (err) {
		qedblk_l2cache_put(fresh);
		return ERR_PTR(err);
	}
	return fresh;

wait:
	/*
	 * Acquire, pairing with the loader's clear_bit_unlock(): its entries
	 * and error are seen.  smp_mb__after_atomic() would not do: it orders
	 * only after an atomic read-modify-write, and test_bit() is a load.
	 */
	wait_event(c->wait, !test_bit_acquire(QED_CHUNK_LOADING, &chunk->flags));
	if (chunk->error) {
		err = chunk->error;
		qedblk_l2cache_put(chunk);
		return ERR_PTR(err);
	}
	return chunk;
}

/**
 * qedblk_l2cache_peek() - a chunk of an L2 table, only if it is cached
 * @img: the file the table is in
 * @off: the chunk's offset in that file, QED_CHUNK_BYTES aligned
 *
 * For a context that must not sleep on a load: a chunk still loading, or
 * whose load failed, is not returned either.  A hit counts as one; a
 * miss does not, the qedblk_l2cache_get() that follows counts it.
 *
 * Return: the chunk, with a reference for qedblk_l2cache_put(), or NULL.
 */
struct qedblk_l2_chunk *qedblk_l2cache_peek(struct qedblk_image *img, u64 off)
{
	struct qedblk_l2_chunk *chunk = qedblk_chunk_find_rcu(&img->l2, off);

	if (!chunk)
		return NULL;
	/* Acquire, as in qedblk_l2cache_get(): the loader's entries are seen. */
	if (test_bit_acquire(QED_CHUNK_LOADING, &chunk->flags) || chunk->error) {
		qedblk_l2cache_put(chunk);
		return NULL;
	}
	atomic64_inc(&img->l2.hits);
	return chunk;
}

/**
 * qedblk_l2cache_new() - cache a chunk of an L2 table just allocated
 * @img: the attached image
 * @off: the chunk's offset in its file
 *
 * The chunk is zeros, nothing to read.  Under alloc_lock @off lies past
 * every offset that was ever valid to look up, so it cannot be cached
 * already; check all the same.
 *
 * Return: the chunk, with a reference for qedblk_l2cache_put(), or
 * ERR_PTR(-EEXIST).
 */
struct qedblk_l2_chunk *qedblk_l2cache_new(struct qedblk_image *img, u64 off)
{
	struct qedblk_l2cache *c = &img->l2;
	struct qedblk_l2_chunk *chunk;
	LIST_HEAD(victims);
	bool found;

	lockdep_assert_held(&img->qed->alloc_lock);
	chunk = qedblk_chunk_alloc(img, off);
	spin_lock(&c->lock);
	found = qedblk_chunk_find(c, off);
	if (!found)
		qedblk_l2cache_insert(c, chunk, &victims);
	spin_unlock(&c->lock);
	qedblk_free_victims(&victims);
	if (found) {
		qedblk_chunk_free(chunk);
		return ERR_PTR(-EEXIST);
	}
	return chunk;
}

/**
 * qedblk_l2cache_put() - drop a reference from qedblk_l2cache_get() or _new()
 * @chunk: the chunk
 */
void qedblk_l2cache_put(struct qedblk_l2_chunk *chunk)
{
	/* The last reference goes only for chunks already out of the cache. */
	if (refcount_dec_and_test(&chunk->ref))
		call_rcu(&chunk->rcu, qedblk_chunk_free_rcu);
}

/**
 * qedblk_l2cache_destroy() - give all chunks of a cache back to their pool
 * @c: the cache, which nobody looks up any more
 */
void qedblk_l2cache_destroy(struct qedblk_l2cache *c)
{
	struct qedblk_l2_chunk *chunk, *next;

	/*
	 * Nobody looks up any more; these go back through RCU all the same,
	 * as evicted chunks still on their way do: qedblk_chunk_pool_destroy()
	 * waits for all of them.
	 */
	list_for_each_entry_safe(chunk, next, &c->lru, lru) {
		hash_del_rcu(&chunk->hnode);
		list_del(&chunk->lru);
		call_rcu(&chunk->rcu, qedblk_chunk_free_rcu);
	}
	WRITE_ONCE(c->count, 0);
}
