// SPDX-License-Identifier: GPL-2.0
/*
 * QED consistency check, in the manner of QEMU's block/qed-check.c but with
 * an exact leak count: every cluster of the file is marked once by what
 * refers to it (header, L1, each L2 table, each data cluster); a second
 * mark is a corruption, no mark is a leak.
 */
#include "qed_check.h"

static int qed_test_and_set(u8 *map, u64 n)
{
	int was = map[n / 8] & (1u << (n % 8));

	map[n / 8] |= 1u << (n % 8);
	return was;
}

/* Mark @n clusters from byte offset @off; count what was marked already. */
static u64 qed_mark(u8 *map, const struct qed_geom *g, u64 off, u64 n)
{
	u64 c = off >> g->cluster_shift, dup = 0;

	while (n--)
		dup += !!qed_test_and_set(map, c++);
	return dup;
}

int qed_check_image(const struct qed_geom *g, u64 file_size,
		    const struct qed_check_ops *ops, void *ctx,
		    struct qed_check_result *res)
{
	u64 file_end = file_size & ~((u64)g->cluster_size - 1);
	u64 nclusters = file_end >> g->cluster_shift;
	u64 *l1 = NULL, *l2 = NULL;
	u8 *map;
	u64 i, j, c;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	res->clusters = nclusters;
	map = ops->zalloc(ctx, nclusters / 8 + 1);
	l1 = ops->zalloc(ctx, g->table_bytes);
	l2 = ops->zalloc(ctx, g->table_bytes);
	if (!map || !l1 || !l2) {
		ret = -ENOMEM;
		goto out;
	}

	qed_mark(map, g, 0, g->header_size);
	res->corruptions += qed_mark(map, g, g->l1_table_offset, g->table_size);
	ret = ops->read(ctx, g->l1_table_offset, l1, (u32)g->table_bytes);
	if (ret)
		goto out;

	for (i = 0; i < g->table_entries; i++) {
		u64 t = qed_le64_to_cpu(l1[i]);

		if (t == QED_ENTRY_UNALLOCATED)
			continue;
		if (qed_check_table_offset(g, t, file_end)) {
			res->corruptions++;
			res->invalid++;
			continue;
		}
		if (qed_mark(map, g, t, g->table_size)) {
			/* A table shared with something else: do not trust it. */
			res->corruptions++;
			continue;
		}
		res->l2_tables++;
		ret = ops->read(ctx, t, l2, (u32)g->table_bytes);
		if (ret)
			goto out;
		for (j = 0; j < g->table_entries; j++) {
			u64 e = qed_le64_to_cpu(l2[j]);

			if (e == QED_ENTRY_UNALLOCATED)
				continue;
			if (e == QED_ENTRY_ZERO) {
				res->zero_clusters++;
				continue;
			}
			if (qed_check_cluster_offset(g, e, file_end)) {
				res->corruptions++;
				res->invalid++;
				continue;
			}
			res->allocated++;
			res->corruptions += qed_mark(map, g, e, 1);
		}
	}

	for (c = g->header_size; c < nclusters; c++) {
		if (!(map[c / 8] & (1u << (c % 8)))) {
			res->leaks++;
			res->leak_tail++;
		} else {
			res->leak_tail = 0;
		}
	}
out:
	if (map)
		ops->free(ctx, map);
	if (l1)
		ops->free(ctx, l1);
	if (l2)
		ops->free(ctx, l2);
	return ret;
}
