// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit twin of tools/unit/qed_check_test.c: the consistency check and
 * repair on images built in memory, in the kernel qedblk is built into.
 * A case added to one belongs in the other.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/mm.h>

#include "qed_check.h"

#define CS	4096u
#define TS	1u

struct qedblk_mem_image {
	u8 *buf;
	u64 size;
	u64 punched;		/* bytes punched */
	unsigned int logged;	/* repair lines */
	u64 largest_zalloc;
};

static int qedblk_mem_read(void *ctx, u64 off, void *buf, u32 len)
{
	struct qedblk_mem_image *m = ctx;

	if (off + len > m->size)
		return -EIO;
	memcpy(buf, m->buf + off, len);
	return 0;
}

static int qedblk_mem_write(void *ctx, u64 off, const void *buf, u32 len)
{
	struct qedblk_mem_image *m = ctx;

	if (off + len > m->size)
		return -EIO;
	memcpy(m->buf + off, buf, len);
	return 0;
}

static int qedblk_mem_punch(void *ctx, u64 off, u64 len)
{
	struct qedblk_mem_image *m = ctx;

	memset(m->buf + off, 0, len);
	m->punched += len;
	return 0;
}

static int qedblk_mem_truncate(void *ctx, u64 size)
{
	struct qedblk_mem_image *m = ctx;

	if (size > m->size)
		return -EINVAL;
	m->size = size;
	return 0;
}

static void qedblk_mem_repaired(void *ctx, const char *table, u64 off, u64 entry,
				const char *why)
{
	struct qedblk_mem_image *m = ctx;

	m->logged++;
}

static void *qedblk_mem_zalloc(void *ctx, u64 n)
{
	struct qedblk_mem_image *m = ctx;

	if (n > m->largest_zalloc)
		m->largest_zalloc = n;
	return kvzalloc(n, GFP_KERNEL);
}

static void qedblk_mem_free(void *ctx, void *p)
{
	kvfree(p);
}

static const struct qedblk_check_ops qedblk_mem_ops = {
	.read = qedblk_mem_read,
	.write = qedblk_mem_write,
	.punch = qedblk_mem_punch,
	.truncate = qedblk_mem_truncate,
	.repaired = qedblk_mem_repaired,
	.zalloc = qedblk_mem_zalloc,
	.free = qedblk_mem_free,
};

static __le64 *qedblk_l1_of(struct qedblk_mem_image *m)
{
	return (__le64 *)(m->buf + CS);
}

static __le64 *qedblk_l2_of(struct qedblk_mem_image *m)
{
	return (__le64 *)(m->buf + 2 * CS);
}

/* header | L1 | L2 | data 0 | data 1 | data 2 */
static void qedblk_build(struct kunit *test, struct qedblk_mem_image *m,
			 struct qedblk_geom *g, unsigned int clusters)
{
	__le64 *l2;

	KUNIT_ASSERT_EQ(test, QED_HDR_OK, qedblk_geom_init(g, CS, TS, 64ull << 20));
	memset(m, 0, sizeof(*m));
	m->size = (u64)clusters * CS;
	m->buf = kunit_kzalloc(test, m->size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m->buf);
	qedblk_header_encode(g, m->buf);
	l2 = qedblk_l2_of(m);
	qedblk_l1_of(m)[0] = cpu_to_le64(2 * CS);
	l2[0] = cpu_to_le64(3 * CS);
	l2[1] = cpu_to_le64(4 * CS);
	l2[7] = cpu_to_le64(5 * CS);
	l2[8] = cpu_to_le64(QED_ENTRY_ZERO);
}

static void qedblk_test_clean_image(struct kunit *test)
{
	struct qedblk_check_result r;
	struct qedblk_mem_image m;
	struct qedblk_geom g;

	qedblk_build(test, &m, &g, 6);
	KUNIT_ASSERT_EQ(test, 0, qedblk_check_image(&g, m.size, &qedblk_mem_ops, &m, 0, &r));
	KUNIT_EXPECT_EQ(test, 0, r.corruptions);
	KUNIT_EXPECT_EQ(test, 0, r.leaks);
	KUNIT_EXPECT_EQ(test, 3, r.allocated);
	KUNIT_EXPECT_EQ(test, 1, r.zero_clusters);
	KUNIT_EXPECT_EQ(test, 1, r.l2_tables);
	KUNIT_EXPECT_EQ(test, 6, r.clusters);
}

