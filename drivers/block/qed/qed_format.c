// SPDX-License-Identifier: GPL-2.0
/*
 * QED header validation and geometry, shared by the module, qedctl and the
 * host unit tests.  Every rule here is one a QED image written by QEMU
 * obeys; anything else is refused before a single table is read.
 *
 * Every function here is pure: it takes no lock, never sleeps, allocates
 * nothing and may be called in any context.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/magic.h>

#include "qed_format.h"

static const char * const qedblk_header_errors[QED_HDR__COUNT] = {
	[QED_HDR_OK]		= "valid",
	[QED_HDR_SHORT]		= "file too short for a QED header",
	[QED_HDR_MAGIC]		= "bad magic: not a QED image",
	[QED_HDR_CLUSTER_SIZE]	= "cluster size not a power of two in 4 KiB..64 MiB",
	[QED_HDR_TABLE_SIZE]	= "table size not a power of two in 1..16",
	[QED_HDR_HEADER_SIZE]	= "header size zero or overflowing",
	[QED_HDR_FEATURES]	= "unknown incompatible feature bits",
	[QED_HDR_IMAGE_SIZE]	= "image size not a multiple of 512 or too large",
	[QED_HDR_L1_OFFSET]	= "L1 table misaligned, in the header or past EOF",
	[QED_HDR_BACKING_NAME]	= "backing file name outside the header or invalid",
	[QED_HDR_BACKING_FLAGS]	= "backing format flag without a backing file",
	[QED_HDR_QEMU_TABLE_SIZE] = "QEMU cannot open an image with one-cluster tables",
	[QED_HDR_QEMU_MAX_SIZE]	= "QEMU cannot open this geometry: its maximum size overflows",
};

/**
 * qedblk_header_strerror() - word why a header was refused
 * @err: the refusal, as qedblk_header_decode() and the geometry checks
 *	return it
 *
 * Return: a static string for a message; "unknown error" for a value that
 * is no enum qedblk_header_error.
 */
const char *qedblk_header_strerror(enum qedblk_header_error err)
{
	if ((unsigned int)err >= QED_HDR__COUNT)
		return "unknown error";
	return qedblk_header_errors[err];
}

/**
 * qedblk_header_errno() - the errno an attach reports for a refused header
 * @err: the refusal
 *
 * Return: 0 for QED_HDR_OK; -EOPNOTSUPP for unknown incompatible features,
 * -EFBIG for an image size the geometry cannot address, -ENAMETOOLONG for a
 * backing file name that does not fit, -EINVAL for every other refusal.
 */
int qedblk_header_errno(enum qedblk_header_error err)
{
	switch (err) {
	case QED_HDR_OK:
		return 0;
	case QED_HDR_FEATURES:
		return -EOPNOTSUPP;
	case QED_HDR_IMAGE_SIZE:
		return -EFBIG;
	case QED_HDR_BACKING_NAME:
		return -ENAMETOOLONG;
	default:
		return -EINVAL;
	}
}

static int qedblk_is_pow2(u64 x)
{
	return x && !(x & (x - 1));
}

static u32 qedblk_log2(u64 x)
{
	u32 n = 0;

	while (x > 1) {
		x >>= 1;
		n++;
	}
	return n;
}

/* The largest byte count a device can address (loff_t is signed). */
#define QED_MAX_ADDRESSABLE	(((u64)1 << 63) - 512)

/**
 * qedblk_max_image_size() - the largest image a geometry can address
 * @cluster_size: bytes per cluster, a valid power of two
 * @table_size: clusters per table, a valid power of two
 *
 * What one L1 table of N entries, each pointing to an L2 table of N
 * entries, covers: N * N * cluster_size, capped at what a block device can
 * address.  A header's image_size, and a resize, may not exceed it.
 *
 * Return: the size in bytes.
 */
u64 qedblk_max_image_size(u32 cluster_size, u32 table_size)
{
	/* N * N * cluster_size, as a power of two: never overflows. */
	u32 shift = 2 * qedblk_log2((u64)cluster_size * table_size / 8) +
		    qedblk_log2(cluster_size);

	if (shift >= 63)
		return QED_MAX_ADDRESSABLE;
	return (u64)1 << shift;
}

/**
 * qedblk_geom_derive() - recompute the derived fields of a geometry
 * @g: the geometry, its cluster and table sizes already validated
 *
 * Call it after image_size or a table field changed: cluster_shift,
 * table_entries, table_shift, table_bytes, header_bytes and
 * l1_entries_used follow from them.
 */
