// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit twin of tools/unit/qed_format_test.c: the header and table code
 * qedblk shares with qedctl, tested in the kernel it is built into, with
 * the kernel's compiler flags and byte-order helpers.  A case added to one
 * belongs in the other.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/sizes.h>

#include "qed_format.h"

#define MiB ((u64)SZ_1M)
#define GiB ((u64)SZ_1G)

static void qedblk_test_encode(const struct qedblk_geom *g, u8 *buf)
{
	memset(buf, 0, QED_HEADER_BYTES);
	qedblk_header_encode(g, buf);
}

static void qedblk_test_geom(struct kunit *test, struct qedblk_geom *g, u32 cs, u32 ts,
			     u64 size)
{
	KUNIT_ASSERT_EQ(test, QED_HDR_OK, qedblk_geom_init(g, cs, ts, size));
}

static u64 qedblk_test_min_file(const struct qedblk_geom *g)
{
	return g->l1_table_offset + g->table_bytes;
}

static void qedblk_test_default_geometry_roundtrip(struct kunit *test)
{
	u8 buf[QED_HEADER_BYTES];
	struct qedblk_geom g, d;

	qedblk_test_geom(test, &g, 65536, 4, 10 * GiB);
	qedblk_test_encode(&g, buf);
	/* The magic is "QED\0" on disk, whatever the CPU's byte order. */
	KUNIT_EXPECT_EQ(test, 0, memcmp(buf, "QED", 4));
	KUNIT_ASSERT_EQ(test, QED_HDR_OK,
			qedblk_header_decode(buf, sizeof(buf), qedblk_test_min_file(&g), &d));
	KUNIT_EXPECT_EQ(test, 65536, d.cluster_size);
	KUNIT_EXPECT_EQ(test, 4, d.table_size);
	KUNIT_EXPECT_EQ(test, 1, d.header_size);
	KUNIT_EXPECT_EQ(test, 65536, d.l1_table_offset);
	KUNIT_EXPECT_EQ(test, 10 * GiB, d.image_size);
	KUNIT_EXPECT_EQ(test, 16, d.cluster_shift);
	KUNIT_EXPECT_EQ(test, 32768, d.table_entries);
	KUNIT_EXPECT_EQ(test, 15, d.table_shift);
	KUNIT_EXPECT_EQ(test, 262144, d.table_bytes);
	/* One L2 table covers 32768 * 64 KiB = 2 GiB. */
	KUNIT_EXPECT_EQ(test, 2 * GiB, qedblk_l2_coverage(&d));
	KUNIT_EXPECT_EQ(test, 5, d.l1_entries_used);
}

static void qedblk_test_address_translation(struct kunit *test)
{
	u64 pos = 3 * 2 * GiB + 5 * 65536 + 1234;
	struct qedblk_geom g;

	qedblk_test_geom(test, &g, 65536, 4, 100 * GiB);
	KUNIT_EXPECT_EQ(test, 3, qedblk_l1_index(&g, pos));
	KUNIT_EXPECT_EQ(test, 5, qedblk_l2_index(&g, pos));
	KUNIT_EXPECT_EQ(test, 1234, qedblk_offset_in_cluster(&g, pos));
	KUNIT_EXPECT_EQ(test, pos - 1234, qedblk_cluster_start(&g, pos));
	KUNIT_EXPECT_EQ(test, 0, qedblk_l1_index(&g, 2 * GiB - 1));
	KUNIT_EXPECT_EQ(test, 32767, qedblk_l2_index(&g, 2 * GiB - 1));
	KUNIT_EXPECT_EQ(test, 1, qedblk_l1_index(&g, 2 * GiB));
	KUNIT_EXPECT_EQ(test, 0, qedblk_l2_index(&g, 2 * GiB));
}

