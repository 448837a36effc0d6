// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of qed_check.c on images built in memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qed_check.h"
#include "../../selftests/kselftest_harness.h"

#define CS	4096u
#define TS	1u
#define N	(CS * TS / 8)

struct mem_image {
	uint8_t *buf;
	uint64_t size;
	uint64_t punched;	/* bytes punched */
	unsigned int logged;	/* repair lines */
};

static int mem_read(void *ctx, u64 off, void *buf, u32 len)
{
	struct mem_image *m = ctx;

	if (off + len > m->size)
		return -EIO;
	memcpy(buf, m->buf + off, len);
	return 0;
}

static u64 largest_zalloc;

static void *mem_zalloc(void *ctx, u64 n)
{
	(void)ctx;
	if (n > largest_zalloc)
		largest_zalloc = n;
	return calloc(1, n);
}

static void mem_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static int mem_write(void *ctx, u64 off, const void *buf, u32 len)
{
	struct mem_image *m = ctx;

	if (off + len > m->size)
		return -EIO;
	memcpy(m->buf + off, buf, len);
	return 0;
}

static int mem_punch(void *ctx, u64 off, u64 len)
{
	struct mem_image *m = ctx;

	memset(m->buf + off, 0, len);
	m->punched += len;
	return 0;
}

static int mem_truncate(void *ctx, u64 size)
{
	struct mem_image *m = ctx;

	if (size > m->size)
		return -EINVAL;
	m->size = size;
	return 0;
}

static void mem_repaired(void *ctx, const char *table, u64 off, u64 entry, const char *why)
{
	struct mem_image *m = ctx;

	(void)table;
	(void)off;
	(void)entry;
	(void)why;
	m->logged++;
}

static const struct qedblk_check_ops ops = {
	.read = mem_read, .write = mem_write, .punch = mem_punch,
	.truncate = mem_truncate, .repaired = mem_repaired,
	.zalloc = mem_zalloc, .free = mem_free,
};

/* header | L1 | L2 | data 0 | data 1 | data 2 */
static void build(struct mem_image *m, struct qedblk_geom *g, unsigned int clusters)
{
	uint64_t *l1, *l2;

	if (qedblk_geom_init(g, CS, TS, 64ull << 20))
		abort();
	memset(m, 0, sizeof(*m));
	m->size = (uint64_t)clusters * CS;
	m->buf = calloc(1, m->size);
	qedblk_header_encode(g, m->buf);
	l1 = (uint64_t *)(m->buf + CS);
	l2 = (uint64_t *)(m->buf + 2 * CS);
	l1[0] = cpu_to_le64(2 * CS);
	l2[0] = cpu_to_le64(3 * CS);
	l2[1] = cpu_to_le64(4 * CS);
	l2[7] = cpu_to_le64(5 * CS);
	l2[8] = cpu_to_le64(QED_ENTRY_ZERO);
}

static uint64_t *l2_of(struct mem_image *m)
{
	return (uint64_t *)(m->buf + 2 * CS);
}

TEST(clean_image)
{
	struct mem_image m;
	struct qedblk_geom g;
	struct qedblk_check_result r;

	build(&m, &g, 6);
	ASSERT_EQ(0, qedblk_check_image(&g, m.size, &ops, &m, 0, &r));
	EXPECT_EQ(0, r.corruptions);
	EXPECT_EQ(0, r.leaks);
	EXPECT_EQ(3, r.allocated);
	EXPECT_EQ(1, r.zero_clusters);
	EXPECT_EQ(1, r.l2_tables);
	EXPECT_EQ(6, r.clusters);
	free(m.buf);
}

TEST(leaks_are_counted_and_located)
{
	struct mem_image m;
	struct qedblk_geom g;
	struct qedblk_check_result r;

	/* Two clusters past the last one referenced, and one in the middle. */
	build(&m, &g, 8);
	l2_of(&m)[1] = 0;
	ASSERT_EQ(0, qedblk_check_image(&g, m.size, &ops, &m, 0, &r));
	EXPECT_EQ(0, r.corruptions);
	EXPECT_EQ(3, r.leaks);
	EXPECT_EQ(2, r.leak_tail);
	/* A partial last cluster is not a cluster. */
	ASSERT_EQ(0, qedblk_check_image(&g, 6 * CS + 100, &ops, &m, 0, &r));
	EXPECT_EQ(1, r.leaks);
	free(m.buf);
}