void qedblk_geom_derive(struct qedblk_geom *g)
{
	u64 cover;

	g->cluster_shift = qedblk_log2(g->cluster_size);
	g->table_bytes = (u64)g->cluster_size * g->table_size;
	g->table_entries = (u32)(g->table_bytes / 8);
	g->table_shift = qedblk_log2(g->table_entries);
	g->header_bytes = (u64)g->header_size * g->cluster_size;
	cover = (u64)g->table_entries << g->cluster_shift;
	g->l1_entries_used = g->image_size / cover + !!(g->image_size % cover);
}

static enum qedblk_header_error qedblk_validate_geometry(const struct qedblk_geom *g)
{
	if (!qedblk_is_pow2(g->cluster_size) || g->cluster_size < QED_MIN_CLUSTER_SIZE ||
	    g->cluster_size > QED_MAX_CLUSTER_SIZE)
		return QED_HDR_CLUSTER_SIZE;
	if (!qedblk_is_pow2(g->table_size) || g->table_size > QED_MAX_TABLE_SIZE)
		return QED_HDR_TABLE_SIZE;
	if (g->image_size % 512 ||
	    g->image_size > qedblk_max_image_size(g->cluster_size, g->table_size))
		return QED_HDR_IMAGE_SIZE;
	return QED_HDR_OK;
}

/**
 * qedblk_qemu_geometry() - would QEMU open an image with this geometry?
 * @cluster_size: bytes per cluster, valid
 * @table_size: clusters per table, valid
 *
 * Not a header rule: QEMU creates such images itself, and the module
 * attaches them; only new images must avoid them.  QEMU (block/qed.c, 7.2)
 * creates two kinds of images it cannot open again: its table offset check
 * takes a table's last cluster equal to its first for an overflow, so
 * one-cluster tables fail; and it computes the maximum image size
 * N * N * cluster_size in 64 bits, which wraps to 0 from 2^64 on, so that
 * no image size is valid.
 *
 * Return: QED_HDR_OK, or the reason QEMU would refuse the image:
 * QED_HDR_QEMU_TABLE_SIZE or QED_HDR_QEMU_MAX_SIZE.
 */
enum qedblk_header_error qedblk_qemu_geometry(u32 cluster_size, u32 table_size)
{
	if (table_size < 2)
		return QED_HDR_QEMU_TABLE_SIZE;
	if (2 * qedblk_log2((u64)cluster_size * table_size / 8) + qedblk_log2(cluster_size) >= 64)
		return QED_HDR_QEMU_MAX_SIZE;
	return QED_HDR_OK;
}

/**
 * qedblk_geom_init() - fill in the geometry of a new image
 * @g: the geometry to fill; zeroed first
 * @cluster_size: bytes per cluster
 * @table_size: clusters per table
 * @image_size: the guest's size in bytes
 *
 * Checks the parameters as qemu-img create does, but not whether QEMU can
 * open the result (qedblk_qemu_geometry()).  The header is one cluster and
 * the L1 table follows it; no feature bit is set.
 *
 * Return: QED_HDR_OK with @g complete, or QED_HDR_CLUSTER_SIZE,
 * QED_HDR_TABLE_SIZE or QED_HDR_IMAGE_SIZE for the parameter out of range,
 * @g then being unusable.
 */
enum qedblk_header_error qedblk_geom_init(struct qedblk_geom *g, u32 cluster_size,
					  u32 table_size, u64 image_size)
{
	enum qedblk_header_error err;

	memset(g, 0, sizeof(*g));
	g->cluster_size = cluster_size;
	g->table_size = table_size;
	g->header_size = 1;
	g->image_size = image_size;
	g->l1_table_offset = cluster_size;
	err = qedblk_validate_geometry(g);
	if (err)
		return err;
	qedblk_geom_derive(g);
	return QED_HDR_OK;
}

/* Aligned, past the header and before the end: where any cluster may lie. */
static enum qedblk_entry_error qedblk_cluster_in_file(const struct qedblk_geom *g, u64 off,
						      u64 file_end)
{
	if (off & ((u64)g->cluster_size - 1))
		return QED_ENTRY_MISALIGNED;
	if (off < g->header_bytes)
		return QED_ENTRY_IN_HEADER;
	if (off >= file_end)
		return QED_ENTRY_PAST_EOF;
	return QED_ENTRY_OK;
}