static void qedblk_test_max_image_size_never_overflows(struct kunit *test)
{
	struct qedblk_geom g;

	/* 4 KiB clusters, one-cluster tables: 512 * 512 * 4 KiB = 1 GiB. */
	KUNIT_EXPECT_EQ(test, 1 * GiB, qedblk_max_image_size(4096, 1));
	/* The default: 32768^2 * 64 KiB = 64 TiB. */
	KUNIT_EXPECT_EQ(test, 64ull << 40, qedblk_max_image_size(65536, 4));
	/* 2^80 bytes would overflow: it saturates instead. */
	KUNIT_EXPECT_EQ(test, (1ull << 63) - 512, qedblk_max_image_size(64u << 20, 16));
	KUNIT_EXPECT_EQ(test, QED_HDR_OK, qedblk_geom_init(&g, 64u << 20, 16, 1ull << 62));
	KUNIT_EXPECT_EQ(test, QED_HDR_IMAGE_SIZE, qedblk_geom_init(&g, 4096, 1, GiB + 512));
	KUNIT_EXPECT_EQ(test, QED_HDR_OK, qedblk_geom_init(&g, 4096, 1, GiB));
}

static void qedblk_test_geometries_qemu_opens(struct kunit *test)
{
	struct qedblk_geom g;

	/* One-cluster tables: QEMU's table offset check fails them. */
	KUNIT_EXPECT_EQ(test, QED_HDR_QEMU_TABLE_SIZE, qedblk_qemu_geometry(4096, 1));
	KUNIT_EXPECT_EQ(test, QED_HDR_OK, qedblk_qemu_geometry(4096, 2));
	KUNIT_EXPECT_EQ(test, QED_HDR_OK, qedblk_qemu_geometry(65536, 16));
	/* N * N * cluster_size: 2^21 * 2^21 * 2^22 = 2^64 wraps to 0. */
	KUNIT_EXPECT_EQ(test, QED_HDR_QEMU_MAX_SIZE, qedblk_qemu_geometry(4u << 20, 4));
	/* 2^20 * 2^20 * 2^22 = 2^62 does not. */
	KUNIT_EXPECT_EQ(test, QED_HDR_OK, qedblk_qemu_geometry(4u << 20, 2));
	KUNIT_EXPECT_EQ(test, QED_HDR_QEMU_MAX_SIZE, qedblk_qemu_geometry(2u << 20, 16));
	KUNIT_EXPECT_EQ(test, QED_HDR_QEMU_MAX_SIZE, qedblk_qemu_geometry(8u << 20, 2));
	KUNIT_EXPECT_EQ(test, QED_HDR_QEMU_MAX_SIZE, qedblk_qemu_geometry(64u << 20, 16));
	/* The format itself allows them all. */
	KUNIT_EXPECT_EQ(test, QED_HDR_OK, qedblk_geom_init(&g, 4096, 1, GiB));
}

static void qedblk_test_image_size_rules(struct kunit *test)
{
	struct qedblk_geom g;

	/* Any multiple of 512, not of the cluster size; zero is legal. */
	KUNIT_EXPECT_EQ(test, QED_HDR_OK, qedblk_geom_init(&g, 65536, 4, 5000704));
	KUNIT_EXPECT_EQ(test, 1, g.l1_entries_used);
	KUNIT_EXPECT_EQ(test, QED_HDR_OK, qedblk_geom_init(&g, 65536, 4, 0));
	KUNIT_EXPECT_EQ(test, 0, g.l1_entries_used);
	KUNIT_EXPECT_EQ(test, QED_HDR_IMAGE_SIZE, qedblk_geom_init(&g, 65536, 4, 5000705));
}

/* One way to spoil a good header (and the file size it is checked against). */
struct qedblk_test_bad {
	const char *what;
	enum qedblk_header_error want;
	void (*mutate)(struct qedblk_geom *g, u64 *file_size);
};

static void qedblk_m_cs_npot(struct qedblk_geom *g, u64 *f)
{
	g->cluster_size = 12288;
}

static void qedblk_m_cs_small(struct qedblk_geom *g, u64 *f)
{
	g->cluster_size = 2048;
}

static void qedblk_m_cs_big(struct qedblk_geom *g, u64 *f)
{
	g->cluster_size = 128u << 20;
}

static void qedblk_m_cs_zero(struct qedblk_geom *g, u64 *f)
{
	g->cluster_size = 0;
}