static void qedblk_test_leaks_are_counted_and_located(struct kunit *test)
{
	struct qedblk_check_result r;
	struct qedblk_mem_image m;
	struct qedblk_geom g;

	/* Two clusters past the last one referenced, and one in the middle. */
	qedblk_build(test, &m, &g, 8);
	qedblk_l2_of(&m)[1] = 0;
	KUNIT_ASSERT_EQ(test, 0, qedblk_check_image(&g, m.size, &qedblk_mem_ops, &m, 0, &r));
	KUNIT_EXPECT_EQ(test, 0, r.corruptions);
	KUNIT_EXPECT_EQ(test, 3, r.leaks);
	KUNIT_EXPECT_EQ(test, 2, r.leak_tail);
	/* A partial last cluster is not a cluster. */
	KUNIT_ASSERT_EQ(test, 0,
			qedblk_check_image(&g, 6 * CS + 100, &qedblk_mem_ops, &m, 0, &r));
	KUNIT_EXPECT_EQ(test, 1, r.leaks);
}

static void qedblk_test_double_references_and_invalid_offsets(struct kunit *test)
{
	struct qedblk_check_result r;
	struct qedblk_mem_image m;
	struct qedblk_geom g;
	__le64 *l2;

	qedblk_build(test, &m, &g, 6);
	l2 = qedblk_l2_of(&m);
	l2[2] = cpu_to_le64(3 * CS);		/* shared with entry 0 */
	l2[3] = cpu_to_le64(CS);		/* the L1 table */
	l2[4] = cpu_to_le64(3 * CS + 512);	/* misaligned */
	l2[5] = cpu_to_le64(60 * CS);		/* past the end */
	l2[6] = cpu_to_le64(0);			/* in the header */
	KUNIT_ASSERT_EQ(test, 0, qedblk_check_image(&g, m.size, &qedblk_mem_ops, &m, 0, &r));
	KUNIT_EXPECT_EQ(test, 4, r.corruptions);
	/* The L1 table is no place for data. */
	KUNIT_EXPECT_EQ(test, 3, r.invalid);
}

static void qedblk_test_bad_l1_entries(struct kunit *test)
{
	struct qedblk_check_result r;
	struct qedblk_mem_image m;
	struct qedblk_geom g;

	qedblk_build(test, &m, &g, 6);
	qedblk_l1_of(&m)[1] = cpu_to_le64(77 * CS);	/* past the end */
	qedblk_l1_of(&m)[2] = cpu_to_le64(2 * CS);	/* the same table twice */
	KUNIT_ASSERT_EQ(test, 0, qedblk_check_image(&g, m.size, &qedblk_mem_ops, &m, 0, &r));
	KUNIT_EXPECT_EQ(test, 2, r.corruptions);
	KUNIT_EXPECT_EQ(test, 1, r.invalid);
	KUNIT_EXPECT_EQ(test, 1, r.l2_tables);
}

static void qedblk_test_read_errors_are_reported(struct kunit *test)
{
	struct qedblk_check_result r;
	struct qedblk_mem_image m;
	struct qedblk_geom g;

	qedblk_build(test, &m, &g, 6);
	/* The file claims more than can be read. */
	m.size = 2 * CS;
	KUNIT_EXPECT_EQ(test, -EIO, qedblk_check_image(&g, 6 * CS, &qedblk_mem_ops, &m, 0, &r));
}

static void qedblk_test_check_alone_changes_nothing(struct kunit *test)
{
	struct qedblk_check_result r;
	struct qedblk_mem_image m;
	struct qedblk_geom g;
	u8 *copy;

	qedblk_build(test, &m, &g, 9);
	qedblk_l2_of(&m)[5] = cpu_to_le64(60 * CS);
	copy = kunit_kmalloc(test, m.size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, copy);
	memcpy(copy, m.buf, m.size);
	KUNIT_ASSERT_EQ(test, 0, qedblk_check_image(&g, m.size, &qedblk_mem_ops, &m, 0, &r));
	KUNIT_EXPECT_EQ(test, 0, memcmp(copy, m.buf, 9 * CS));
	KUNIT_EXPECT_EQ(test, 9 * CS, m.size);
	KUNIT_EXPECT_EQ(test, 0, m.punched);
	KUNIT_EXPECT_EQ(test, 0, r.repaired);
	KUNIT_EXPECT_FALSE(test, qedblk_check_clean(&r));
}

