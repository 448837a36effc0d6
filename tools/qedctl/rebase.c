// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl rebase: give an image another backing file, as qemu-img rebase.
 * Safe mode first copies into the image every cluster it does not hold
 * whose contents differ between the old chain and the new backing file,
 * so that the guest sees the same bytes after the change; only then is the
 * header rewritten.  A crash before that leaves the old backing file in
 * the header and clusters that hold what it held: the same guest contents.
 * -u (unsafe) only rewrites the header.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "qedctl.h"

/* Clusters compared at once, at most. */
#define REBASE_BUF	(2u << 20)

static void usage_rebase(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " rebase [-u] [-U] [-p] -b BACKING [-F raw|qed] IMAGE\n"
		   "  make BACKING the backing file of QED image IMAGE, as qemu-img rebase;\n"
		   "  -b \"\" removes the backing file\n"
		   "  -b BACKING  the new backing file's name, written as given: a relative\n"
		   "              name is relative to IMAGE's directory, as in QEMU\n"
		   "  -F FMT      its format, raw or qed (needed with a BACKING)\n"
		   "  -u          unsafe: only rewrite the name and format in the header; the\n"
		   "              guest sees the new backing file's data where IMAGE has none\n"
		   "              (default: safe: first copy into IMAGE every cluster whose\n"
		   "              contents differ between the old chain and the new one, so\n"
		   "              that the guest contents stay the same)\n"
		   "  -U          read the backing files without QEMU's locks (IMAGE itself is\n"
		   "              always locked for writing: one in use is refused)\n"
		   "  -p          show progress, as qemu-img -p\n");
}

/*
 * Safe mode's copy: every cluster of @img that @old (IMAGE's reader) does
 * not hold and that reads differently through @new (NULL: no backing file,
 * zeros) is written into @img with what the old chain reads.
 */
static void rebase_copy(struct image *img, struct reader *old,
			struct reader *new, struct writer *w)
{
	const struct qedblk_geom *g = &img->geom;
	uint64_t size = g->image_size, off = 0, n, i, len;
	unsigned char *a, *b;
	struct extent e;

	a = malloc(REBASE_BUF);
	b = malloc(REBASE_BUF);
	if (!a || !b)
		die("no memory for %u-byte buffers", REBASE_BUF);
	while (off < size) {
		if (layer_status(old, 0, off, size - off, &e))
			die("%s", old->why);
		n = e.len < REBASE_BUF ? e.len : REBASE_BUF;
		if (!(e.flags & RS_ALLOCATED)) {
			/* The guest's view of these clusters is the old chain's. */
			if (reader_pread_from(old, 1, a, n, off))
				die("%s", old->why);
			if (!new)
				memset(b, 0, n);
			else if (reader_pread(new, b, n, off))
				die("%s", new->why);
			/* Unallocated runs are whole clusters, but for the image's end. */
			for (i = 0; i < n; i += len) {
				len = g->cluster_size < n - i ? g->cluster_size : n - i;
				if (!memcmp(a + i, b + i, len))
					continue;
				if (!a[i] && !memcmp(a + i, a + i + 1, len - 1))
					writer_zero(w, len, off + i);
				else
					writer_pwrite(w, a + i, len, off + i);
			}
		}
		off += n;
		progress_update(off, size);
	}
	free(a);
	free(b);
}

/* Is the file at @fd one of @r's files (the image would back itself)? */
static bool in_reader(const struct reader *r, const struct stat *st)
{
	struct stat s;
	unsigned int i;

	for (i = 0; i < r->n; i++)
		if (!fstat(r->l[i].img->fd, &s) && s.st_dev == st->st_dev &&
		    s.st_ino == st->st_ino)
			return true;
	return false;
}

