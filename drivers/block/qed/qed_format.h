/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QED on-disk format: header layout, validation and table arithmetic.
 *
 * This file and qed_format.c are shared verbatim by the kernel module,
 * qedctl, the host unit tests and the fuzzers.  They are kernel code and
 * use nothing but fixed-width integers, byte-order helpers and the string
 * functions; userspace builds find those in tools/include.  Each function
 * is documented at its definition in qed_format.c.
 */
#ifndef QED_FORMAT_H
#define QED_FORMAT_H

#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/byteorder.h>

#define QED_MAGIC			0x00444551u	/* "QED\0" */
#define QED_HEADER_BYTES		64u

#define QED_F_BACKING_FILE		0x01ull
#define QED_F_NEED_CHECK		0x02ull
#define QED_F_BACKING_FORMAT_NO_PROBE	0x04ull
#define QED_FEATURE_MASK		(QED_F_BACKING_FILE | QED_F_NEED_CHECK | \
					 QED_F_BACKING_FORMAT_NO_PROBE)
#define QED_COMPAT_FEATURE_MASK		0ull
#define QED_AUTOCLEAR_FEATURE_MASK	0ull

#define QED_MIN_CLUSTER_SIZE		(4u * 1024)
#define QED_MAX_CLUSTER_SIZE		(64u * 1024 * 1024)
#define QED_DEFAULT_CLUSTER_SIZE	(64u * 1024)
#define QED_MIN_TABLE_SIZE		1u
#define QED_MAX_TABLE_SIZE		16u
#define QED_DEFAULT_TABLE_SIZE		4u
/* QEMU refuses backing names that do not fit its 4096-byte buffer. */
#define QED_MAX_BACKING_NAME		4095u

/* Special table entries. */
#define QED_ENTRY_UNALLOCATED		0ull
#define QED_ENTRY_ZERO			1ull

/* The header exactly as it lies at offset 0 of the image, little-endian. */
struct qedblk_header_disk {
	__le32 magic;
	__le32 cluster_size;
	__le32 table_size;
	__le32 header_size;
	__le64 features;
	__le64 compat_features;
	__le64 autoclear_features;
	__le64 l1_table_offset;
	__le64 image_size;
	__le32 backing_filename_offset;
	__le32 backing_filename_size;
};

/* Every field is naturally aligned: the struct needs no packing. */
static_assert(sizeof(struct qedblk_header_disk) == QED_HEADER_BYTES,
	      "the QED header is 64 bytes");

/* A validated header in CPU order, with the geometry derived from it. */
struct qedblk_geom {
	u32 cluster_size;
	u32 table_size;
	u32 header_size;
	u64 features;
	u64 compat_features;
	u64 autoclear_features;
	u64 l1_table_offset;
	u64 image_size;
	u32 backing_name_offset;
	u32 backing_name_size;

	u32 cluster_shift;	/* log2(cluster_size) */
	u32 table_entries;	/* N: entries in one L1 or L2 table */
	u32 table_shift;	/* log2(N) */
	u64 table_bytes;	/* cluster_size * table_size */
	u64 header_bytes;	/* header_size * cluster_size */
	u64 l1_entries_used;	/* L1 entries that cover image_size */
};

/* Why a header was refused; qedblk_header_strerror() words it. */
enum qedblk_header_error {
	QED_HDR_OK = 0,
	QED_HDR_SHORT,
	QED_HDR_MAGIC,
	QED_HDR_CLUSTER_SIZE,
	QED_HDR_TABLE_SIZE,
	QED_HDR_HEADER_SIZE,
	QED_HDR_FEATURES,
	QED_HDR_IMAGE_SIZE,
	QED_HDR_L1_OFFSET,
	QED_HDR_BACKING_NAME,
	QED_HDR_BACKING_FLAGS,
	QED_HDR_QEMU_TABLE_SIZE,
	QED_HDR_QEMU_MAX_SIZE,
	QED_HDR__COUNT,
};

