/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The consistency check of a QED image, shared by qedctl and (later) the
 * module: walk L1 and every L2 table, validate every offset, find double
 * references and leaked clusters.  Pure code: all I/O and memory go
 * through the caller's callbacks.
 */
#ifndef QED_CHECK_H
#define QED_CHECK_H

#include "qed_format.h"

struct qed_check_ops {
	/* Read @len bytes at @off; 0 or a negative errno. */
	int (*read)(void *ctx, u64 off, void *buf, u32 len);
	void *(*zalloc)(void *ctx, u64 bytes);
	void (*free)(void *ctx, void *p);
};

struct qed_check_result {
	u64 clusters;		/* clusters in the file (rounded down) */
	u64 allocated;		/* guest clusters with data */
	u64 zero_clusters;	/* guest clusters marked zero */
	u64 l2_tables;
	u64 corruptions;	/* invalid offsets and double references */
	u64 invalid;		/* of which: invalid offsets */
	u64 leaks;		/* clusters nothing refers to */
	u64 leak_tail;		/* leaked clusters at the end of the file */
};

/*
 * Check the image whose header is @g and whose file is @file_size bytes.
 * Returns 0 when the walk completed (the result says what it found), or a
 * negative errno when a read or allocation failed.
 */
int qed_check_image(const struct qed_geom *g, u64 file_size,
		    const struct qed_check_ops *ops, void *ctx,
		    struct qed_check_result *res);

#endif /* QED_CHECK_H */
