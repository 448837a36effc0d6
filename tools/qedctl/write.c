// SPDX-License-Identifier: GPL-2.0
/*
 * Write guest bytes into a QED image file, offline (convert, rebase,
 * commit).  The order is the module's (qed_alloc.c, qed_table.c), so that
 * a crash at any point leaves an image QEMU opens and repairs:
 *
 *  - NEED_CHECK is set in the header and synced before the first cluster
 *    is allocated, and cleared only after everything else is synced;
 *  - a new cluster is appended at the cluster-aligned end of the file and
 *    written whole (what the caller did not give comes from the clusters'
 *    old contents: the backing chain, or zeros), and synced before the L2
 *    entry that points at it is written;
 *  - a new L2 table is written whole and synced before its L1 entry.
 *
 * The entries of one L2 table are changed in memory and written together
 * when the writer moves to another table or finishes: one sync per table,
 * not per cluster.  A new file that is renamed into place only when
 * complete (convert) needs no sync between the steps (!durable).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qedctl.h"

#define NO_TABLE	UINT64_MAX

static void __attribute__((noreturn, format(printf, 2, 3)))
writer_die(const struct writer *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	die("%s: %s", w->path, msg);
}

static void writer_sync(struct writer *w, const char *what)
{
	if (w->durable && fsync(w->fd) < 0)
		writer_die(w, "syncing %s: %s", what, strerror(errno));
}

static void writer_put(struct writer *w, const void *buf, uint64_t len, uint64_t off,
		       const char *what)
{
	int ret = pwrite_full(w->fd, buf, len, off);

	if (ret)
		writer_die(w, "writing %s at 0x%llx: %s", what, (unsigned long long)off,
			   strerror(-ret));
}

static void writer_header(struct writer *w)
{
	unsigned char hdr[QED_HEADER_BYTES];

	qedblk_header_encode(&w->g, hdr);
	writer_put(w, hdr, sizeof(hdr), 0, "the header");
	/* The header is what says which tables to trust: always synced. */
	if (fsync(w->fd) < 0)
		writer_die(w, "syncing the header: %s", strerror(errno));
}

/* Before the first change of a table: a crash from now on needs a check. */
static void writer_mark_dirty(struct writer *w)
{
	if (w->dirty)
		return;
	w->g.features |= QED_F_NEED_CHECK;
	writer_header(w);
	w->dirty = true;
}

/* Entries [@from, @to) of table @t (CPU order), written at table offset @off. */
static void writer_table_put(struct writer *w, const uint64_t *t, uint64_t off, uint64_t from,
			     uint64_t to, const char *what)
{
	/* Whole 512-byte sectors, as QEMU writes them. */
	uint64_t s = (from * 8) & ~511ull, e = (to * 8 + 511) & ~511ull, i;
	__le64 *buf = w->tbuf;

	if (e > w->g.table_bytes)
		e = w->g.table_bytes;
	for (i = s / 8; i < e / 8; i++)
		buf[i - s / 8] = cpu_to_le64(t[i]);
	writer_put(w, buf, e - s, off + s, what);
}

/* Write the changed entries of the L2 table in hand: after their data. */
static void writer_flush_l2(struct writer *w)
{
	uint64_t table;

	if (w->l2_index == NO_TABLE || w->l2_from >= w->l2_to)
		return;
	writer_sync(w, "data clusters");
	table = w->l1[w->l2_index];
	if (table == QED_ENTRY_UNALLOCATED) {
		table = w->file_end;
		w->file_end += w->g.table_bytes;
		writer_table_put(w, w->l2, table, 0, w->g.table_entries, "a new L2 table");
		writer_sync(w, "a new L2 table");
		w->l1[w->l2_index] = table;
		writer_table_put(w, w->l1, w->g.l1_table_offset, w->l2_index, w->l2_index + 1,
				 "the L1 table");
		writer_sync(w, "the L1 table");
	} else {
		writer_table_put(w, w->l2, table, w->l2_from, w->l2_to, "an L2 table");
		writer_sync(w, "an L2 table");
	}
	w->l2_from = UINT64_MAX;
	w->l2_to = 0;
}

