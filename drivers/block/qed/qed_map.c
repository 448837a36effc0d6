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
	const struct qedblk_geom *g = &img->geom;
	u64 cs = g->cluster_size;
	u64 l1i = qedblk_l1_index(g, pos);
	u32 l2i = qedblk_l2_index(g, pos);
	u32 first, last, i;
	u64 table, entry, span, next, file_end;
	struct qedblk_l2_chunk *chunk;
	enum qedblk_entry_error err;

	/* Never past the page of L2 entries that holds pos. */
	last = (l2i | (QED_CHUNK_ENTRIES - 1));
	if (last >= g->table_entries)
		last = g->table_entries - 1;
	span = ((u64)(last - l2i + 1) << g->cluster_shift) - qedblk_offset_in_cluster(g, pos);
	len = min(len, span);

	table = le64_to_cpu(READ_ONCE(img->l1[l1i]));
	if (table == QED_ENTRY_UNALLOCATED) {
		m->type = QED_MAP_UNALLOC;
		m->len = len;
		return 0;
	}
	/*
	 * An allocation raises file_end before it publishes an entry
	 * (qedblk_l2_set()): read the end only after the entry, or a fresh entry
	 * would look past it.
	 */
	smp_rmb();
	file_end = READ_ONCE(img->file_end);
	err = qedblk_validate_table_offset(g, table, file_end);
	if (err) {
		qedblk_bad_entry(img, "L1", pos, table, err);
		return -EIO;
	}

	first = l2i & ~(QED_CHUNK_ENTRIES - 1);
	chunk = qedblk_l2cache_get(img, table + (u64)first * 8);
	if (IS_ERR(chunk))
		return PTR_ERR(chunk);

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

	if (m->type == QED_MAP_DATA) {
		smp_rmb();	/* the entries before file_end: see above */
		file_end = READ_ONCE(img->file_end);
		/* Contiguous, so checking both ends checks the run. */
		err = qedblk_validate_cluster_offset(g, entry, file_end);
		if (err) {
			qedblk_bad_entry(img, "L2", pos, entry, err);
			return -EIO;
		}
		err = qedblk_validate_cluster_offset(g, next, file_end);
		if (err) {
			qedblk_bad_entry(img, "L2", pos + m->len - 1, next, err);
			return -EIO;
		}
		m->file_off = entry + qedblk_offset_in_cluster(g, pos);
	}
	return 0;
}