static void qedblk_m_ts_zero(struct qedblk_geom *g, u64 *f)
{
	g->table_size = 0;
}

static void qedblk_m_ts_npot(struct qedblk_geom *g, u64 *f)
{
	g->table_size = 6;
}

static void qedblk_m_ts_big(struct qedblk_geom *g, u64 *f)
{
	g->table_size = 32;
}

static void qedblk_m_hs_zero(struct qedblk_geom *g, u64 *f)
{
	g->header_size = 0;
}

static void qedblk_m_hs_ovf(struct qedblk_geom *g, u64 *f)
{
	g->header_size = 65536;
}

static void qedblk_m_feat(struct qedblk_geom *g, u64 *f)
{
	g->features = 8;
}

static void qedblk_m_size_odd(struct qedblk_geom *g, u64 *f)
{
	g->image_size = 1000;
}

static void qedblk_m_size_max(struct qedblk_geom *g, u64 *f)
{
	g->image_size = ~0ull & ~511ull;
}

static void qedblk_m_l1_misaligned(struct qedblk_geom *g, u64 *f)
{
	g->l1_table_offset += 4096;
}

static void qedblk_m_l1_header(struct qedblk_geom *g, u64 *f)
{
	g->l1_table_offset = 0;
}

static void qedblk_m_l1_eof(struct qedblk_geom *g, u64 *f)
{
	*f = g->l1_table_offset + g->table_bytes - 1;
}

static void qedblk_m_l1_wrap(struct qedblk_geom *g, u64 *f)
{
	g->l1_table_offset = ~0ull & ~65535ull;
}

static void qedblk_m_backing(struct qedblk_geom *g, u32 offset, u32 size)
{
	g->features |= QED_F_BACKING_FILE;
	g->backing_name_offset = offset;
	g->backing_name_size = size;
}

static void qedblk_m_bk_out(struct qedblk_geom *g, u64 *f)
{
	qedblk_m_backing(g, 65530, 7);
}

static void qedblk_m_bk_wrap(struct qedblk_geom *g, u64 *f)
{
	qedblk_m_backing(g, 0xffffffffu, 2);
}

static void qedblk_m_bk_empty(struct qedblk_geom *g, u64 *f)
{
	qedblk_m_backing(g, 64, 0);
}

static void qedblk_m_bk_long(struct qedblk_geom *g, u64 *f)
{
	qedblk_m_backing(g, 64, 4096);
}

static void qedblk_m_noprobe(struct qedblk_geom *g, u64 *f)
{
	g->features |= QED_F_BACKING_FORMAT_NO_PROBE;
}

static const struct qedblk_test_bad qedblk_test_bad_headers[] = {
	{ "cluster size not a power of two", QED_HDR_CLUSTER_SIZE, qedblk_m_cs_npot },
	{ "cluster size below 4 KiB", QED_HDR_CLUSTER_SIZE, qedblk_m_cs_small },
	{ "cluster size above 64 MiB", QED_HDR_CLUSTER_SIZE, qedblk_m_cs_big },
	{ "cluster size zero", QED_HDR_CLUSTER_SIZE, qedblk_m_cs_zero },
	{ "table size zero", QED_HDR_TABLE_SIZE, qedblk_m_ts_zero },
	{ "table size not a power of two", QED_HDR_TABLE_SIZE, qedblk_m_ts_npot },
	{ "table size above 16", QED_HDR_TABLE_SIZE, qedblk_m_ts_big },
	{ "header size zero", QED_HDR_HEADER_SIZE, qedblk_m_hs_zero },
	{ "header size overflowing 32 bits", QED_HDR_HEADER_SIZE, qedblk_m_hs_ovf },
	{ "unknown feature bit", QED_HDR_FEATURES, qedblk_m_feat },
	{ "image size not a multiple of 512", QED_HDR_IMAGE_SIZE, qedblk_m_size_odd },
	{ "image size beyond the geometry", QED_HDR_IMAGE_SIZE, qedblk_m_size_max },
	{ "L1 offset misaligned", QED_HDR_L1_OFFSET, qedblk_m_l1_misaligned },
	{ "L1 offset in the header", QED_HDR_L1_OFFSET, qedblk_m_l1_header },
	{ "L1 table past the end of the file", QED_HDR_L1_OFFSET, qedblk_m_l1_eof },
	{ "L1 offset wrapping around", QED_HDR_L1_OFFSET, qedblk_m_l1_wrap },
	{ "backing name past the header", QED_HDR_BACKING_NAME, qedblk_m_bk_out },
	{ "backing name offset wrapping", QED_HDR_BACKING_NAME, qedblk_m_bk_wrap },
	{ "backing name empty", QED_HDR_BACKING_NAME, qedblk_m_bk_empty },
	{ "backing name of 4096 bytes", QED_HDR_BACKING_NAME, qedblk_m_bk_long },
	{ "no-probe without a backing file", QED_HDR_BACKING_FLAGS, qedblk_m_noprobe },
};