static void qedblk_test_repair_clears_invalid_entries_and_reclaims_leaks(struct kunit *test)
{
	struct qedblk_check_result r;
	struct qedblk_mem_image m;
	struct qedblk_geom g;
	__le64 *l1, *l2;

	/* header | L1 | L2 | d0 | leak | d2 | leak | leak + 100 bytes */
	qedblk_build(test, &m, &g, 9);
	l1 = qedblk_l1_of(&m);
	l2 = qedblk_l2_of(&m);
	l2[1] = 0;
	l2[4] = cpu_to_le64(3 * CS + 512);	/* misaligned */
	l2[5] = cpu_to_le64(60 * CS);		/* past the end */
	l1[3] = cpu_to_le64(1);			/* in the header */
	memset(m.buf + 4 * CS, 0xaa, CS);	/* the inner leak */
	KUNIT_ASSERT_EQ(test, 0, qedblk_check_image(&g, 8 * CS + 100, &qedblk_mem_ops, &m,
						    QED_CHECK_REPAIR, &r));
	KUNIT_EXPECT_EQ(test, 3, r.corruptions);
	KUNIT_EXPECT_EQ(test, 3, r.repaired);
	KUNIT_EXPECT_EQ(test, 3, m.logged);
	KUNIT_EXPECT_TRUE(test, qedblk_check_clean(&r));
	KUNIT_EXPECT_EQ(test, 3, r.leaks);
	KUNIT_EXPECT_EQ(test, 2, r.leak_tail);
	/* The tail is cut to the last cluster in use, the rest punched. */
	KUNIT_EXPECT_EQ(test, 6 * CS, r.new_size);
	KUNIT_EXPECT_EQ(test, 6 * CS, m.size);
	KUNIT_EXPECT_EQ(test, 1, r.leaks_punched);
	KUNIT_EXPECT_EQ(test, CS, m.punched);
	KUNIT_EXPECT_EQ(test, 0, m.buf[4 * CS]);
	/* Good entries survive; the image is clean now. */
	KUNIT_EXPECT_EQ(test, 3 * CS, le64_to_cpu(l2[0]));
	KUNIT_EXPECT_EQ(test, 0, le64_to_cpu(l2[4]));
	KUNIT_EXPECT_EQ(test, 0, le64_to_cpu(l1[3]));
	KUNIT_ASSERT_EQ(test, 0, qedblk_check_image(&g, m.size, &qedblk_mem_ops, &m, 0, &r));
	KUNIT_EXPECT_EQ(test, 0, r.corruptions);
	/* Punched, still unreferenced. */
	KUNIT_EXPECT_EQ(test, 1, r.leaks);
	KUNIT_EXPECT_EQ(test, 0, r.leak_tail);
}

static void qedblk_test_repair_leaves_double_references_alone(struct kunit *test)
{
	struct qedblk_check_result r;
	struct qedblk_mem_image m;
	struct qedblk_geom g;

	qedblk_build(test, &m, &g, 8);
	qedblk_l2_of(&m)[2] = cpu_to_le64(3 * CS);	/* shared with entry 0 */
	KUNIT_ASSERT_EQ(test, 0, qedblk_check_image(&g, m.size, &qedblk_mem_ops, &m,
						    QED_CHECK_REPAIR, &r));
	KUNIT_EXPECT_EQ(test, 1, r.corruptions);
	KUNIT_EXPECT_EQ(test, 0, r.repaired);
	KUNIT_EXPECT_FALSE(test, qedblk_check_clean(&r));
	/* Not clean: which reference is right is unknown, nothing is freed. */
	KUNIT_EXPECT_EQ(test, 8 * CS, m.size);
	KUNIT_EXPECT_EQ(test, 0, m.punched);
	KUNIT_EXPECT_EQ(test, 3 * CS, le64_to_cpu(qedblk_l2_of(&m)[2]));
}

