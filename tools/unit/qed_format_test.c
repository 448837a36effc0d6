// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of qed_format.c, the header and table code the module
 * and qedctl share.  Built with AddressSanitizer and UBSan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qed_format.h"
#include "../../selftests/kselftest_harness.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void encode(const struct qedblk_geom *g, unsigned char *buf)
{
	memset(buf, 0, QED_HEADER_BYTES);
	qedblk_header_encode(g, buf);
}

static struct qedblk_geom make(uint32_t cs, uint32_t ts, uint64_t size)
{
	struct qedblk_geom g;

	if (qedblk_geom_init(&g, cs, ts, size))
		abort();
	return g;
}

static uint64_t min_file(const struct qedblk_geom *g)
{
	return g->l1_table_offset + g->table_bytes;
}

TEST(default_geometry_roundtrip)
{
	struct qedblk_geom g = make(65536, 4, 10 * GiB), d;
	unsigned char buf[QED_HEADER_BYTES];

	encode(&g, buf);
	/* The magic is "QED\0" on disk. */
	EXPECT_EQ(0, memcmp(buf, "QED", 4));
	ASSERT_EQ(QED_HDR_OK, qedblk_header_decode(buf, sizeof(buf), min_file(&g), &d));
	EXPECT_EQ(65536, d.cluster_size);
	EXPECT_EQ(4, d.table_size);
	EXPECT_EQ(1, d.header_size);
	EXPECT_EQ(65536, d.l1_table_offset);
	EXPECT_EQ(10 * GiB, d.image_size);
	EXPECT_EQ(16, d.cluster_shift);
	EXPECT_EQ(32768, d.table_entries);
	EXPECT_EQ(15, d.table_shift);
	EXPECT_EQ(262144, d.table_bytes);
	/* One L2 table covers 32768 * 64 KiB = 2 GiB. */
	EXPECT_EQ(2 * GiB, qedblk_l2_coverage(&d));
	EXPECT_EQ(5, d.l1_entries_used);
}

TEST(address_translation)
{
	struct qedblk_geom g = make(65536, 4, 100 * GiB);
	uint64_t pos = 3 * 2 * GiB + 5 * 65536 + 1234;

	EXPECT_EQ(3, qedblk_l1_index(&g, pos));
	EXPECT_EQ(5, qedblk_l2_index(&g, pos));
	EXPECT_EQ(1234, qedblk_offset_in_cluster(&g, pos));
	EXPECT_EQ(pos - 1234, qedblk_cluster_start(&g, pos));
	EXPECT_EQ(0, qedblk_l1_index(&g, 2 * GiB - 1));
	EXPECT_EQ(32767, qedblk_l2_index(&g, 2 * GiB - 1));
	EXPECT_EQ(1, qedblk_l1_index(&g, 2 * GiB));
	EXPECT_EQ(0, qedblk_l2_index(&g, 2 * GiB));
}

TEST(max_image_size_never_overflows)
{
	/* 4 KiB clusters, one-cluster tables: 512 * 512 * 4 KiB = 1 GiB. */
	EXPECT_EQ(1 * GiB, qedblk_max_image_size(4096, 1));
	/* The default: 32768^2 * 64 KiB = 64 TiB. */
	EXPECT_EQ(64ull << 40, qedblk_max_image_size(65536, 4));
	/* 2^80 bytes would overflow: it saturates instead. */
	EXPECT_EQ((1ull << 63) - 512, qedblk_max_image_size(64u << 20, 16));
	EXPECT_EQ(QED_HDR_OK, qedblk_geom_init(&(struct qedblk_geom){}, 64u << 20, 16, 1ull << 62));
	EXPECT_EQ(QED_HDR_IMAGE_SIZE, qedblk_geom_init(&(struct qedblk_geom){}, 4096, 1, GiB + 512));
	EXPECT_EQ(QED_HDR_OK, qedblk_geom_init(&(struct qedblk_geom){}, 4096, 1, GiB));
}