TEST(double_references_and_invalid_offsets)
{
	struct mem_image m;
	struct qedblk_geom g;
	struct qedblk_check_result r;

	build(&m, &g, 6);
	l2_of(&m)[2] = cpu_to_le64(3 * CS);		/* shared with entry 0 */
	l2_of(&m)[3] = cpu_to_le64(CS);		/* the L1 table */
	l2_of(&m)[4] = cpu_to_le64(3 * CS + 512);	/* misaligned */
	l2_of(&m)[5] = cpu_to_le64(60 * CS);	/* past the end */
	l2_of(&m)[6] = cpu_to_le64(0);		/* in the header */
	ASSERT_EQ(0, qedblk_check_image(&g, m.size, &ops, &m, 0, &r));
	EXPECT_EQ(4, r.corruptions);
	EXPECT_EQ(3, r.invalid);	/* the L1 table is no place for data */
	free(m.buf);
}

TEST(bad_l1_entries)
{
	struct mem_image m;
	struct qedblk_geom g;
	struct qedblk_check_result r;
	uint64_t *l1;

	build(&m, &g, 6);
	l1 = (uint64_t *)(m.buf + CS);
	l1[1] = cpu_to_le64(77 * CS);	/* past the end */
	l1[2] = cpu_to_le64(2 * CS);	/* the same table twice */
	ASSERT_EQ(0, qedblk_check_image(&g, m.size, &ops, &m, 0, &r));
	EXPECT_EQ(2, r.corruptions);
	EXPECT_EQ(1, r.invalid);
	EXPECT_EQ(1, r.l2_tables);
	free(m.buf);
}

TEST(read_errors_are_reported)
{
	struct mem_image m;
	struct qedblk_geom g;
	struct qedblk_check_result r;

	build(&m, &g, 6);
	/* The file claims more than can be read. */
	m.size = 2 * CS;
	EXPECT_EQ(-EIO, qedblk_check_image(&g, 6 * CS, &ops, &m, 0, &r));
	free(m.buf);
}

TEST(check_alone_changes_nothing)
{
	struct mem_image m;
	struct qedblk_geom g;
	struct qedblk_check_result r;
	uint8_t *copy;

	build(&m, &g, 9);
	l2_of(&m)[5] = cpu_to_le64(60 * CS);
	copy = malloc(m.size);
	memcpy(copy, m.buf, m.size);
	ASSERT_EQ(0, qedblk_check_image(&g, m.size, &ops, &m, 0, &r));
	EXPECT_EQ(0, memcmp(copy, m.buf, 9 * CS));
	EXPECT_EQ(9 * CS, m.size);
	EXPECT_EQ(0, m.punched);
	EXPECT_EQ(0, r.repaired);
	EXPECT_FALSE(qedblk_check_clean(&r));
	free(copy);
	free(m.buf);
}

TEST(repair_clears_invalid_entries_and_reclaims_leaks)
{
	struct mem_image m;
	struct qedblk_geom g;
	struct qedblk_check_result r;
	uint64_t *l1;

	/* header | L1 | L2 | d0 | leak | d2 | leak | leak + 100 bytes */
	build(&m, &g, 9);
	l1 = (uint64_t *)(m.buf + CS);
	l2_of(&m)[1] = 0;
	l2_of(&m)[4] = cpu_to_le64(3 * CS + 512);	/* misaligned */
	l2_of(&m)[5] = cpu_to_le64(60 * CS);	/* past the end */
	l1[3] = cpu_to_le64(1);			/* in the header */
	memset(m.buf + 4 * CS, 0xaa, CS);		/* the inner leak */
	ASSERT_EQ(0, qedblk_check_image(&g, 8 * CS + 100, &ops, &m, QED_CHECK_REPAIR, &r));
	EXPECT_EQ(3, r.corruptions);
	EXPECT_EQ(3, r.repaired);
	EXPECT_EQ(3, m.logged);
	EXPECT_TRUE(qedblk_check_clean(&r));
	EXPECT_EQ(3, r.leaks);
	EXPECT_EQ(2, r.leak_tail);
	/* The tail is cut to the last cluster in use, the rest punched. */
	EXPECT_EQ(6 * CS, r.new_size);
	EXPECT_EQ(6 * CS, m.size);
	EXPECT_EQ(1, r.leaks_punched);
	EXPECT_EQ(CS, m.punched);
	EXPECT_EQ(0, m.buf[4 * CS]);
	/* Good entries survive; the image is clean now. */
	EXPECT_EQ(3 * CS, le64_to_cpu(l2_of(&m)[0]));
	EXPECT_EQ(0, l2_of(&m)[4]);
	EXPECT_EQ(0, l1[3]);
	ASSERT_EQ(0, qedblk_check_image(&g, m.size, &ops, &m, 0, &r));
	EXPECT_EQ(0, r.corruptions);
	EXPECT_EQ(1, r.leaks);		/* punched, still unreferenced */
	EXPECT_EQ(0, r.leak_tail);
	free(m.buf);
}

