// SPDX-License-Identifier: GPL-2.0
/*
 * Read guest bytes through a backing chain, and say where they come from.
 *
 * map and compare speak qemu-img's dialect, and qemu-img's answers follow
 * from QEMU's block status: which layer of the chain holds a range, and as
 * what (data at a file offset, zeros, nothing).  The status here is QEMU's,
 * run for run: QED's qed_find_cluster() (runs end at an L2 table's end and
 * where the kind of entry or the contiguity of the offsets changes), the
 * generic layer's rules for unallocated ranges over a backing file or past
 * its end, and file-posix's SEEK_DATA/SEEK_HOLE for raw files.  The same
 * run boundaries matter: qemu-img compare --strict compares status words
 * run by run, EOF bit included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "qedctl.h"

static int reader_fail(struct reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int reader_fail(struct reader *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return err;
}

/* A table of @g at @off, in CPU order, into @t. */
static int read_table(const struct layer *l, uint64_t off, uint64_t *t)
{
	uint32_t i;
	int ret = image_pread(l->img, t, l->g->table_bytes, off);

	if (ret)
		return ret;
	for (i = 0; i < l->g->table_entries; i++)
		t[i] = le64_to_cpu(t[i]);
	return 0;
}

static int layer_init_qed(struct reader *r, struct layer *l, const char *path,
			  const struct image *img)
{
	int ret;

	l->path = path;
	l->img = img;
	l->qed = true;
	l->g = &img->geom;
	l->size = img->geom.image_size;
	l->file_end = qedblk_cluster_start(l->g, img->file_size);
	l->l1 = malloc(l->g->table_bytes);
	l->l2 = malloc(l->g->table_bytes);
	if (!l->l1 || !l->l2)
		return reader_fail(r, -ENOMEM, "%s: no memory for tables of %llu bytes", path,
				   (unsigned long long)l->g->table_bytes);
	l->l2_off = 0;
	ret = read_table(l, l->g->l1_table_offset, l->l1);
	if (ret)
		return reader_fail(r, ret, "%s: reading the L1 table: %s", path, strerror(-ret));
	return 0;
}

/* QEMU rounds a raw file's size up to whole sectors; the tail reads zero. */
static void layer_init_raw(struct layer *l, const char *path, const struct image *img)
{
	l->path = path;
	l->img = img;
	l->qed = false;
	l->size = (img->file_size + 511) & ~511ull;
}

static int reader_open_files(struct reader *r, const char *path, enum image_access access,
			     const enum qedblk_file_format *want)
{
	enum qedblk_file_format fmt;
	const char *why, *other;
	char cwhy[4352];
	unsigned int i;
	int fd, ret;

	memset(r, 0, sizeof(*r));
	r->top.fd = -1;
	/* Probed first, as qemu-img without -f: a raw file is a raw image. */
	fd = open_regular(path, O_RDONLY, &why);
	if (fd < 0)
		return reader_fail(r, -errno, "%s: %s", path, why);
	ret = image_probe(fd, &fmt, &other);
	close(fd);
	if (ret)
		return reader_fail(r, ret, "%s: %s", path, strerror(-ret));
	/* Declared (-f): a raw file that starts like an image is still raw. */
	if (want)
		fmt = *want;
	if (fmt == QED_FMT_OTHER)
		return reader_fail(r, -EINVAL, "%s: a %s image; only QED and raw images are read",
				   path, other);
	if (fmt == QED_FMT_RAW) {
		struct stat st;

		r->top.fd = open_regular(path, O_RDONLY, &why);
		if (r->top.fd < 0)
			return reader_fail(r, -errno, "%s: %s", path, why);
		if (access == IMAGE_READ)
			image_lock_or_warn(r->top.fd, path);
		if (fstat(r->top.fd, &st) < 0)
			return reader_fail(r, -errno, "%s: %s", path, strerror(errno));
		r->top.file_size = (uint64_t)st.st_size;
		layer_init_raw(&r->l[0], path, &r->top);
		r->n = 1;
		return 0;
	}
	if (image_open_locked(path, &r->top, &why, access))
		return reader_fail(r, -EINVAL, "%s: %s", path, why);
	if (chain_open(path, &r->top, &r->chain, cwhy, sizeof(cwhy)))
		return reader_fail(r, -EINVAL, "%s: %s", path, cwhy);
	r->n = 1 + r->chain.n;
	ret = layer_init_qed(r, &r->l[0], path, &r->top);
	for (i = 0; !ret && i < r->chain.n; i++) {
		struct chain_file *f = &r->chain.f[i];

		if (f->format == QED_FMT_QED)
			ret = layer_init_qed(r, &r->l[i + 1], f->path, &f->img);
		else
			layer_init_raw(&r->l[i + 1], f->path, &f->img);
	}
	return ret;
}