/* The first and the last cluster of a table at @off lie in the file. */
static enum qedblk_entry_error qedblk_table_in_file(const struct qedblk_geom *g, u64 off,
						    u64 file_end)
{
	enum qedblk_entry_error err = qedblk_cluster_in_file(g, off, file_end);
	u64 last = off + g->table_bytes - g->cluster_size;

	if (err)
		return err;
	if (last < off)
		return QED_ENTRY_PAST_EOF;
	return qedblk_cluster_in_file(g, last, file_end);
}

/**
 * qedblk_header_decode() - decode and fully validate a QED header
 * @buf: the first bytes of the image file
 * @buf_len: how many bytes @buf holds; QED_HEADER_BYTES are read
 * @file_size: the image file's length in bytes
 * @g: where the header and the geometry derived from it go; zeroed first
 *
 * Offsets are checked against @file_size rounded down to a cluster, as
 * QEMU does.  The backing file name's place in the header is checked, not
 * its bytes: qedblk_backing_name() reads those.
 *
 * Return: QED_HDR_OK with @g complete, or the first rule the header breaks,
 * @g then being unusable.  qedblk_header_strerror() words the refusal and
 * qedblk_header_errno() turns it into an errno.
 */
enum qedblk_header_error qedblk_header_decode(const void *buf, u64 buf_len, u64 file_size,
					      struct qedblk_geom *g)
{
	struct qedblk_header_disk h;
	enum qedblk_header_error err;
	u64 file_end;

	memset(g, 0, sizeof(*g));
	if (buf_len < QED_HEADER_BYTES || file_size < QED_HEADER_BYTES)
		return QED_HDR_SHORT;
	memcpy(&h, buf, sizeof(h));
	if (le32_to_cpu(h.magic) != QED_MAGIC)
		return QED_HDR_MAGIC;

	g->cluster_size = le32_to_cpu(h.cluster_size);
	g->table_size = le32_to_cpu(h.table_size);
	g->header_size = le32_to_cpu(h.header_size);
	g->features = le64_to_cpu(h.features);
	g->compat_features = le64_to_cpu(h.compat_features);
	g->autoclear_features = le64_to_cpu(h.autoclear_features);
	g->l1_table_offset = le64_to_cpu(h.l1_table_offset);
	g->image_size = le64_to_cpu(h.image_size);
	g->backing_name_offset = le32_to_cpu(h.backing_filename_offset);
	g->backing_name_size = le32_to_cpu(h.backing_filename_size);

	if (g->features & ~QED_FEATURE_MASK)
		return QED_HDR_FEATURES;
	err = qedblk_validate_geometry(g);
	if (err)
		return err;
	/* QEMU computes header_size * cluster_size in 32 bits. */
	if (g->header_size == 0 || g->header_size > 0xffffffffu / g->cluster_size)
		return QED_HDR_HEADER_SIZE;
	qedblk_geom_derive(g);

	file_end = file_size & ~((u64)g->cluster_size - 1);
	if (qedblk_table_in_file(g, g->l1_table_offset, file_end))
		return QED_HDR_L1_OFFSET;

	if (g->features & QED_F_BACKING_FILE) {
		if (g->backing_name_size == 0 ||
		    g->backing_name_size > QED_MAX_BACKING_NAME ||
		    (u64)g->backing_name_offset + g->backing_name_size > g->header_bytes)
			return QED_HDR_BACKING_NAME;
	} else if (g->features & QED_F_BACKING_FORMAT_NO_PROBE) {
		return QED_HDR_BACKING_FLAGS;
	}
	return QED_HDR_OK;
}

/**
 * qedblk_header_encode() - encode a geometry as the on-disk header
 * @g: the geometry; only its header fields are stored, not the derived ones
 * @buf: where the QED_HEADER_BYTES (64) bytes of little-endian header go
 */
void qedblk_header_encode(const struct qedblk_geom *g, void *buf)
{
	struct qedblk_header_disk h;

	h.magic = cpu_to_le32(QED_MAGIC);
	h.cluster_size = cpu_to_le32(g->cluster_size);
	h.table_size = cpu_to_le32(g->table_size);
	h.header_size = cpu_to_le32(g->header_size);
	h.features = cpu_to_le64(g->features);
	h.compat_features = cpu_to_le64(g->compat_features);
	h.autoclear_features = cpu_to_le64(g->autoclear_features);
	h.l1_table_offset = cpu_to_le64(g->l1_table_offset);
	h.image_size = cpu_to_le64(g->image_size);
	h.backing_filename_offset = cpu_to_le32(g->backing_name_offset);
	h.backing_filename_size = cpu_to_le32(g->backing_name_size);
	memcpy(buf, &h, sizeof(h));
}

