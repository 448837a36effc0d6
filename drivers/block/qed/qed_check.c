// SPDX-License-Identifier: GPL-2.0
/*
 * QED consistency check, in the manner of QEMU's block/qed-check.c but with
 * an exact leak count: every cluster of the file is marked once by what
 * refers to it (header, L1, each L2 table, each data cluster); a second
 * mark is a corruption, no mark is a leak.
 *
 * Tables are read a piece at a time, so that a hostile geometry (1 GiB
 * tables) costs no more memory than the bitmap of the clusters.  The
 * bitmap covers the clusters up to the last one a table refers to, found
 * by a first walk: everything past it is unreferenced, so a huge sparse
 * file costs no more than its tables say.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "qed_check.h"

/* Bytes of table entries read (and, after a repair, written) at once. */
#define QED_CHECK_PIECE		65536u

struct qedblk_walk {
	const struct qedblk_geom *g;
	const struct qedblk_check_ops *ops;
	void *ctx;
	unsigned int flags;
	struct qedblk_check_result *res;
	u64 file_end;
	u8 *map;		/* NULL in the first walk: find max_ref only */
	u64 max_ref;		/* highest cluster a valid entry refers to */
	__le64 *l1;		/* one piece of the L1 table */
	__le64 *l2;		/* one piece of an L2 table */
};

static int qedblk_test_and_set(u8 *map, u64 n)
{
	int was = map[n / 8] & (1u << (n % 8));

	map[n / 8] |= 1u << (n % 8);
	return was;
}

/*
 * Mark @n clusters from byte offset @off; count what was marked already.
 * The first walk only notes the highest cluster.
 */
static u64 qedblk_walk_mark(struct qedblk_walk *w, u64 off, u64 n)
{
	u64 c = off >> w->g->cluster_shift, dup = 0;

	if (!w->map) {
		if (c + n - 1 > w->max_ref)
			w->max_ref = c + n - 1;
		return 0;
	}
	while (n--)
		dup += !!qedblk_test_and_set(w->map, c++);
	return dup;
}

/* Reading a piece: a check of a huge image can be stopped. */
static int qedblk_walk_read(struct qedblk_walk *w, u64 off, __le64 *buf, u32 len)
{
	if (w->ops->stopped && w->ops->stopped(w->ctx))
		return -EINTR;
	return w->ops->read(w->ctx, off, buf, len);
}

/* Entry @i of the piece @buf, read at @off, is invalid: count it, repair it. */
static void qedblk_walk_invalid(struct qedblk_walk *w, const char *table, __le64 *buf,
				u64 off, u32 i, enum qedblk_entry_error why, int *dirty)
{
	if (!w->map)
		return;
	w->res->corruptions++;
	w->res->invalid++;
	if (!(w->flags & QED_CHECK_REPAIR))
		return;
	if (w->ops->repaired)
		w->ops->repaired(w->ctx, table, off + (u64)i * 8,
				 le64_to_cpu(buf[i]), qedblk_entry_strerror(why));
	buf[i] = 0;
	w->res->repaired++;
	*dirty = 1;
}

/* Write back a repaired piece. */
static int qedblk_walk_put(struct qedblk_walk *w, const __le64 *buf, u64 off, u32 bytes,
			   int dirty)
{
	if (!dirty)
		return 0;
	return w->ops->write(w->ctx, off, buf, bytes);
}

static int qedblk_walk_l2(struct qedblk_walk *w, u64 table)
{
	const struct qedblk_geom *g = w->g;
	u32 per = QED_CHECK_PIECE / 8, i, n;
	u64 first, off, last = 0;
	int ret, dirty;

	for (first = 0; first < g->table_entries; first += per) {
		n = g->table_entries - first < per ? (u32)(g->table_entries - first) : per;
		off = table + first * 8;
		ret = qedblk_walk_read(w, off, w->l2, n * 8);
		if (ret)
			return ret;
		dirty = 0;
		for (i = 0; i < n; i++) {
			u64 e = le64_to_cpu(w->l2[i]);
			enum qedblk_entry_error err;

			if (e == QED_ENTRY_UNALLOCATED)
				continue;
			if (e == QED_ENTRY_ZERO) {
				w->res->zero_clusters += !!w->map;
				continue;
			}
			/* QEMU's qedblk_check_l2_table() counts invalid entries too. */
			w->res->fragmented += w->map && last && last + g->cluster_size != e;
			last = e;
			err = qedblk_validate_cluster_offset(g, e, w->file_end);
			if (err) {
				qedblk_walk_invalid(w, "L2", w->l2, off, i, err, &dirty);
				continue;
			}
			w->res->allocated += !!w->map;
			w->res->corruptions += qedblk_walk_mark(w, e, 1);
		}
		ret = qedblk_walk_put(w, w->l2, off, n * 8, dirty);
		if (ret)
			return ret;
	}
	return 0;
}

static int qedblk_walk_l1(struct qedblk_walk *w)
{
	const struct qedblk_geom *g = w->g;
	u32 per = QED_CHECK_PIECE / 8, i, n;
	u64 first, off, dup;
	int ret, dirty;

	for (first = 0; first < g->table_entries; first += per) {
		n = g->table_entries - first < per ? (u32)(g->table_entries - first) : per;
		off = g->l1_table_offset + first * 8;
		ret = qedblk_walk_read(w, off, w->l1, n * 8);
		if (ret)
			return ret;
		dirty = 0;
		for (i = 0; i < n; i++) {
			u64 t = le64_to_cpu(w->l1[i]);
			enum qedblk_entry_error err;

			if (t == QED_ENTRY_UNALLOCATED)
				continue;
			err = qedblk_validate_table_offset(g, t, w->file_end);
			if (err) {
				qedblk_walk_invalid(w, "L1", w->l1, off, i, err, &dirty);
				continue;
			}
			dup = qedblk_walk_mark(w, t, g->table_size);
			if (dup) {
				/*
				 * A table shared with something else: do not
				 * trust it.  Counted per cluster, as QEMU does.
				 */
				w->res->corruptions += dup;
				continue;
			}
			w->res->l2_tables += !!w->map;
			ret = qedblk_walk_l2(w, t);
			if (ret)
				return ret;
		}
		ret = qedblk_walk_put(w, w->l1, off, n * 8, dirty);
		if (ret)
			return ret;
	}
	return 0;
}