int reader_open(struct reader *r, const char *path, enum image_access access)
{
	return reader_open_as(r, path, access, NULL);
}

int reader_open_as(struct reader *r, const char *path, enum image_access access,
		   const enum qedblk_file_format *fmt)
{
	int ret = reader_open_files(r, path, access, fmt);

	/* What was opened goes; r->why stays. */
	if (ret)
		reader_close(r);
	return ret;
}

void reader_close(struct reader *r)
{
	unsigned int i;

	for (i = 0; i < r->n; i++) {
		free(r->l[i].l1);
		free(r->l[i].l2);
	}
	chain_close(&r->chain);
	image_close(&r->top);
	r->n = 0;
}

/*
 * QED's part of the status of [@off, @off + *@len) in layer @l, as QEMU's
 * qed_find_cluster(): the run's length in *@len, its first entry in *@entry
 * (unallocated, zero, or a cluster offset), the kind as the return value.
 */
static int qed_find(struct reader *r, struct layer *l, uint64_t off, uint64_t *len, uint64_t *entry)
{
	const struct qedblk_geom *g = l->g;
	uint64_t l2_off, first, last, end, n, i;
	uint32_t index;
	enum qedblk_entry_error err;
	int ret;

	end = (qedblk_l1_index(g, off) + 1) * qedblk_l2_coverage(g);
	if (*len > end - off)
		*len = end - off;
	*entry = QED_ENTRY_UNALLOCATED;
	l2_off = l->l1[qedblk_l1_index(g, off)];
	if (l2_off == QED_ENTRY_UNALLOCATED)
		return 0;
	err = qedblk_validate_table_offset(g, l2_off, l->file_end);
	if (err)
		return reader_fail(r, -EINVAL, "%s: L1 entry %llu (L2 table at 0x%llx): %s",
				   l->path, (unsigned long long)qedblk_l1_index(g, off),
				   (unsigned long long)l2_off, qedblk_entry_strerror(err));
	if (l->l2_off != l2_off) {
		ret = read_table(l, l2_off, l->l2);
		if (ret) {
			l->l2_off = 0;
			return reader_fail(r, ret, "%s: reading the L2 table at 0x%llx: %s",
					   l->path, (unsigned long long)l2_off, strerror(-ret));
		}
		l->l2_off = l2_off;
	}
	index = qedblk_l2_index(g, off);
	n = (qedblk_offset_in_cluster(g, off) + *len + g->cluster_size - 1) >> g->cluster_shift;
	first = last = l->l2[index];
	for (i = 1; i < n && index + i < g->table_entries; i++) {
		uint64_t e = l->l2[index + i];

		if (first == QED_ENTRY_UNALLOCATED || first == QED_ENTRY_ZERO) {
			if (e != first)
				break;
		} else {
			/* Data: one run while the clusters follow each other in the file. */
			if (e != last + g->cluster_size)
				break;
			last = e;
		}
	}
	if (*len > (i << g->cluster_shift) - qedblk_offset_in_cluster(g, off))
		*len = (i << g->cluster_shift) - qedblk_offset_in_cluster(g, off);
	*entry = first;
	if (first == QED_ENTRY_UNALLOCATED || first == QED_ENTRY_ZERO)
		return 0;
	err = qedblk_validate_cluster_offset(g, first, l->file_end);
	if (err)
		return reader_fail(r, -EINVAL, "%s: L2 table at 0x%llx, entry %u (0x%llx): %s",
				   l->path, (unsigned long long)l2_off, index,
				   (unsigned long long)first, qedblk_entry_strerror(err));
	return 0;
}

/* file-posix's raw_co_block_status() with its find_allocation(). */
static void raw_find(const struct layer *l, uint64_t off, struct extent *e)
{
	off_t data, hole;

	e->offset = off;
	if (off >= l->img->file_size) {
		e->flags = RS_ZERO;
		return;
	}
	data = lseek(l->img->fd, (off_t)off, SEEK_DATA);
	if (data < 0 && errno == ENXIO) {
		e->flags = RS_ZERO;
		return;
	}
	if (data < 0 || (uint64_t)data < off) {
		/* No information: all data, as QEMU pretends. */
		e->flags = RS_DATA;
		return;
	}
	if ((uint64_t)data > off) {
		e->flags = RS_ZERO;
		if (e->len > (uint64_t)data - off)
			e->len = (uint64_t)data - off;
		return;
	}
	hole = lseek(l->img->fd, (off_t)off, SEEK_HOLE);
	e->flags = RS_DATA;
	if (hole > data && e->len > (uint64_t)hole - off)
		e->len = (uint64_t)hole - off;
}