/**
 * qedblk_validate_cluster_offset() - is @off a usable data-cluster offset?
 * @g: the image's geometry
 * @off: the offset a table entry holds, not one of the special entries
 *	(QED_ENTRY_UNALLOCATED, QED_ENTRY_ZERO): the caller handles those
 * @file_end: the image file's length, rounded down to a cluster
 *
 * A data cluster is cluster-aligned, past the header, before @file_end and
 * outside the L1 table.
 *
 * Return: QED_ENTRY_OK, or what is wrong with @off; qedblk_entry_strerror()
 * words it.
 */
enum qedblk_entry_error qedblk_validate_cluster_offset(const struct qedblk_geom *g, u64 off,
						       u64 file_end)
{
	enum qedblk_entry_error err = qedblk_cluster_in_file(g, off, file_end);

	if (err)
		return err;
	/* Guest data written there would overwrite the L1 table. */
	if (off >= g->l1_table_offset && off - g->l1_table_offset < g->table_bytes)
		return QED_ENTRY_IN_L1;
	return QED_ENTRY_OK;
}

/**
 * qedblk_validate_table_offset() - is @off a usable L2 table offset?
 * @g: the image's geometry
 * @off: the offset an L1 entry holds, not QED_ENTRY_UNALLOCATED
 * @file_end: the image file's length, rounded down to a cluster
 *
 * The table's first and last cluster are cluster-aligned, past the header
 * and before @file_end, and the table does not overlap the L1 table.
 *
 * Return: QED_ENTRY_OK, or what is wrong with @off; qedblk_entry_strerror()
 * words it.
 */
enum qedblk_entry_error qedblk_validate_table_offset(const struct qedblk_geom *g, u64 off,
						     u64 file_end)
{
	enum qedblk_entry_error err = qedblk_table_in_file(g, off, file_end);

	if (err)
		return err;
	if (off < g->l1_table_offset + g->table_bytes && g->l1_table_offset < off + g->table_bytes)
		return QED_ENTRY_IN_L1;
	return QED_ENTRY_OK;
}

/**
 * qedblk_entry_strerror() - word why a table entry's offset was refused
 * @err: what qedblk_validate_cluster_offset() or
 *	qedblk_validate_table_offset() returned
 *
 * Return: a static string for a message; "unknown error" for a value that
 * is no enum qedblk_entry_error.
 */
const char *qedblk_entry_strerror(enum qedblk_entry_error err)
{
	switch (err) {
	case QED_ENTRY_OK:
		return "valid";
	case QED_ENTRY_MISALIGNED:
		return "offset not cluster-aligned";
	case QED_ENTRY_IN_HEADER:
		return "offset inside the header";
	case QED_ENTRY_IN_L1:
		return "offset inside the L1 table";
	case QED_ENTRY_PAST_EOF:
		return "offset past the end of the file";
	}
	return "unknown error";
}

/**
 * qedblk_backing_name() - copy the backing file name out of the header
 * @g: the image's geometry, from qedblk_header_decode()
 * @hdr: the header cluster(s), read from offset 0 of the file
 * @hdr_len: how many bytes @hdr holds
 * @name: where the name goes, NUL terminated; an empty string for an image
 *	without a backing file
 * @name_len: the size of @name in bytes
 *
 * Return: QED_HDR_OK, or QED_HDR_BACKING_NAME when the name does not fit in
 * @name, lies outside @hdr or contains a NUL byte.
 */
enum qedblk_header_error qedblk_backing_name(const struct qedblk_geom *g, const void *hdr,
					     u64 hdr_len, char *name, u32 name_len)
{
	const char *src = (const char *)hdr + g->backing_name_offset;
	u32 n = g->backing_name_size;

	if (!(g->features & QED_F_BACKING_FILE)) {
		if (name_len)
			name[0] = '\0';
		return QED_HDR_OK;
	}
	if ((u64)g->backing_name_offset + n > hdr_len || n >= name_len)
		return QED_HDR_BACKING_NAME;
	if (memchr(src, '\0', n))
		return QED_HDR_BACKING_NAME;
	memcpy(name, src, n);
	name[n] = '\0';
	return QED_HDR_OK;
}