/* Cut off the leaked tail, punch the other leaks. */
static int qedblk_walk_reclaim(struct qedblk_walk *w, u64 nclusters, u64 file_size)
{
	const struct qedblk_geom *g = w->g;
	u64 c, run = 0;
	int ret;

	w->res->new_size = file_size;
	if (w->res->leak_tail || file_size != w->file_end) {
		u64 end = (nclusters - w->res->leak_tail) << g->cluster_shift;

		ret = w->ops->truncate(w->ctx, end);
		if (ret)
			return ret;
		w->res->new_size = end;
		nclusters -= w->res->leak_tail;
	}
	if (!w->ops->punch)
		return 0;
	for (c = g->header_size; c <= nclusters; c++) {
		if (c < nclusters && !(w->map[c / 8] & (1u << (c % 8)))) {
			run++;
			continue;
		}
		if (run) {
			ret = w->ops->punch(w->ctx, (c - run) << g->cluster_shift,
					    run << g->cluster_shift);
			if (ret < 0)
				return ret;
			/* A hole from an earlier repair is no news. */
			if (!ret)
				w->res->leaks_punched += run;
		}
		run = 0;
	}
	return 0;
}

/**
 * qedblk_check_image() - check, and optionally repair, a QED image
 * @g: the image's geometry, from qedblk_header_decode()
 * @file_size: the image file's length in bytes
 * @ops: how to read, write, allocate and free; the check does nothing else
 * @ctx: passed to every one of @ops
 * @flags: 0 to check only, or QED_CHECK_REPAIR or QED_CHECK_REPAIR_LEAKS
 * @res: what the check found; zeroed first
 *
 * With QED_CHECK_REPAIR, invalid table entries become unallocated, leaked
 * clusters at the end of the file are cut off and the others punched;
 * with QED_CHECK_REPAIR_LEAKS, only the leaks are.  Leaks are reclaimed
 * only in an image without corruption: only there is reclaiming safe.
 * Double references are reported, never guessed at.
 *
 * A repair needs the image to itself: nothing else may write it meanwhile
 * (the module repairs before the device takes requests, qedctl under
 * QEMU's image locks); a check of an image in use may report what a writer
 * is halfway through.  The check takes no lock and sleeps only where @ops
 * do.
 *
 * Return: 0 when the walk completed, @res saying what it found
 * (qedblk_check_clean() tells whether the image is consistent now); -ENOMEM
 * when @ops->zalloc failed, -EINTR when @ops->stopped said to stop, or the
 * error of a read, write, punch or truncate.
 */
int qedblk_check_image(const struct qedblk_geom *g, u64 file_size,
		       const struct qedblk_check_ops *ops, void *ctx, unsigned int flags,
		       struct qedblk_check_result *res)
{
	struct qedblk_walk w = {
		.g = g, .ops = ops, .ctx = ctx, .flags = flags, .res = res,
		.file_end = file_size & ~((u64)g->cluster_size - 1),
	};
	u64 nclusters = w.file_end >> g->cluster_shift;
	u64 c, mapped;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	res->clusters = nclusters;
	res->new_size = file_size;
	w.l1 = ops->zalloc(ctx, QED_CHECK_PIECE);
	w.l2 = ops->zalloc(ctx, QED_CHECK_PIECE);
	if (!w.l1 || !w.l2) {
		ret = -ENOMEM;
		goto out;
	}
	/* The first walk: how far the references reach. */
	w.max_ref = (g->l1_table_offset >> g->cluster_shift) + g->table_size - 1;
	ret = qedblk_walk_l1(&w);
	if (ret)
		goto out;
	mapped = w.max_ref + 1 < nclusters ? w.max_ref + 1 : nclusters;
	w.map = ops->zalloc(ctx, mapped / 8 + 1);
	if (!w.map) {
		ret = -ENOMEM;
		goto out;
	}

	qedblk_walk_mark(&w, 0, g->header_size);
	res->corruptions += qedblk_walk_mark(&w, g->l1_table_offset, g->table_size);
	ret = qedblk_walk_l1(&w);
	if (ret)
		goto out;

	for (c = g->header_size; c < mapped; c++) {
		if (!(w.map[c / 8] & (1u << (c % 8)))) {
			res->leaks++;
			res->leak_tail++;
		} else {
			res->leak_tail = 0;
		}
	}
	/* Past the last reference: all leaked, at the end of the file. */
	if (nclusters > mapped) {
		res->leaks += nclusters - mapped;
		res->leak_tail += nclusters - mapped;
	}
	/* Reclaiming space is safe only in an image without corruption. */
	if ((flags & (QED_CHECK_REPAIR | QED_CHECK_REPAIR_LEAKS)) && qedblk_check_clean(res))
		ret = qedblk_walk_reclaim(&w, nclusters, file_size);
out:
	if (w.map)
		ops->free(ctx, w.map);
	if (w.l1)
		ops->free(ctx, w.l1);
	if (w.l2)
		ops->free(ctx, w.l2);
	return ret;
}