int layer_status(struct reader *r, unsigned int i, uint64_t off, uint64_t bytes, struct extent *e)
{
	struct layer *l = &r->l[i];
	uint64_t entry;
	int ret;

	memset(e, 0, sizeof(*e));
	e->layer = i;
	if (off >= l->size) {
		e->flags = RS_EOF;
		return 0;
	}
	e->len = bytes < l->size - off ? bytes : l->size - off;
	if (l->qed) {
		ret = qed_find(r, l, off, &e->len, &entry);
		if (ret)
			return ret;
		if (entry == QED_ENTRY_ZERO) {
			e->flags = RS_ZERO;
		} else if (entry != QED_ENTRY_UNALLOCATED) {
			e->flags = RS_DATA | RS_OFFSET_VALID;
			e->offset = entry + qedblk_offset_in_cluster(l->g, off);
		}
	} else {
		raw_find(l, off, e);
		e->flags |= RS_OFFSET_VALID;
	}
	/* The generic block layer's part. */
	if (e->flags & (RS_DATA | RS_ZERO))
		e->flags |= RS_ALLOCATED;
	else if (i + 1 == r->n || off >= r->l[i + 1].size)
		e->flags |= RS_ZERO;
	if (off + e->len == l->size)
		e->flags |= RS_EOF;
	return 0;
}

int reader_status_above(struct reader *r, uint64_t off, uint64_t bytes, struct extent *e)
{
	uint64_t eof = 0;
	unsigned int i;
	int ret;

	ret = layer_status(r, 0, off, bytes, e);
	if (ret || !e->len || (e->flags & RS_ALLOCATED))
		return ret;
	if (e->flags & RS_EOF)
		eof = off + e->len;
	bytes = e->len;
	for (i = 1; i < r->n; i++) {
		ret = layer_status(r, i, off, bytes, e);
		if (ret)
			return ret;
		if (!e->len) {
			/* A short backing file: zeros past its end, as if allocated there. */
			e->len = bytes;
			e->flags = RS_ZERO | RS_ALLOCATED;
			break;
		}
		if (e->flags & RS_ALLOCATED) {
			e->flags &= ~RS_EOF;
			break;
		}
		bytes = e->len;
	}
	if (off + e->len == eof)
		e->flags |= RS_EOF;
	return 0;
}

/* pread() that reads zeros past the end of the file (a raw file's last sector). */
static int pread_zeros(struct reader *r, const struct layer *l, void *buf, uint64_t len,
		       uint64_t off)
{
	uint64_t n = 0;
	ssize_t got;

	while (n < len) {
		got = pread(l->img->fd, (char *)buf + n, len - n, (off_t)(off + n));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return reader_fail(r, -errno, "%s: reading %llu bytes at 0x%llx: %s",
					   l->path, (unsigned long long)len,
					   (unsigned long long)off, strerror(errno));
		if (got == 0)
			break;
		n += (uint64_t)got;
	}
	if (n < len && l->qed)
		return reader_fail(r, -EIO, "%s: cluster at 0x%llx past the end of the file",
				   l->path, (unsigned long long)off);
	memset((char *)buf + n, 0, len - n);
	return 0;
}

int reader_pread(struct reader *r, void *buf, uint64_t len, uint64_t off)
{
	return reader_pread_from(r, 0, buf, len, off);
}

int reader_pread_from(struct reader *r, unsigned int first, void *buf, uint64_t len,
		      uint64_t off)
{
	struct extent e;
	unsigned int i;
	uint64_t n;
	int ret;

	while (len) {
		n = len;
		for (i = first; ; i++) {
			if (i == r->n) {
				memset(buf, 0, n);
				break;
			}
			ret = layer_status(r, i, off, n, &e);
			if (ret)
				return ret;
			if (!e.len) {
				/* Past the end of a backing file. */
				memset(buf, 0, n);
				break;
			}
			n = e.len;
			if (e.flags & RS_DATA) {
				ret = pread_zeros(r, &r->l[i], buf, n, e.offset);
				if (ret)
					return ret;
				break;
			}
			if (e.flags & RS_ZERO) {
				memset(buf, 0, n);
				break;
			}
		}
		buf = (char *)buf + n;
		len -= n;
		off += n;
	}
	return 0;
}