/* The L2 table that maps guest offset @pos, in hand. */
static void writer_l2(struct writer *w, uint64_t pos)
{
	uint64_t l1i = qedblk_l1_index(&w->g, pos), table, i;
	enum qedblk_entry_error err;
	int ret;

	if (l1i == w->l2_index)
		return;
	writer_flush_l2(w);
	w->l2_index = NO_TABLE;
	table = w->l1[l1i];
	if (table == QED_ENTRY_UNALLOCATED) {
		memset(w->l2, 0, w->g.table_bytes);
	} else {
		err = qedblk_validate_table_offset(&w->g, table, w->file_end);
		if (err)
			writer_die(w, "L1 entry %llu (L2 table at 0x%llx): %s",
				   (unsigned long long)l1i, (unsigned long long)table,
				   qedblk_entry_strerror(err));
		ret = pread_full(w->fd, w->l2, w->g.table_bytes, table);
		if (ret)
			writer_die(w, "reading the L2 table at 0x%llx: %s",
				   (unsigned long long)table, strerror(-ret));
		for (i = 0; i < w->g.table_entries; i++)
			w->l2[i] = le64_to_cpu(w->l2[i]);
	}
	w->l2_index = l1i;
	w->l2_from = UINT64_MAX;
	w->l2_to = 0;
}

static void writer_set_entry(struct writer *w, uint32_t l2i, uint64_t entry)
{
	w->l2[l2i] = entry;
	if (l2i < w->l2_from)
		w->l2_from = l2i;
	if (l2i + 1 > w->l2_to)
		w->l2_to = l2i + 1;
}

int writer_open(struct writer *w, const char *path, int fd, const struct qedblk_geom *g,
		uint64_t file_size, bool durable)
{
	uint64_t i;
	int ret;

	memset(w, 0, sizeof(*w));
	w->path = path;
	w->fd = fd;
	w->g = *g;
	w->durable = durable;
	w->l2_index = NO_TABLE;
	w->file_end = qedblk_cluster_start(g, file_size);
	if (g->features & QED_F_NEED_CHECK) {
		snprintf(w->why, sizeof(w->why), "the image needs a check first"
			 " (qedctl check -r all, or qemu-img check -r all)");
		return -EINVAL;
	}
	w->l1 = malloc(g->table_bytes);
	w->l2 = malloc(g->table_bytes);
	w->tbuf = malloc(g->table_bytes);
	w->cbuf = malloc(g->cluster_size);
	if (!w->l1 || !w->l2 || !w->tbuf || !w->cbuf) {
		writer_free(w);
		snprintf(w->why, sizeof(w->why), "no memory for tables of %llu bytes",
			 (unsigned long long)g->table_bytes);
		return -ENOMEM;
	}
	ret = pread_full(fd, w->l1, g->table_bytes, g->l1_table_offset);
	if (ret) {
		writer_free(w);
		snprintf(w->why, sizeof(w->why), "reading the L1 table: %s", strerror(-ret));
		return ret;
	}
	for (i = 0; i < g->table_entries; i++)
		w->l1[i] = le64_to_cpu(w->l1[i]);
	return 0;
}

void writer_free(struct writer *w)
{
	free(w->l1);
	free(w->l2);
	free(w->tbuf);
	free(w->cbuf);
	w->l1 = w->l2 = NULL;
	w->tbuf = w->cbuf = NULL;
}