TEST(geometries_qemu_opens)
{
	/* One-cluster tables: QEMU's table offset check fails them. */
	EXPECT_EQ(QED_HDR_QEMU_TABLE_SIZE, qedblk_qemu_geometry(4096, 1));
	EXPECT_EQ(QED_HDR_OK, qedblk_qemu_geometry(4096, 2));
	EXPECT_EQ(QED_HDR_OK, qedblk_qemu_geometry(65536, 16));
	/* N * N * cluster_size: 2^21 * 2^21 * 2^22 = 2^64 wraps to 0. */
	EXPECT_EQ(QED_HDR_QEMU_MAX_SIZE, qedblk_qemu_geometry(4u << 20, 4));
	/* 2^20 * 2^20 * 2^22 = 2^62 does not. */
	EXPECT_EQ(QED_HDR_OK, qedblk_qemu_geometry(4u << 20, 2));
	EXPECT_EQ(QED_HDR_QEMU_MAX_SIZE, qedblk_qemu_geometry(2u << 20, 16));
	EXPECT_EQ(QED_HDR_QEMU_MAX_SIZE, qedblk_qemu_geometry(8u << 20, 2));
	EXPECT_EQ(QED_HDR_QEMU_MAX_SIZE, qedblk_qemu_geometry(64u << 20, 16));
	/* The format itself allows them all. */
	EXPECT_EQ(QED_HDR_OK, qedblk_geom_init(&(struct qedblk_geom){}, 4096, 1, GiB));
}

TEST(image_size_rules)
{
	struct qedblk_geom g;

	/* Any multiple of 512, not of the cluster size; zero is legal. */
	EXPECT_EQ(QED_HDR_OK, qedblk_geom_init(&g, 65536, 4, 5000704));
	EXPECT_EQ(1, g.l1_entries_used);
	EXPECT_EQ(QED_HDR_OK, qedblk_geom_init(&g, 65536, 4, 0));
	EXPECT_EQ(0, g.l1_entries_used);
	EXPECT_EQ(QED_HDR_IMAGE_SIZE, qedblk_geom_init(&g, 65536, 4, 5000705));
}

struct bad_case {
	const char *what;
	enum qedblk_header_error want;
	void (*mutate)(struct qedblk_geom *g, uint64_t *file_size);
};

static void m_cs_npot(struct qedblk_geom *g, uint64_t *f) { (void)f; g->cluster_size = 12288; }
static void m_cs_small(struct qedblk_geom *g, uint64_t *f) { (void)f; g->cluster_size = 2048; }
static void m_cs_big(struct qedblk_geom *g, uint64_t *f) { (void)f; g->cluster_size = 128u << 20; }
static void m_cs_zero(struct qedblk_geom *g, uint64_t *f) { (void)f; g->cluster_size = 0; }
static void m_ts_zero(struct qedblk_geom *g, uint64_t *f) { (void)f; g->table_size = 0; }
static void m_ts_npot(struct qedblk_geom *g, uint64_t *f) { (void)f; g->table_size = 6; }
static void m_ts_big(struct qedblk_geom *g, uint64_t *f) { (void)f; g->table_size = 32; }
static void m_hs_zero(struct qedblk_geom *g, uint64_t *f) { (void)f; g->header_size = 0; }
static void m_hs_ovf(struct qedblk_geom *g, uint64_t *f) { (void)f; g->header_size = 65536; }
static void m_feat(struct qedblk_geom *g, uint64_t *f) { (void)f; g->features = 8; }
static void m_size_odd(struct qedblk_geom *g, uint64_t *f) { (void)f; g->image_size = 1000; }
static void m_size_max(struct qedblk_geom *g, uint64_t *f) { (void)f; g->image_size = ~0ull & ~511ull; }
static void m_l1_misaligned(struct qedblk_geom *g, uint64_t *f) { (void)f; g->l1_table_offset += 4096; }
static void m_l1_header(struct qedblk_geom *g, uint64_t *f) { (void)f; g->l1_table_offset = 0; }
static void m_l1_eof(struct qedblk_geom *g, uint64_t *f) { *f = g->l1_table_offset + g->table_bytes - 1; }
static void m_l1_wrap(struct qedblk_geom *g, uint64_t *f) { (void)f; g->l1_table_offset = ~0ull & ~65535ull; }
static void m_bk_out(struct qedblk_geom *g, uint64_t *f)
{
	(void)f;
	g->features |= QED_F_BACKING_FILE;
	g->backing_name_offset = 65530;
	g->backing_name_size = 7;
}
static void m_bk_wrap(struct qedblk_geom *g, uint64_t *f)
{
	(void)f;
	g->features |= QED_F_BACKING_FILE;
	g->backing_name_offset = 0xffffffffu;
	g->backing_name_size = 2;
}
static void m_bk_empty(struct qedblk_geom *g, uint64_t *f)
{
	(void)f;
	g->features |= QED_F_BACKING_FILE;
	g->backing_name_offset = 64;
	g->backing_name_size = 0;
}
static void m_bk_long(struct qedblk_geom *g, uint64_t *f)
{
	(void)f;
	g->features |= QED_F_BACKING_FILE;
	g->backing_name_offset = 64;
	g->backing_name_size = 4096;
}
static void m_noprobe(struct qedblk_geom *g, uint64_t *f) { (void)f; g->features |= QED_F_BACKING_FORMAT_NO_PROBE; }

