// SPDX-License-Identifier: GPL-2.0
/*
 * The tables: the L1 table (held whole in memory) and the L2 tables
 * (through the page cache of qed_l2cache.c), read and written here.
 * Table entries come from the image file and are checked on every use: a
 * bad one fails only the I/O that meets it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/ratelimit.h>

#include "qed.h"

/**
 * qedblk_l1_bytes_for() - the size of the L1 table held in memory
 * @g: the image's geometry
 *
 * The entries that cover the image, in whole sectors, so that one entry's
 * update is a sector write.
 *
 * Return: the size in bytes, 0 for an empty image.
 */
u32 qedblk_l1_bytes_for(const struct qedblk_geom *g)
{
	return round_up((u32)g->l1_entries_used * 8, 512);
}

/**
 * qedblk_l1_load() - read the L1 table of a QED image into memory
 * @img: the image, its header loaded
 *
 * Return: 0, -ENOMEM, or the error of the read; img->l1 is NULL on error.
 */
int qedblk_l1_load(struct qedblk_image *img)
{
	const struct qedblk_geom *g = &img->geom;
	u32 bytes = qedblk_l1_bytes_for(g);
	int ret;

	img->l1 = NULL;
	img->l1_bytes = bytes;
	if (!bytes)
		return 0;
	img->l1 = kvzalloc(bytes, GFP_KERNEL);
	if (!img->l1)
		return -ENOMEM;
	ret = qedblk_file_read(img->file, g->l1_table_offset, img->l1, bytes);
	if (ret) {
		kvfree(img->l1);
		img->l1 = NULL;
	}
	return ret;
}

/**
 * qedblk_l1_free() - free the L1 table in memory
 * @img: the image
 */
void qedblk_l1_free(struct qedblk_image *img)
{
	kvfree(img->l1);
	img->l1 = NULL;
}

/**
 * qedblk_bad_entry() - report a table entry that fails validation
 * @img: the file whose table holds the entry
 * @what: "L1" or "L2"
 * @pos: the guest offset (or @img's own offset, in a backing file) looked up
 * @entry: the entry as read
 * @err: what is wrong with it
 *
 * Rate-limited: a guest can meet the same bad entry at will.
 */
void qedblk_bad_entry(struct qedblk_image *img, const char *what, u64 pos, u64 entry,
		      enum qedblk_entry_error err)
{
	/* A backing file has no guest offsets of its own: qedblk_printk() names it. */
	qedblk_err_ratelimited(img, "%s entry 0x%llx for %s offset 0x%llx: %s", what, entry,
			       img->depth ? "its" : "guest", pos, qedblk_entry_strerror(err));
}

/*
 * Write the entries [from, to) of the table page @cached (at file offset
 * @off) as @value, @value + @step, ..., and only then publish them in
 * the cache.  The sectors are built in qed->table_buf: an entry another
 * request can see is always one that is on disk (in the file), so a failed
 * write can never take back an entry whose cluster someone already wrote
 * to.  alloc_lock, which every change of a table takes, keeps the
 * buffer ours.
 */
static int qedblk_table_update(struct qedblk_image *img, __le64 *cached, u64 off, u32 from,
			       u32 to, u64 value, u64 step)
{
	struct qedblk_device *qed = img->qed;
	u32 s = round_down(from * 8, 512), e = round_up(to * 8, 512);
	__le64 *buf = (__le64 *)qed->table_buf - s / 8;
	u32 i;
	int ret;

	lockdep_assert_held(&qed->alloc_lock);
	memcpy(qed->table_buf, (u8 *)cached + s, e - s);
	for (i = from; i < to; i++)
		buf[i] = cpu_to_le64(value + (i - from) * step);
	ret = qedblk_file_write(img->file, off + s, qed->table_buf, e - s);
	if (ret)
		return ret;
	/* file_end covers what the entries point at: qedblk_map_range(). */
	smp_wmb();
	for (i = from; i < to; i++)
		WRITE_ONCE(cached[i], buf[i]);
	return 0;
}

/*
 * Make an L2 table for L1 entry @l1i at the end of the file and point L1 at
 * it.  Returns the cached page of the new table at byte @page_off, put
 * there before any reader can find the table.
 */
static struct qedblk_l2_chunk *qedblk_l2_create(struct qedblk_image *img, u64 l1i, u64 page_off)
{
	struct qedblk_l2_chunk *chunk;
	const struct qedblk_geom *g = &img->geom;
	u64 table = img->file_end;
	int ret;

	lockdep_assert_held(&img->qed->alloc_lock);
	WRITE_ONCE(img->file_end, table + g->table_bytes);
	ret = qedblk_file_zero_new(img, table, g->table_bytes, false);
	if (ret)
		return ERR_PTR(ret);
	/* The table must be durable before an L1 entry can point at it. */
	ret = qedblk_file_flush_range(img, table, g->table_bytes);
	if (ret)
		return ERR_PTR(ret);
	chunk = qedblk_l2cache_new(img, table + page_off);
	if (IS_ERR(chunk))
		return chunk;
	/* The cached page is in place before L1 leads a reader to it. */
	ret = qedblk_table_update(img, img->l1, g->l1_table_offset, l1i, l1i + 1,
				  table, 0);
	if (ret) {
		qedblk_l2cache_put(chunk);
		return ERR_PTR(ret);
	}
	return chunk;
}

/**
 * qedblk_l2_set() - point clusters of the attached image at new places
 * @qed: the device
 * @pos: guest offset of the first cluster, cluster-aligned
 * @nr: clusters, all in one page of one L2 table
 * @first_off: file offset of the first cluster's data, the others following
 *	it; or QED_ENTRY_UNALLOCATED or QED_ENTRY_ZERO for all of them
 *
 * The caller has written the clusters' data.  An L2 table that does not
 * exist yet is made, at the end of the file, and L1 pointed at it.
 *
 * Return: 0, -EIO for a bad L1 entry, or the error of a table write.
 */
int qedblk_l2_set(struct qedblk_device *qed, u64 pos, u32 nr, u64 first_off)
{
	struct qedblk_image *img = &qed->top;
	const struct qedblk_geom *g = &img->geom;
	u64 l1i = qedblk_l1_index(g, pos);
	u32 l2i = qedblk_l2_index(g, pos);
	u32 first = l2i & ~(QED_CHUNK_ENTRIES - 1);
	u64 table = le64_to_cpu(img->l1[l1i]);
	u64 step = first_off <= QED_ENTRY_ZERO ? 0 : g->cluster_size;
	struct qedblk_l2_chunk *chunk;
	enum qedblk_entry_error err;
	int ret;

	lockdep_assert_held(&qed->alloc_lock);
	if (table == QED_ENTRY_UNALLOCATED) {
		chunk = qedblk_l2_create(img, l1i, (u64)first * 8);
	} else {
		err = qedblk_validate_table_offset(g, table, img->file_end);
		if (err) {
			qedblk_bad_entry(img, "L1", pos, table, err);
			chunk = ERR_PTR(-EIO);
		} else {
			chunk = qedblk_l2cache_get(img, table + (u64)first * 8);
		}
	}
	if (IS_ERR(chunk))
		return PTR_ERR(chunk);
	ret = qedblk_table_update(img, chunk->entries, chunk->offset, l2i - first,
				  l2i - first + nr, first_off, step);
	qedblk_l2cache_put(chunk);
	return ret;
}