/* What cluster @pos (aligned) reads now, before it is changed, into w->cbuf. */
static void writer_old_cluster(struct writer *w, uint64_t pos, uint64_t entry)
{
	uint64_t len = w->g.cluster_size;
	int ret;

	memset(w->cbuf, 0, len);
	if (pos + len > w->g.image_size)
		len = w->g.image_size - pos;
	if (entry == QED_ENTRY_ZERO)
		return;
	if (entry != QED_ENTRY_UNALLOCATED) {
		ret = pread_full(w->fd, w->cbuf, len, entry);
		if (ret)
			writer_die(w, "reading the cluster at 0x%llx: %s",
				   (unsigned long long)entry, strerror(-ret));
		return;
	}
	if (w->below && reader_pread_from(w->below, w->below_layer, w->cbuf, len, pos))
		die("%s", w->below->why);
}

/*
 * Guest bytes [@off, @off + @len) become @buf, or zeros when @buf is NULL:
 * a whole cluster of zeros becomes a zero entry, without data.
 */
static void writer_cluster(struct writer *w, const void *buf, uint64_t len, uint64_t off)
{
	uint64_t pos = qedblk_cluster_start(&w->g, off), in = off - pos, entry, tail;
	uint32_t l2i = qedblk_l2_index(&w->g, off);
	enum qedblk_entry_error err;
	bool whole;

	writer_l2(w, pos);
	entry = w->l2[l2i];
	/* The part of the last cluster past the guest's end does not count. */
	tail = pos + w->g.cluster_size > w->g.image_size ? pos + w->g.cluster_size -
	       w->g.image_size : 0;
	whole = in == 0 && len + tail >= w->g.cluster_size;
	if (entry != QED_ENTRY_UNALLOCATED && entry != QED_ENTRY_ZERO) {
		err = qedblk_validate_cluster_offset(&w->g, entry, w->file_end);
		if (err)
			writer_die(w, "L2 entry for guest offset 0x%llx (0x%llx): %s",
				   (unsigned long long)pos, (unsigned long long)entry,
				   qedblk_entry_strerror(err));
		/* In place, zeros too: a zero entry would leak the cluster. */
		if (buf) {
			writer_put(w, buf, len, entry + in, "data");
		} else {
			memset(w->cbuf, 0, len);
			writer_put(w, w->cbuf, len, entry + in, "zeros");
		}
		return;
	}
	writer_mark_dirty(w);
	if (!buf && whole) {
		writer_set_entry(w, l2i, QED_ENTRY_ZERO);
		return;
	}
	if (!whole)
		writer_old_cluster(w, pos, entry);
	if (buf)
		memcpy((char *)w->cbuf + in, buf, len);
	else
		memset((char *)w->cbuf + in, 0, len);
	if (whole)
		memset((char *)w->cbuf + len, 0, w->g.cluster_size - len);
	entry = w->file_end;
	writer_put(w, w->cbuf, w->g.cluster_size, entry, "a new cluster");
	w->file_end += w->g.cluster_size;
	writer_set_entry(w, l2i, entry);
}

static void writer_range(struct writer *w, const void *buf, uint64_t len, uint64_t off)
{
	uint64_t n;

	if (off > w->g.image_size || len > w->g.image_size - off)
		writer_die(w, "write at 0x%llx past the image's end",
			   (unsigned long long)(off + len));
	while (len) {
		n = w->g.cluster_size - qedblk_offset_in_cluster(&w->g, off);
		if (n > len)
			n = len;
		writer_cluster(w, buf, n, off);
		if (buf)
			buf = (const char *)buf + n;
		len -= n;
		off += n;
	}
}

void writer_pwrite(struct writer *w, const void *buf, uint64_t len, uint64_t off)
{
	writer_range(w, buf, len, off);
}

void writer_zero(struct writer *w, uint64_t len, uint64_t off)
{
	writer_range(w, NULL, len, off);
}

void writer_close(struct writer *w)
{
	writer_flush_l2(w);
	if (w->dirty) {
		/* Everything NEED_CHECK protected is on disk before it goes. */
		if (fsync(w->fd) < 0)
			writer_die(w, "syncing: %s", strerror(errno));
		w->g.features &= ~QED_F_NEED_CHECK;
		writer_header(w);
		w->dirty = false;
	}
	writer_free(w);
}
