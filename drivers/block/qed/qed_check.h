/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The consistency check of a QED image, shared by qedctl and the module:
 * walk L1 and every L2 table, validate every offset, find double references
 * and leaked clusters, and optionally repair what is safe to repair.  Pure
 * code: all I/O and memory go through the caller's callbacks.
 */
#ifndef QED_CHECK_H
#define QED_CHECK_H

#include "qed_format.h"

struct qedblk_check_ops {
	/* Read @len bytes at @off; 0 or a negative errno. */
	int (*read)(void *ctx, u64 off, void *buf, u32 len);
	/* Repair only: write @len bytes at @off. */
	int (*write)(void *ctx, u64 off, const void *buf, u32 len);
	/*
	 * Repair only: give [off, off + len) back to the host; may be NULL.
	 * 0 when punched, 1 when it was a hole already, or a negative errno.
	 */
	int (*punch)(void *ctx, u64 off, u64 len);
	/* Repair only: cut the file to @size bytes. */
	int (*truncate)(void *ctx, u64 size);
	/* Repair only: one line per repaired table entry; may be NULL. */
	void (*repaired)(void *ctx, const char *table, u64 entry_off, u64 entry,
			 const char *why);
	void *(*zalloc)(void *ctx, u64 bytes);
	void (*free)(void *ctx, void *p);
	/* May be NULL; nonzero stops the check with -EINTR (a fatal signal). */
	int (*stopped)(void *ctx);
};

struct qedblk_check_result {
	u64 clusters;		/* clusters in the file (rounded down) */
	u64 allocated;		/* guest clusters with data */
	u64 fragmented;		/* as QEMU: entries not following the previous one of their table */
	u64 zero_clusters;	/* guest clusters marked zero */
	u64 l2_tables;
	u64 corruptions;	/* invalid offsets and double references */
	u64 invalid;		/* of which: invalid offsets */
	u64 repaired;		/* invalid entries made unallocated */
	u64 leaks;		/* clusters nothing refers to */
	u64 leak_tail;		/* leaked clusters at the end of the file */
	u64 leaks_punched;	/* repair: leaked clusters hole-punched now */
	u64 new_size;		/* repair: the file's size afterwards */
};

/* qedblk_check_image() flags */
#define QED_CHECK_REPAIR	0x1u	/* repair invalid entries and leaks */
#define QED_CHECK_REPAIR_LEAKS	0x2u	/* reclaim leaked clusters only */

/* Documented at its definition in qed_check.c. */
int qedblk_check_image(const struct qedblk_geom *g, u64 file_size,
		       const struct qedblk_check_ops *ops, void *ctx, unsigned int flags,
		       struct qedblk_check_result *res);

/* Was the image consistent once the check (and its repairs) were done? */
static inline int qedblk_check_clean(const struct qedblk_check_result *r)
{
	return r->corruptions == r->repaired;
}

#endif /* QED_CHECK_H */