enum qedblk_entry_error {
	QED_ENTRY_OK = 0,
	QED_ENTRY_MISALIGNED,
	QED_ENTRY_IN_HEADER,
	QED_ENTRY_IN_L1,
	QED_ENTRY_PAST_EOF,
};

/* The header and the geometry. */
const char *qedblk_header_strerror(enum qedblk_header_error err);
int qedblk_header_errno(enum qedblk_header_error err);
u64 qedblk_max_image_size(u32 cluster_size, u32 table_size);
enum qedblk_header_error qedblk_header_decode(const void *buf, u64 buf_len, u64 file_size,
					      struct qedblk_geom *g);
void qedblk_header_encode(const struct qedblk_geom *g, void *buf);
enum qedblk_header_error qedblk_geom_init(struct qedblk_geom *g, u32 cluster_size,
					  u32 table_size, u64 image_size);
enum qedblk_header_error qedblk_qemu_geometry(u32 cluster_size, u32 table_size);
void qedblk_geom_derive(struct qedblk_geom *g);

static inline u64 qedblk_l1_index(const struct qedblk_geom *g, u64 pos)
{
	return pos >> (g->cluster_shift + g->table_shift);
}

static inline u32 qedblk_l2_index(const struct qedblk_geom *g, u64 pos)
{
	return (u32)(pos >> g->cluster_shift) & (g->table_entries - 1);
}

static inline u64 qedblk_offset_in_cluster(const struct qedblk_geom *g, u64 pos)
{
	return pos & ((u64)g->cluster_size - 1);
}

static inline u64 qedblk_cluster_start(const struct qedblk_geom *g, u64 pos)
{
	return pos & ~((u64)g->cluster_size - 1);
}

/* Bytes of guest space one L2 table covers. */
static inline u64 qedblk_l2_coverage(const struct qedblk_geom *g)
{
	return (u64)g->table_entries << g->cluster_shift;
}

/* The offsets in table entries. */
enum qedblk_entry_error qedblk_validate_cluster_offset(const struct qedblk_geom *g, u64 off,
						       u64 file_end);
enum qedblk_entry_error qedblk_validate_table_offset(const struct qedblk_geom *g, u64 off,
						     u64 file_end);
const char *qedblk_entry_strerror(enum qedblk_entry_error err);

/* Backing files. */
enum qedblk_header_error qedblk_backing_name(const struct qedblk_geom *g, const void *hdr,
					     u64 hdr_len, char *name, u32 name_len);

/* What a backing file holds. */
enum qedblk_file_format {
	QED_FMT_RAW,
	QED_FMT_QED,
	QED_FMT_OTHER,		/* an image format we do not read */
};

/* Bytes of a file's start that qedblk_probe_format() looks at. */
#define QED_PROBE_BYTES			512u

enum qedblk_file_format qedblk_probe_format(const void *buf, u64 len, const char **other);
int qedblk_pseudo_fs_magic(unsigned long magic);

/*
 * QEMU's image locks (raw_apply_lock_bytes() in block/file-posix.c),
 * taken by the driver (qed_lock.c) and by qedctl (lock.c): shared open
 * file description locks on byte QED_LOCK_PERM + n for each permission n
 * held and on QED_LOCK_SHARED + n for each permission n not shared; a
 * conflict is another owner's lock on the opposite byte.  The permissions
 * are numbered as QEMU's BLK_PERM_* bits.
 */
#define QED_LOCK_PERM		100
#define QED_LOCK_SHARED		200

enum qedblk_perm {
	QED_PERM_CONSISTENT_READ,
	QED_PERM_WRITE,
	QED_PERM_WRITE_UNCHANGED,
	QED_PERM_RESIZE,
	QED_PERM_NR,
};

void qedblk_lock_perms(int write, unsigned long *held, unsigned long *unshared);
const char *qedblk_perm_name(unsigned int n);

#endif /* QED_FORMAT_H */
