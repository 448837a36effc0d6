// SPDX-License-Identifier: GPL-2.0
/*
 * Translation, as QEMU's qed-cluster.c: what a range of guest addresses
 * maps to in one file of the chain, as runs of data, zero or unallocated
 * clusters.  Reads follow the runs down the chain (qed_backing.c, qed_io.c);
 * allocation asks again under alloc_lock (qed_alloc.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "qed.h"

static enum qedblk_map_type qedblk_entry_type(u64 entry)
{
	if (entry == QED_ENTRY_UNALLOCATED)
		return QED_MAP_UNALLOC;
	if (entry == QED_ENTRY_ZERO)
		return QED_MAP_ZERO;
	return QED_MAP_DATA;
}

/* The last L2 index a run from @l2i may reach: its page of entries ends it. */
static u32 qedblk_last_in_chunk(const struct qedblk_geom *g, u32 l2i)
{
	u32 last = l2i | (QED_CHUNK_ENTRIES - 1);

	if (last >= g->table_entries)
		last = g->table_entries - 1;
	return last;
}

/*
 * Set @table to the L1 entry for @pos: the offset of its L2 table, or
 * QED_ENTRY_UNALLOCATED.  Return: 0, or -EIO for an offset that is not one
 * of a table inside the file.
 */
static int qedblk_l1_lookup(struct qedblk_image *img, u64 pos, u64 *table)
{
	const struct qedblk_geom *g = &img->geom;
	enum qedblk_entry_error err;
	u64 file_end;

	*table = le64_to_cpu(READ_ONCE(img->l1[qedblk_l1_index(g, pos)]));
	if (*table == QED_ENTRY_UNALLOCATED)
		return 0;
	/*
	 * An allocation raises file_end before it publishes an entry
	 * (qedblk_l2_set()): read the end only after the entry, or a fresh entry
	 * would look past it.
	 */
	smp_rmb();
	file_end = READ_ONCE(img->file_end);
	err = qedblk_validate_table_offset(g, *table, file_end);
	if (err) {
		qedblk_bad_entry(img, "L1", pos, *table, err);
		return -EIO;
	}
	return 0;
}

/*
 * A data run from @pos, @len bytes, is contiguous in the file, so checking
 * the entries of its first and last cluster checks it all.
 * Return: 0, or -EIO for an entry outside the file.
 */
static int qedblk_check_data_run(struct qedblk_image *img, u64 pos, u64 len, u64 first,
				 u64 last)
{
	const struct qedblk_geom *g = &img->geom;
	enum qedblk_entry_error err;
	u64 file_end;

	smp_rmb();	/* the entries before file_end: see qedblk_l1_lookup() */
	file_end = READ_ONCE(img->file_end);
	err = qedblk_validate_cluster_offset(g, first, file_end);
	if (err) {
		qedblk_bad_entry(img, "L2", pos, first, err);
		return -EIO;
	}
	err = qedblk_validate_cluster_offset(g, last, file_end);
	if (err) {
		qedblk_bad_entry(img, "L2", pos + len - 1, last, err);
		return -EIO;
	}
	return 0;
}

static int qedblk_map(struct qedblk_image *img, u64 pos, u64 len, struct qedblk_map *m,
		      bool cached)
{
	const struct qedblk_geom *g = &img->geom;
	u64 cs = g->cluster_size;
	u32 l2i = qedblk_l2_index(g, pos);
	u32 first, last, i;
	u64 table, entry, span, next;
	struct qedblk_l2_chunk *chunk;
	int ret;

	/* Never past the page of L2 entries that holds pos. */
	last = qedblk_last_in_chunk(g, l2i);
	span = ((u64)(last - l2i + 1) << g->cluster_shift) - qedblk_offset_in_cluster(g, pos);
	len = min(len, span);

	ret = qedblk_l1_lookup(img, pos, &table);
	if (ret)
		return ret;
	if (table == QED_ENTRY_UNALLOCATED) {
		m->type = QED_MAP_UNALLOC;
		m->len = len;
		return 0;
	}

	first = l2i & ~(QED_CHUNK_ENTRIES - 1);
	if (cached) {
		chunk = qedblk_l2cache_peek(img, table + (u64)first * 8);
		if (!chunk)
			return -EAGAIN;
	} else {
		chunk = qedblk_l2cache_get(img, table + (u64)first * 8);
		if (IS_ERR(chunk))
			return PTR_ERR(chunk);
	}

	entry = le64_to_cpu(READ_ONCE(chunk->entries[l2i - first]));
	m->type = qedblk_entry_type(entry);
	m->len = min(len, cs - qedblk_offset_in_cluster(g, pos));
	/* Extend over following clusters of the same kind. */
	next = entry;
	for (i = l2i + 1; m->len < len && i <= last; i++) {
		u64 e = le64_to_cpu(READ_ONCE(chunk->entries[i - first]));

		if (qedblk_entry_type(e) != m->type)
			break;
		if (m->type == QED_MAP_DATA && e != next + cs)
			break;
		next = e;
		m->len = min(len, m->len + cs);
	}
	qedblk_l2cache_put(chunk);

	if (m->type != QED_MAP_DATA)
		return 0;
	ret = qedblk_check_data_run(img, pos, m->len, entry, next);
	if (ret)
		return ret;
	m->file_off = entry + qedblk_offset_in_cluster(g, pos);
	return 0;
}

/**
 * qedblk_map_range() - translate a guest range of one file of the chain
 * @img: the file, a QED image
 * @pos: guest offset (an offset of @img's own, in a backing file)
 * @len: bytes wanted from @pos
 * @m: filled with what [pos, pos + m->len) maps to, m->len <= @len
 *
 * A run of clusters is reported at once when they are of one kind and, for
 * data, contiguous in the file; a run never crosses one page of an L2
 * table.  May sleep to load a table page.
 *
 * Return: 0, -EIO for a bad table entry, or the error of loading a table.
 */
int qedblk_map_range(struct qedblk_image *img, u64 pos, u64 len, struct qedblk_map *m)
{
	return qedblk_map(img, pos, len, m, false);
}

/**
 * qedblk_map_range_cached() - qedblk_map_range() without sleeping
 * @img: the file, a QED image
 * @pos: guest offset
 * @len: bytes wanted from @pos
 * @m: filled as by qedblk_map_range()
 *
 * For qedblk_queue_rq(), which must not wait for a table load.
 *
 * Return: 0, -EAGAIN when the L2 entries needed are not in the cache, or
 * -EIO for a bad table entry.
 */
int qedblk_map_range_cached(struct qedblk_image *img, u64 pos, u64 len, struct qedblk_map *m)
{
	return qedblk_map(img, pos, len, m, true);
}