static const struct bad_case bad_cases[] = {
	{ "cluster size not a power of two", QED_HDR_CLUSTER_SIZE, m_cs_npot },
	{ "cluster size below 4 KiB", QED_HDR_CLUSTER_SIZE, m_cs_small },
	{ "cluster size above 64 MiB", QED_HDR_CLUSTER_SIZE, m_cs_big },
	{ "cluster size zero", QED_HDR_CLUSTER_SIZE, m_cs_zero },
	{ "table size zero", QED_HDR_TABLE_SIZE, m_ts_zero },
	{ "table size not a power of two", QED_HDR_TABLE_SIZE, m_ts_npot },
	{ "table size above 16", QED_HDR_TABLE_SIZE, m_ts_big },
	{ "header size zero", QED_HDR_HEADER_SIZE, m_hs_zero },
	{ "header size overflowing 32 bits", QED_HDR_HEADER_SIZE, m_hs_ovf },
	{ "unknown feature bit", QED_HDR_FEATURES, m_feat },
	{ "image size not a multiple of 512", QED_HDR_IMAGE_SIZE, m_size_odd },
	{ "image size beyond the geometry", QED_HDR_IMAGE_SIZE, m_size_max },
	{ "L1 offset misaligned", QED_HDR_L1_OFFSET, m_l1_misaligned },
	{ "L1 offset in the header", QED_HDR_L1_OFFSET, m_l1_header },
	{ "L1 table past the end of the file", QED_HDR_L1_OFFSET, m_l1_eof },
	{ "L1 offset wrapping around", QED_HDR_L1_OFFSET, m_l1_wrap },
	{ "backing name past the header", QED_HDR_BACKING_NAME, m_bk_out },
	{ "backing name offset wrapping", QED_HDR_BACKING_NAME, m_bk_wrap },
	{ "backing name empty", QED_HDR_BACKING_NAME, m_bk_empty },
	{ "backing name of 4096 bytes", QED_HDR_BACKING_NAME, m_bk_long },
	{ "no-probe without a backing file", QED_HDR_BACKING_FLAGS, m_noprobe },
};