static void qedblk_test_bad_desc(const struct qedblk_test_bad *t, char *desc)
{
	strscpy(desc, t->what, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(qedblk_test_bad, qedblk_test_bad_headers, qedblk_test_bad_desc);

/* Each bad header is refused, and for its own reason. */
static void qedblk_test_bad_header_is_refused(struct kunit *test)
{
	const struct qedblk_test_bad *t = test->param_value;
	u8 buf[QED_HEADER_BYTES];
	struct qedblk_geom g, d;
	u64 fsize;

	qedblk_test_geom(test, &g, 65536, 4, GiB);
	fsize = qedblk_test_min_file(&g);
	t->mutate(&g, &fsize);
	qedblk_test_encode(&g, buf);
	KUNIT_EXPECT_EQ(test, t->want, qedblk_header_decode(buf, sizeof(buf), fsize, &d));
	KUNIT_EXPECT_NOT_NULL(test, strchr(qedblk_header_strerror(t->want), ' '));
	KUNIT_EXPECT_NE(test, 0, qedblk_header_errno(t->want));
}

static void qedblk_test_short_and_foreign_files(struct kunit *test)
{
	u8 buf[QED_HEADER_BYTES] = "QFI\xfb";	/* qcow2 */
	struct qedblk_geom d;

	KUNIT_EXPECT_EQ(test, QED_HDR_SHORT, qedblk_header_decode(buf, 10, 1000, &d));
	KUNIT_EXPECT_EQ(test, QED_HDR_SHORT, qedblk_header_decode(buf, sizeof(buf), 63, &d));
	KUNIT_EXPECT_EQ(test, QED_HDR_MAGIC, qedblk_header_decode(buf, sizeof(buf), 1 << 20, &d));
	KUNIT_EXPECT_EQ(test, -EINVAL, qedblk_header_errno(QED_HDR_MAGIC));
	KUNIT_EXPECT_EQ(test, -EOPNOTSUPP, qedblk_header_errno(QED_HDR_FEATURES));
	KUNIT_EXPECT_STREQ(test, "unknown error", qedblk_header_strerror(QED_HDR__COUNT));
}

static void qedblk_test_known_features_are_accepted(struct kunit *test)
{
	u8 buf[QED_HEADER_BYTES];
	struct qedblk_geom g, d;

	qedblk_test_geom(test, &g, 65536, 4, GiB);
	g.features = QED_F_NEED_CHECK;
	g.compat_features = 1;			/* old copy-on-read bit: ignored */
	g.autoclear_features = 1ull << 63;	/* unknown autoclear: allowed */
	qedblk_test_encode(&g, buf);
	KUNIT_ASSERT_EQ(test, QED_HDR_OK,
			qedblk_header_decode(buf, sizeof(buf), qedblk_test_min_file(&g), &d));
	KUNIT_EXPECT_EQ(test, QED_F_NEED_CHECK, d.features);
	KUNIT_EXPECT_EQ(test, 1ull << 63, d.autoclear_features);
}

static void qedblk_test_table_size_one_is_valid(struct kunit *test)
{
	u8 buf[QED_HEADER_BYTES];
	struct qedblk_geom g, d;

	/* QEMU 7.2 refuses these; the spec allows them. */
	qedblk_test_geom(test, &g, 4096, 1, 512 * MiB);
	qedblk_test_encode(&g, buf);
	KUNIT_EXPECT_EQ(test, QED_HDR_OK,
			qedblk_header_decode(buf, sizeof(buf), qedblk_test_min_file(&g), &d));
}

static void qedblk_test_cluster_and_table_offsets(struct kunit *test)
{
	u64 end = 10 * 65536;
	struct qedblk_geom g;

	qedblk_test_geom(test, &g, 65536, 4, GiB);
	KUNIT_EXPECT_EQ(test, QED_ENTRY_OK, qedblk_validate_cluster_offset(&g, 5 * 65536, end));
	/* The L1 table is clusters 1 to 4: guest data must never go there. */
	KUNIT_EXPECT_EQ(test, QED_ENTRY_IN_L1, qedblk_validate_cluster_offset(&g, 65536, end));
	KUNIT_EXPECT_EQ(test, QED_ENTRY_IN_L1, qedblk_validate_cluster_offset(&g, 4 * 65536, end));
	KUNIT_EXPECT_EQ(test, QED_ENTRY_IN_L1, qedblk_validate_table_offset(&g, 65536, end));
	KUNIT_EXPECT_EQ(test, QED_ENTRY_IN_L1, qedblk_validate_table_offset(&g, 4 * 65536, end));
	KUNIT_EXPECT_EQ(test, QED_ENTRY_OK, qedblk_validate_table_offset(&g, 5 * 65536, end));
	KUNIT_EXPECT_STREQ(test, "offset inside the L1 table",
			   qedblk_entry_strerror(QED_ENTRY_IN_L1));
	KUNIT_EXPECT_EQ(test, QED_ENTRY_MISALIGNED,
			qedblk_validate_cluster_offset(&g, 65536 + 512, end));
	KUNIT_EXPECT_EQ(test, QED_ENTRY_MISALIGNED, qedblk_validate_cluster_offset(&g, 1, end));
	KUNIT_EXPECT_EQ(test, QED_ENTRY_IN_HEADER, qedblk_validate_cluster_offset(&g, 0, end));
	KUNIT_EXPECT_EQ(test, QED_ENTRY_PAST_EOF, qedblk_validate_cluster_offset(&g, end, end));
	KUNIT_EXPECT_EQ(test, QED_ENTRY_OK, qedblk_validate_cluster_offset(&g, end - 65536, end));
	/* A table is four clusters: its last one must lie inside too. */
	KUNIT_EXPECT_EQ(test, QED_ENTRY_OK,
			qedblk_validate_table_offset(&g, end - 4 * 65536, end));
	KUNIT_EXPECT_EQ(test, QED_ENTRY_PAST_EOF,
			qedblk_validate_table_offset(&g, end - 3 * 65536, end));
	KUNIT_EXPECT_EQ(test, QED_ENTRY_PAST_EOF,
			qedblk_validate_table_offset(&g, ~0ull & ~65535ull, ~0ull));
	KUNIT_EXPECT_STREQ(test, "offset not cluster-aligned",
			   qedblk_entry_strerror(QED_ENTRY_MISALIGNED));
}

static void qedblk_test_backing_name(struct kunit *test)
{
	struct qedblk_geom g;
	char name[64];
	u8 *hdr;

	hdr = kunit_kzalloc(test, 4096, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, hdr);
	qedblk_test_geom(test, &g, 65536, 4, GiB);
	g.features |= QED_F_BACKING_FILE;
	g.backing_name_offset = 64;
	g.backing_name_size = 8;
	memcpy(hdr + 64, "base.raw", 8);
	KUNIT_ASSERT_EQ(test, QED_HDR_OK, qedblk_backing_name(&g, hdr, 4096, name, sizeof(name)));
	KUNIT_EXPECT_STREQ(test, "base.raw", name);
	/* Not NUL-terminated on disk, and must not contain NUL. */
	hdr[67] = 0;
	KUNIT_EXPECT_EQ(test, QED_HDR_BACKING_NAME,
			qedblk_backing_name(&g, hdr, 4096, name, sizeof(name)));
	hdr[67] = 'e';
	/* The caller's buffer must hold the name and a NUL. */
	KUNIT_EXPECT_EQ(test, QED_HDR_BACKING_NAME, qedblk_backing_name(&g, hdr, 4096, name, 8));
	KUNIT_EXPECT_EQ(test, QED_HDR_OK, qedblk_backing_name(&g, hdr, 4096, name, 9));
	/* Outside what the caller read. */
	KUNIT_EXPECT_EQ(test, QED_HDR_BACKING_NAME,
			qedblk_backing_name(&g, hdr, 70, name, sizeof(name)));
	g.features = 0;
	KUNIT_EXPECT_EQ(test, QED_HDR_OK, qedblk_backing_name(&g, hdr, 4096, name, sizeof(name)));
	KUNIT_EXPECT_STREQ(test, "", name);
}

static void qedblk_test_probe_format(struct kunit *test)
{
	const char *other;
	u8 *buf;

	buf = kunit_kzalloc(test, QED_PROBE_BYTES, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, QED_FMT_RAW, qedblk_probe_format(buf, QED_PROBE_BYTES, &other));
	KUNIT_EXPECT_NULL(test, other);
	memcpy(buf, "QED", 4);
	KUNIT_EXPECT_EQ(test, QED_FMT_QED, qedblk_probe_format(buf, QED_PROBE_BYTES, &other));
	/* Too short to hold the magic: raw, as QEMU probes an empty file. */
	KUNIT_EXPECT_EQ(test, QED_FMT_RAW, qedblk_probe_format(buf, 3, &other));
	memcpy(buf, "QFI\xfb", 4);
	KUNIT_EXPECT_EQ(test, QED_FMT_OTHER, qedblk_probe_format(buf, QED_PROBE_BYTES, &other));
	KUNIT_EXPECT_STREQ(test, "qcow2", other);
	memset(buf, 0, QED_PROBE_BYTES);
	memcpy(buf + 0x40, "\x7f\x10\xda\xbe", 4);
	KUNIT_EXPECT_EQ(test, QED_FMT_OTHER, qedblk_probe_format(buf, QED_PROBE_BYTES, &other));
	KUNIT_EXPECT_STREQ(test, "vdi", other);
	/* A magic past what was read does not count. */
	KUNIT_EXPECT_EQ(test, QED_FMT_RAW, qedblk_probe_format(buf, 0x42, &other));
	memcpy(buf, "# Disk DescriptorFile", 21);
	KUNIT_EXPECT_EQ(test, QED_FMT_OTHER, qedblk_probe_format(buf, QED_PROBE_BYTES, &other));
	KUNIT_EXPECT_STREQ(test, "vmdk", other);
}

static struct kunit_case qedblk_format_cases[] = {
	KUNIT_CASE(qedblk_test_default_geometry_roundtrip),
	KUNIT_CASE(qedblk_test_address_translation),
	KUNIT_CASE(qedblk_test_max_image_size_never_overflows),
	KUNIT_CASE(qedblk_test_geometries_qemu_opens),
	KUNIT_CASE(qedblk_test_image_size_rules),
	KUNIT_CASE_PARAM(qedblk_test_bad_header_is_refused, qedblk_test_bad_gen_params),
	KUNIT_CASE(qedblk_test_short_and_foreign_files),
	KUNIT_CASE(qedblk_test_known_features_are_accepted),
	KUNIT_CASE(qedblk_test_table_size_one_is_valid),
	KUNIT_CASE(qedblk_test_cluster_and_table_offsets),
	KUNIT_CASE(qedblk_test_backing_name),
	KUNIT_CASE(qedblk_test_probe_format),
	{}
};

static struct kunit_suite qedblk_format_suite = {
	.name = "qedblk_format",
	.test_cases = qedblk_format_cases,
};

kunit_test_suite(qedblk_format_suite);
