// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded cache of L2 table pages.
 *
 * L2 tables may be as large as 1 GiB (64 MiB clusters, 16 per table), so the
 * cache does not hold whole tables: its unit is one page of entries (512
 * clusters), keyed by the page's offset in the image file.  That bounds the
 * memory a hostile geometry can cost and makes a miss one 4 KiB read.
 *
 * Entries are kept write-through: every change is written to the file by
 * qed_table.c under alloc_lock before the lock is dropped, so an entry
 * can be dropped at any time once nobody holds a reference.
 */
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/wait.h>

#include "qed.h"

static struct kmem_cache *qed_chunk_cache;

int qed_l2cache_init(void)
{
	qed_chunk_cache = kmem_cache_create("qed_l2_chunk",
					    sizeof(struct qed_l2_chunk), 0, 0, NULL);
	return qed_chunk_cache ? 0 : -ENOMEM;
}

void qed_l2cache_exit(void)
{
	kmem_cache_destroy(qed_chunk_cache);
}

void qed_l2cache_setup(struct qed_l2cache *c, unsigned int max)
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

static void qed_chunk_free(struct qed_l2_chunk *chunk)
{
	free_page((unsigned long)chunk->entries);
	kmem_cache_free(qed_chunk_cache, chunk);
}

static struct qed_l2_chunk *qed_chunk_alloc(u64 off)
{
	struct qed_l2_chunk *chunk;

	chunk = kmem_cache_zalloc(qed_chunk_cache, GFP_NOIO);
	if (!chunk)
		return NULL;
	chunk->entries = (__le64 *)get_zeroed_page(GFP_NOIO);
	if (!chunk->entries) {
		kmem_cache_free(qed_chunk_cache, chunk);
		return NULL;
	}
	chunk->offset = off;
	refcount_set(&chunk->ref, 2);	/* the cache's and the caller's */
	return chunk;
}

static struct qed_l2_chunk *qed_chunk_find(struct qed_l2cache *c, u64 off)
{
	struct qed_l2_chunk *chunk;

	hash_for_each_possible(c->hash, chunk, hnode, off)
		if (chunk->offset == off)
			return chunk;
	return NULL;
}

/* Called with c->lock held; unlinks unreferenced chunks past the bound. */
static void qed_l2cache_shrink(struct qed_l2cache *c, struct list_head *victims)
{
	struct qed_l2_chunk *chunk, *next;

	list_for_each_entry_safe(chunk, next, &c->lru, lru) {
		if (c->count <= c->max)
			break;
		/* Only the cache's own reference left: nobody uses it. */
		if (refcount_read(&chunk->ref) != 1)
			continue;
		hash_del(&chunk->hnode);
		list_move(&chunk->lru, victims);
		c->count--;
		atomic64_inc(&c->evictions);
	}
}

/* Called with c->lock held; what it pushes out goes to @victims. */
static void qed_l2cache_insert(struct qed_l2cache *c, struct qed_l2_chunk *chunk,
			       struct list_head *victims)
{
	hash_add(c->hash, &chunk->hnode, chunk->offset);
	list_add_tail(&chunk->lru, &c->lru);
	c->count++;
	qed_l2cache_shrink(c, victims);
}

/* Free outside the lock what qed_l2cache_insert() pushed out. */
static void qed_free_victims(struct list_head *victims)
{
	struct qed_l2_chunk *v, *next;

	list_for_each_entry_safe(v, next, victims, lru)
		qed_chunk_free(v);
}

/*
 * Find or load the page of an L2 table at file offset @off.  Concurrent
 * callers for the same page wait for one load.  Returns a referenced chunk
 * or an ERR_PTR.
 */
struct qed_l2_chunk *qed_l2cache_get(struct qed_image *img, u64 off)
{
	struct qed_l2cache *c = &img->l2;
	struct qed_l2_chunk *chunk, *fresh;
	LIST_HEAD(victims);
	int err;

	spin_lock(&c->lock);
	chunk = qed_chunk_find(c, off);
	if (chunk) {
		refcount_inc(&chunk->ref);
		list_move_tail(&chunk->lru, &c->lru);
		spin_unlock(&c->lock);
		atomic64_inc(&c->hits);
		goto wait;
	}
	spin_unlock(&c->lock);

	fresh = qed_chunk_alloc(off);
	if (!fresh)
		return ERR_PTR(-ENOMEM);
	set_bit(QED_CHUNK_LOADING, &fresh->flags);

	spin_lock(&c->lock);
	chunk = qed_chunk_find(c, off);
	if (chunk) {
		/* Somebody else inserted it meanwhile. */
		refcount_inc(&chunk->ref);
		spin_unlock(&c->lock);
		qed_chunk_free(fresh);
		atomic64_inc(&c->hits);
		goto wait;
	}
	qed_l2cache_insert(c, fresh, &victims);
	spin_unlock(&c->lock);
	qed_free_victims(&victims);
	atomic64_inc(&c->misses);

	err = qed_file_read(img->file, off, fresh->entries, QED_CHUNK_BYTES);
	fresh->error = err;
	if (err) {
		/* Do not keep a failed load: the next lookup tries again. */
		spin_lock(&c->lock);
		hash_del(&fresh->hnode);
		list_del_init(&fresh->lru);
		c->count--;
		refcount_dec(&fresh->ref);
		spin_unlock(&c->lock);
	}
	clear_bit_unlock(QED_CHUNK_LOADING, &fresh->flags);
	wake_up_all(&c->wait);
	if (err) {
		qed_l2cache_put(fresh);
		return ERR_PTR(err);
	}
	return fresh;

wait:
	wait_event(c->wait, !test_bit(QED_CHUNK_LOADING, &chunk->flags));
	/* Pairs with clear_bit_unlock(): see the loader's entries. */
	smp_mb__after_atomic();
	if (chunk->error) {
		err = chunk->error;
		qed_l2cache_put(chunk);
		return ERR_PTR(err);
	}
	return chunk;
}

/*
 * A page of a table that has just been allocated: zeros, nothing to read.
 * The caller holds alloc_lock and @off lies past every offset that was ever
 * valid to look up, so it cannot be cached already; check all the same.
 */
struct qed_l2_chunk *qed_l2cache_new(struct qed_image *img, u64 off)
{
	struct qed_l2cache *c = &img->l2;
	struct qed_l2_chunk *chunk = qed_chunk_alloc(off);
	LIST_HEAD(victims);
	bool found;

	if (!chunk)
		return ERR_PTR(-ENOMEM);
	spin_lock(&c->lock);
	found = qed_chunk_find(c, off);
	if (!found)
		qed_l2cache_insert(c, chunk, &victims);
	spin_unlock(&c->lock);
	qed_free_victims(&victims);
	if (found) {
		qed_chunk_free(chunk);
		return ERR_PTR(-EEXIST);
	}
	return chunk;
}

void qed_l2cache_put(struct qed_l2_chunk *chunk)
{
	/* The last reference goes only for chunks already out of the cache. */
	if (refcount_dec_and_test(&chunk->ref))
		qed_chunk_free(chunk);
}

void qed_l2cache_destroy(struct qed_l2cache *c)
{
	struct qed_l2_chunk *chunk, *next;

	list_for_each_entry_safe(chunk, next, &c->lru, lru) {
		hash_del(&chunk->hnode);
		list_del(&chunk->lru);
		qed_chunk_free(chunk);
	}
	c->count = 0;
}