TEST(every_bad_header_is_refused_with_its_reason)
{
	unsigned char buf[QED_HEADER_BYTES];
	struct qedblk_geom d;
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct qedblk_geom g = make(65536, 4, GiB);
		uint64_t fsize = min_file(&g);

		bad_cases[i].mutate(&g, &fsize);
		encode(&g, buf);
		EXPECT_EQ(bad_cases[i].want, qedblk_header_decode(buf, sizeof(buf), fsize, &d))
			TH_LOG("%s", bad_cases[i].what);
		EXPECT_NE(NULL, strstr(qedblk_header_strerror(bad_cases[i].want), " "));
		EXPECT_NE(0, qedblk_header_errno(bad_cases[i].want));
	}
}

TEST(short_and_foreign_files)
{
	unsigned char buf[QED_HEADER_BYTES] = "QFI\xfb";	/* qcow2 */
	struct qedblk_geom d;

	EXPECT_EQ(QED_HDR_SHORT, qedblk_header_decode(buf, 10, 1000, &d));
	EXPECT_EQ(QED_HDR_SHORT, qedblk_header_decode(buf, sizeof(buf), 63, &d));
	EXPECT_EQ(QED_HDR_MAGIC, qedblk_header_decode(buf, sizeof(buf), 1 << 20, &d));
	EXPECT_EQ(-EINVAL, qedblk_header_errno(QED_HDR_MAGIC));
	EXPECT_EQ(-EOPNOTSUPP, qedblk_header_errno(QED_HDR_FEATURES));
	EXPECT_STREQ("unknown error", qedblk_header_strerror(QED_HDR__COUNT));
}

TEST(known_features_are_accepted)
{
	unsigned char buf[QED_HEADER_BYTES];
	struct qedblk_geom g = make(65536, 4, GiB), d;

	g.features = QED_F_NEED_CHECK;
	g.compat_features = 1;		/* old copy-on-read bit: ignored */
	g.autoclear_features = 1ull << 63;	/* unknown autoclear: allowed */
	encode(&g, buf);
	ASSERT_EQ(QED_HDR_OK, qedblk_header_decode(buf, sizeof(buf), min_file(&g), &d));
	EXPECT_EQ(QED_F_NEED_CHECK, d.features);
	EXPECT_EQ(1ull << 63, d.autoclear_features);
}

TEST(table_size_one_is_valid)
{
	/* QEMU 7.2 refuses these; the spec allows them. */
	unsigned char buf[QED_HEADER_BYTES];
	struct qedblk_geom g = make(4096, 1, 512 * MiB), d;

	encode(&g, buf);
	EXPECT_EQ(QED_HDR_OK, qedblk_header_decode(buf, sizeof(buf), min_file(&g), &d));
}

TEST(cluster_and_table_offsets)
{
	struct qedblk_geom g = make(65536, 4, GiB);
	uint64_t end = 10 * 65536;

	EXPECT_EQ(QED_ENTRY_OK, qedblk_validate_cluster_offset(&g, 5 * 65536, end));
	/* The L1 table is clusters 1 to 4: guest data must never go there. */
	EXPECT_EQ(QED_ENTRY_IN_L1, qedblk_validate_cluster_offset(&g, 65536, end));
	EXPECT_EQ(QED_ENTRY_IN_L1, qedblk_validate_cluster_offset(&g, 4 * 65536, end));
	EXPECT_EQ(QED_ENTRY_IN_L1, qedblk_validate_table_offset(&g, 65536, end));
	EXPECT_EQ(QED_ENTRY_IN_L1, qedblk_validate_table_offset(&g, 4 * 65536, end));
	EXPECT_EQ(QED_ENTRY_OK, qedblk_validate_table_offset(&g, 5 * 65536, end));
	EXPECT_STREQ("offset inside the L1 table", qedblk_entry_strerror(QED_ENTRY_IN_L1));
	EXPECT_EQ(QED_ENTRY_MISALIGNED, qedblk_validate_cluster_offset(&g, 65536 + 512, end));
	EXPECT_EQ(QED_ENTRY_MISALIGNED, qedblk_validate_cluster_offset(&g, 1, end));
	EXPECT_EQ(QED_ENTRY_IN_HEADER, qedblk_validate_cluster_offset(&g, 0, end));
	EXPECT_EQ(QED_ENTRY_PAST_EOF, qedblk_validate_cluster_offset(&g, end, end));
	EXPECT_EQ(QED_ENTRY_OK, qedblk_validate_cluster_offset(&g, end - 65536, end));
	/* A table is four clusters: its last one must lie inside too. */
	EXPECT_EQ(QED_ENTRY_OK, qedblk_validate_table_offset(&g, end - 4 * 65536, end));
	EXPECT_EQ(QED_ENTRY_PAST_EOF, qedblk_validate_table_offset(&g, end - 3 * 65536, end));
	EXPECT_EQ(QED_ENTRY_PAST_EOF, qedblk_validate_table_offset(&g, ~0ull & ~65535ull, ~0ull));
	EXPECT_STREQ("offset not cluster-aligned", qedblk_entry_strerror(QED_ENTRY_MISALIGNED));
}