int cmd_rebase(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool unsafe = false, force_share = false, progress = false;
	const char *backing = NULL, *bfmt = NULL, *path, *why;
	unsigned char *hdr;
	enum qedblk_file_format fmt = QED_FMT_RAW;
	struct reader old, new;
	struct writer w;
	struct image img;
	struct qedblk_geom g;
	struct stat st;
	char bpath[4096];
	size_t len = 0, hlen;
	int c, ret;

	while ((c = getopt_long(argc, argv, "uUpb:F:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			unsafe = true;
			break;
		case 'U':
			force_share = true;
			break;
		case 'p':
			progress = true;
			break;
		case 'b':
			backing = optarg;
			break;
		case 'F':
			bfmt = optarg;
			break;
		case 'h':
			usage_rebase(stdout);
			return 0;
		default:
			usage_rebase(stderr);
			return 1;
		}
	}
	if (argc - optind != 1) {
		usage_rebase(stderr);
		die(optind < argc ? "too many arguments" : "missing IMAGE");
	}
	path = argv[optind];
	if (bfmt && !backing)
		die("-F needs -b");
	if (!backing)
		die("missing -b BACKING (-b \"\" removes the backing file)");
	if (backing[0] && !bfmt)
		die("-b needs -F: the backing file's format, raw or qed");
	if (bfmt && strcmp(bfmt, "raw") && strcmp(bfmt, "qed"))
		die("backing format '%s': only raw and qed backing files are supported", bfmt);
	if (bfmt)
		fmt = strcmp(bfmt, "raw") ? QED_FMT_QED : QED_FMT_RAW;

	if (image_open_locked(path, &img, &why, IMAGE_WRITE))
		die("%s: %s", path, why);
	len = strlen(backing);
	if (len > QED_MAX_BACKING_NAME || QED_HEADER_BYTES + len > img.geom.header_bytes)
		die("%s: backing file name '%s' does not fit in the header", path, backing);
	if (fstat(img.fd, &st) < 0)
		die("%s: %s", path, strerror(errno));
	chain_resolve(path, backing, bpath, sizeof(bpath));
	g = img.geom;
	if (backing[0]) {
		struct stat bst;

		if (!stat(bpath, &bst) && bst.st_dev == st.st_dev && bst.st_ino == st.st_ino)
			die("%s: an image cannot be its own backing file", path);
	}

	if (!unsafe) {
		/* IMAGE is locked (above): its reader takes no lock of its own. */
		if (reader_open(&old, path, IMAGE_FORCE_SHARE))
			die("%s", old.why);
		if (backing[0]) {
			if (reader_open_as(&new, bpath, force_share ? IMAGE_FORCE_SHARE :
					   IMAGE_READ, &fmt)) {
				reader_close(&old);
				die("%s", new.why);
			}
			if (in_reader(&new, &st))
				die("%s: the new backing chain (%s) includes the image itself",
				    path, bpath);
		}
		ret = writer_open(&w, path, img.fd, &img.geom, img.file_size, true);
		if (ret)
			die("%s: %s", path, w.why);
		w.below = &old;
		w.below_layer = 1;
		progress_start(progress);
		rebase_copy(&img, &old, backing[0] ? &new : NULL, &w);
		writer_close(&w);
		g = w.g;
		if (backing[0])
			reader_close(&new);
		reader_close(&old);
	}

	/* As QEMU's qed_change_backing_file(): header and name in one write. */
	g.features &= ~(QED_F_BACKING_FILE | QED_F_BACKING_FORMAT_NO_PROBE);
	if (backing[0]) {
		g.features |= QED_F_BACKING_FILE;
		if (fmt == QED_FMT_RAW)
			g.features |= QED_F_BACKING_FORMAT_NO_PROBE;
	}
	g.backing_name_offset = QED_HEADER_BYTES;
	g.backing_name_size = (uint32_t)len;
	hlen = QED_HEADER_BYTES + len;
	hdr = malloc(hlen);
	if (!hdr)
		die("no memory");
	qedblk_header_encode(&g, hdr);
	memcpy(hdr + QED_HEADER_BYTES, backing, len);
	ret = pwrite_full(img.fd, hdr, hlen, 0);
	if (!ret && fsync(img.fd) < 0)
		ret = -errno;
	free(hdr);
	if (ret)
		die("%s: writing the header: %s", path, strerror(-ret));
	image_close(&img);
	progress_end();
	return 0;
}