/* Magics at the start of the image formats QEMU probes. */
static const struct {
	const char *name;
	u32 off;
	u32 len;
	const char *magic;
} qedblk_foreign_magics[] = {
	{ "qcow2", 0, 4, "QFI\xfb" },
	{ "vmdk", 0, 4, "KDMV" },
	{ "vmdk", 0, 4, "COWD" },
	{ "vmdk", 0, 21, "# Disk DescriptorFile" },
	{ "vdi", 0x40, 4, "\x7f\x10\xda\xbe" },
	{ "vhdx", 0, 8, "vhdxfile" },
	{ "vpc", 0, 8, "conectix" },
	{ "luks", 0, 6, "LUKS\xba\xbe" },
	{ "parallels", 0, 16, "WithoutFreeSpace" },
	{ "parallels", 0, 16, "WithouFreSpacExt" },
	{ "bochs", 0, 22, "Bochs Virtual HD Image" },
	{ "cloop", 0, 23, "#!/bin/sh\n#V2.0 Format\n" },
};

/**
 * qedblk_probe_format() - tell what format a backing file holds
 * @buf: the file's first bytes
 * @len: how many bytes @buf holds; QED_PROBE_BYTES are enough
 * @other: set to the format's name for QED_FMT_OTHER, to NULL otherwise
 *
 * As QEMU does when the overlay does not say the backing file is raw: QED
 * by its magic, the other image formats QEMU knows by theirs, raw
 * otherwise.
 *
 * Return: QED_FMT_QED, QED_FMT_OTHER or QED_FMT_RAW.
 */
enum qedblk_file_format qedblk_probe_format(const void *buf, u64 len, const char **other)
{
	const unsigned char *p = buf;
	u32 i;

	*other = NULL;
	if (len >= 4 && p[0] == 'Q' && p[1] == 'E' && p[2] == 'D' && p[3] == 0)
		return QED_FMT_QED;
	for (i = 0; i < ARRAY_SIZE(qedblk_foreign_magics); i++) {
		u32 off = qedblk_foreign_magics[i].off, n = qedblk_foreign_magics[i].len;

		if ((u64)off + n <= len && !memcmp(p + off, qedblk_foreign_magics[i].magic, n)) {
			*other = qedblk_foreign_magics[i].name;
			return QED_FMT_OTHER;
		}
	}
	return QED_FMT_RAW;
}

/**
 * qedblk_pseudo_fs_magic() - is @magic that of a pseudo file system?
 * @magic: a superblock's s_magic, or statfs' f_type
 *
 * proc, sysfs, debugfs and their kind have "regular files" that are state
 * or secrets, and never an image.
 *
 * Return: 1 for a pseudo file system, 0 otherwise.
 */
int qedblk_pseudo_fs_magic(unsigned long magic)
{
	switch (magic) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case SECURITYFS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case BPF_FS_MAGIC:
	case DEVPTS_SUPER_MAGIC:
	case EFIVARFS_MAGIC:
	case PSTOREFS_MAGIC:
		return 1;
	}
	return 0;
}

/**
 * qedblk_lock_perms() - the permissions an opener of an image locks
 * @write: nonzero for a writer, 0 for a reader
 * @held: set to the permissions held, one bit per enum qedblk_perm
 * @unshared: set to the permissions not shared with other openers
 *
 * A writer holds every permission, a reader consistent reads only; both
 * refuse to share write and resize, as QEMU does for a file that holds an
 * image's metadata.  Locking them is the caller's (QED_LOCK_PERM).
 */
void qedblk_lock_perms(int write, unsigned long *held, unsigned long *unshared)
{
	*held = 1ul << QED_PERM_CONSISTENT_READ;
	if (write)
		*held |= 1ul << QED_PERM_WRITE | 1ul << QED_PERM_WRITE_UNCHANGED |
			 1ul << QED_PERM_RESIZE;
	*unshared = 1ul << QED_PERM_WRITE | 1ul << QED_PERM_RESIZE;
}

/**
 * qedblk_perm_name() - the name QEMU's messages give a permission
 * @n: the permission, an enum qedblk_perm
 *
 * Return: a static string; "unknown" for @n out of range.
 */
const char *qedblk_perm_name(unsigned int n)
{
	static const char * const names[QED_PERM_NR] = {
		"consistent read", "write", "write unchanged", "resize",
	};

	return n < QED_PERM_NR ? names[n] : "unknown";
}