TEST(repair_leaves_double_references_and_space_alone)
{
	struct mem_image m;
	struct qedblk_geom g;
	struct qedblk_check_result r;

	build(&m, &g, 8);
	l2_of(&m)[2] = cpu_to_le64(3 * CS);		/* shared with entry 0 */
	ASSERT_EQ(0, qedblk_check_image(&g, m.size, &ops, &m, QED_CHECK_REPAIR, &r));
	EXPECT_EQ(1, r.corruptions);
	EXPECT_EQ(0, r.repaired);
	EXPECT_FALSE(qedblk_check_clean(&r));
	/* Not clean: which reference is right is unknown, nothing is freed. */
	EXPECT_EQ(8 * CS, m.size);
	EXPECT_EQ(0, m.punched);
	EXPECT_EQ(3 * CS, le64_to_cpu(l2_of(&m)[2]));
	free(m.buf);
}

TEST(big_tables_are_walked_in_pieces)
{
	struct mem_image m;
	struct qedblk_geom g;
	struct qedblk_check_result r;
	uint64_t *l1, *l2;
	const uint32_t cs = 65536, ts = 4;
	uint64_t entries = (uint64_t)cs * ts / 8;

	/* 32768-entry tables: four pieces each. */
	ASSERT_EQ(0, qedblk_geom_init(&g, cs, ts, 64ull << 30));
	memset(&m, 0, sizeof(m));
	m.size = (1 + 2 * ts + 2) * (uint64_t)cs;
	m.buf = calloc(1, m.size);
	qedblk_header_encode(&g, m.buf);
	l1 = (uint64_t *)(m.buf + cs);
	l2 = (uint64_t *)(m.buf + (1 + ts) * (uint64_t)cs);
	l1[entries - 1] = cpu_to_le64((1 + ts) * (uint64_t)cs);
	l2[entries - 1] = cpu_to_le64((1 + 2 * ts) * (uint64_t)cs);
	l2[entries - 2] = cpu_to_le64(cs * 1000ull);
	ASSERT_EQ(0, qedblk_check_image(&g, m.size, &ops, &m, QED_CHECK_REPAIR, &r));
	EXPECT_EQ(1, r.l2_tables);
	EXPECT_EQ(1, r.allocated);
	EXPECT_EQ(1, r.repaired);
	EXPECT_EQ(1, r.leaks);
	EXPECT_EQ(0, l2[entries - 2]);
	free(m.buf);
}

/*
 * A 64 TiB sparse file whose tables reference six clusters: the bitmap
 * covers those, not 2^34 clusters (a 2 GiB allocation in the kernel).
 */
TEST(huge_sparse_file_costs_what_its_tables_reference)
{
	uint64_t size = 64ull << 40;
	struct mem_image m;
	struct qedblk_geom g;
	struct qedblk_check_result r;

	build(&m, &g, 6);
	largest_zalloc = 0;
	ASSERT_EQ(0, qedblk_check_image(&g, size, &ops, &m, 0, &r));
	EXPECT_GE(65536, largest_zalloc);
	EXPECT_EQ(0, r.corruptions);
	EXPECT_EQ(size / CS, r.clusters);
	EXPECT_EQ(size / CS - 6, r.leaks);
	EXPECT_EQ(size / CS - 6, r.leak_tail);
	EXPECT_EQ(3, r.allocated);
	free(m.buf);
}

static int always_stopped(void *ctx)
{
	(void)ctx;
	return 1;
}

TEST(a_stopped_check_returns_eintr)
{
	struct qedblk_check_ops stop = ops;
	struct mem_image m;
	struct qedblk_geom g;
	struct qedblk_check_result r;

	build(&m, &g, 6);
	stop.stopped = always_stopped;
	EXPECT_EQ(-EINTR, qedblk_check_image(&g, m.size, &stop, &m, QED_CHECK_REPAIR, &r));
	free(m.buf);
}

TEST_HARNESS_MAIN