TEST(backing_name)
{
	struct qedblk_geom g = make(65536, 4, GiB);
	unsigned char hdr[4096] = { 0 };
	char name[64];

	g.features |= QED_F_BACKING_FILE;
	g.backing_name_offset = 64;
	g.backing_name_size = 8;
	memcpy(hdr + 64, "base.raw", 8);
	ASSERT_EQ(QED_HDR_OK, qedblk_backing_name(&g, hdr, sizeof(hdr), name, sizeof(name)));
	EXPECT_STREQ("base.raw", name);
	/* Not NUL-terminated on disk, and must not contain NUL. */
	hdr[67] = 0;
	EXPECT_EQ(QED_HDR_BACKING_NAME, qedblk_backing_name(&g, hdr, sizeof(hdr), name, sizeof(name)));
	hdr[67] = 'e';
	/* The caller's buffer must hold the name and a NUL. */
	EXPECT_EQ(QED_HDR_BACKING_NAME, qedblk_backing_name(&g, hdr, sizeof(hdr), name, 8));
	EXPECT_EQ(QED_HDR_OK, qedblk_backing_name(&g, hdr, sizeof(hdr), name, 9));
	/* Outside what the caller read. */
	EXPECT_EQ(QED_HDR_BACKING_NAME, qedblk_backing_name(&g, hdr, 70, name, sizeof(name)));
	g.features = 0;
	EXPECT_EQ(QED_HDR_OK, qedblk_backing_name(&g, hdr, sizeof(hdr), name, sizeof(name)));
	EXPECT_STREQ("", name);
}

TEST(probe_format)
{
	unsigned char buf[QED_PROBE_BYTES] = { 0 };
	const char *other;

	EXPECT_EQ(QED_FMT_RAW, qedblk_probe_format(buf, sizeof(buf), &other));
	EXPECT_EQ(NULL, other);
	memcpy(buf, "QED", 4);
	EXPECT_EQ(QED_FMT_QED, qedblk_probe_format(buf, sizeof(buf), &other));
	/* Too short to hold the magic: raw, as QEMU probes an empty file. */
	EXPECT_EQ(QED_FMT_RAW, qedblk_probe_format(buf, 3, &other));
	memcpy(buf, "QFI\xfb", 4);
	EXPECT_EQ(QED_FMT_OTHER, qedblk_probe_format(buf, sizeof(buf), &other));
	EXPECT_STREQ("qcow2", other);
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 0x40, "\x7f\x10\xda\xbe", 4);
	EXPECT_EQ(QED_FMT_OTHER, qedblk_probe_format(buf, sizeof(buf), &other));
	EXPECT_STREQ("vdi", other);
	/* A magic past what was read does not count. */
	EXPECT_EQ(QED_FMT_RAW, qedblk_probe_format(buf, 0x42, &other));
	memcpy(buf, "# Disk DescriptorFile", 21);
	EXPECT_EQ(QED_FMT_OTHER, qedblk_probe_format(buf, sizeof(buf), &other));
	EXPECT_STREQ("vmdk", other);
}

TEST_HARNESS_MAIN