static void qedblk_test_big_tables_are_walked_in_pieces(struct kunit *test)
{
	const u32 cs = 65536, ts = 4;
	u64 entries = (u64)cs * ts / 8;
	struct qedblk_check_result r;
	struct qedblk_mem_image m;
	struct qedblk_geom g;
	__le64 *l1, *l2;

	/* 32768-entry tables: four pieces each. */
	KUNIT_ASSERT_EQ(test, QED_HDR_OK, qedblk_geom_init(&g, cs, ts, 64ull << 30));
	memset(&m, 0, sizeof(m));
	m.size = (1 + 2 * ts + 2) * (u64)cs;
	m.buf = kunit_kzalloc(test, m.size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m.buf);
	qedblk_header_encode(&g, m.buf);
	l1 = (__le64 *)(m.buf + cs);
	l2 = (__le64 *)(m.buf + (1 + ts) * (u64)cs);
	l1[entries - 1] = cpu_to_le64((1 + ts) * (u64)cs);
	l2[entries - 1] = cpu_to_le64((1 + 2 * ts) * (u64)cs);
	l2[entries - 2] = cpu_to_le64(cs * 1000ull);
	KUNIT_ASSERT_EQ(test, 0, qedblk_check_image(&g, m.size, &qedblk_mem_ops, &m,
						    QED_CHECK_REPAIR, &r));
	KUNIT_EXPECT_EQ(test, 1, r.l2_tables);
	KUNIT_EXPECT_EQ(test, 1, r.allocated);
	KUNIT_EXPECT_EQ(test, 1, r.repaired);
	KUNIT_EXPECT_EQ(test, 1, r.leaks);
	KUNIT_EXPECT_EQ(test, 0, le64_to_cpu(l2[entries - 2]));
}

/*
 * A 64 TiB sparse file whose tables reference six clusters: the bitmap
 * covers those, not 2^34 clusters (a 2 GiB allocation).
 */
static void qedblk_test_huge_sparse_file_costs_what_its_tables_reference(struct kunit *test)
{
	u64 size = 64ull << 40;
	struct qedblk_check_result r;
	struct qedblk_mem_image m;
	struct qedblk_geom g;

	qedblk_build(test, &m, &g, 6);
	KUNIT_ASSERT_EQ(test, 0, qedblk_check_image(&g, size, &qedblk_mem_ops, &m, 0, &r));
	KUNIT_EXPECT_LE(test, m.largest_zalloc, 65536);
	KUNIT_EXPECT_EQ(test, 0, r.corruptions);
	KUNIT_EXPECT_EQ(test, size / CS, r.clusters);
	KUNIT_EXPECT_EQ(test, size / CS - 6, r.leaks);
	KUNIT_EXPECT_EQ(test, size / CS - 6, r.leak_tail);
	KUNIT_EXPECT_EQ(test, 3, r.allocated);
}

static int qedblk_always_stopped(void *ctx)
{
	return 1;
}

static void qedblk_test_a_stopped_check_returns_eintr(struct kunit *test)
{
	struct qedblk_check_ops stop = qedblk_mem_ops;
	struct qedblk_check_result r;
	struct qedblk_mem_image m;
	struct qedblk_geom g;

	qedblk_build(test, &m, &g, 6);
	stop.stopped = qedblk_always_stopped;
	KUNIT_EXPECT_EQ(test, -EINTR,
			qedblk_check_image(&g, m.size, &stop, &m, QED_CHECK_REPAIR, &r));
}

static struct kunit_case qedblk_check_cases[] = {
	KUNIT_CASE(qedblk_test_clean_image),
	KUNIT_CASE(qedblk_test_leaks_are_counted_and_located),
	KUNIT_CASE(qedblk_test_double_references_and_invalid_offsets),
	KUNIT_CASE(qedblk_test_bad_l1_entries),
	KUNIT_CASE(qedblk_test_read_errors_are_reported),
	KUNIT_CASE(qedblk_test_check_alone_changes_nothing),
	KUNIT_CASE(qedblk_test_repair_clears_invalid_entries_and_reclaims_leaks),
	KUNIT_CASE(qedblk_test_repair_leaves_double_references_alone),
	KUNIT_CASE(qedblk_test_big_tables_are_walked_in_pieces),
	KUNIT_CASE(qedblk_test_huge_sparse_file_costs_what_its_tables_reference),
	KUNIT_CASE(qedblk_test_a_stopped_check_returns_eintr),
	{}
};

static struct kunit_suite qedblk_check_suite = {
	.name = "qedblk_check",
	.test_cases = qedblk_check_cases,
};

kunit_test_suite(qedblk_check_suite);
