// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl commit: write what an image holds into its backing file, as
 * qemu-img commit.  Only the backing file changes: what the guest sees
 * through the image stays the same at every moment, so a failed or
 * interrupted commit can simply be run again.  QEMU 7.2 leaves a QED image
 * as it was after committing it (QED has no "make empty"), with or
 * without -d; so does qedctl.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>

#include "qedctl.h"

#define COMMIT_BUF	(2u << 20)

static void usage_commit(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " commit [-p] [-d] IMAGE\n"
		   "  write the clusters QED image IMAGE holds (data and zero clusters) into\n"
		   "  its backing file, QED or raw, as qemu-img commit; afterwards the backing\n"
		   "  file reads what IMAGE read.  IMAGE is left as it was, as qemu-img 7.2\n"
		   "  leaves a QED image; a backing file smaller than IMAGE is grown.\n"
		   "  Both files are locked for writing: one in use is refused.\n"
		   "  -p  show progress, as qemu-img -p\n"
		   "  -d  accepted for qemu-img's sake: IMAGE is never emptied anyway\n");
}

struct base {
	const char *path;
	bool qed;
	int fd;			/* raw */
	struct image img;	/* QED */
	struct writer w;
};

static void base_zero(struct base *b, uint64_t len, uint64_t off)
{
	static const unsigned char zeros[65536];
	uint64_t n;
	int ret;

	if (b->qed) {
		writer_zero(&b->w, len, off);
		return;
	}
	/* A hole, where the file system makes them; else written zeros. */
	if (!fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		return;
	for (; len; len -= n, off += n) {
		n = len < sizeof(zeros) ? len : sizeof(zeros);
		ret = pwrite_full(b->fd, zeros, n, off);
		if (ret)
			die("%s: writing zeros at %llu: %s", b->path, (unsigned long long)off,
			    strerror(-ret));
	}
}

static void base_write(struct base *b, const void *buf, uint64_t len, uint64_t off)
{
	int ret;

	if (b->qed) {
		writer_pwrite(&b->w, buf, len, off);
		return;
	}
	ret = pwrite_full(b->fd, buf, len, off);
	if (ret)
		die("%s: writing at %llu: %s", b->path, (unsigned long long)off, strerror(-ret));
}

int cmd_commit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool progress = false;
	const char *path, *why;
	struct base b = { .fd = -1 };
	struct image top;
	struct reader r;
	struct extent e;
	unsigned char *buf;
	uint64_t size, off = 0, n;
	int c, ret;

	while ((c = getopt_long(argc, argv, "pdh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			progress = true;
			break;
		case 'd':
			break;
		case 'h':
			usage_commit(stdout);
			return 0;
		default:
			usage_commit(stderr);
			return 1;
		}
	}
	if (argc - optind != 1) {
		usage_commit(stderr);
		die(optind < argc ? "too many arguments" : "missing IMAGE");
	}
	path = argv[optind];
	/* As qemu-img commit: both files locked for writing. */
	if (image_open_locked(path, &top, &why, IMAGE_WRITE))
		die("%s: %s", path, why);
	if (!(top.geom.features & QED_F_BACKING_FILE))
		die("%s: the image has no backing file to commit into", path);
	if (reader_open(&r, path, IMAGE_FORCE_SHARE))
		die("%s", r.why);
	size = r.l[0].size;
	b.path = r.l[1].path;
	b.qed = r.l[1].qed;
	if (b.qed) {
		if (image_open_locked(b.path, &b.img, &why, IMAGE_WRITE))
			die("%s: %s", b.path, why);
		/* As qemu-img commit: a smaller base grows to the image's size. */
		if (b.img.geom.image_size < size) {
			if (size > qedblk_max_image_size(b.img.geom.cluster_size,
						      b.img.geom.table_size))
				die("%s: cannot grow to %s's %llu bytes with this geometry",
				    b.path, path, (unsigned long long)size);
			ret = image_grow(b.img.fd, &b.img.geom, size, &why);
			if (ret)
				die("%s: growing to %llu bytes: %s failed: %s", b.path,
				    (unsigned long long)size, why, strerror(-ret));
		}
		if (writer_open(&b.w, b.path, b.img.fd, &b.img.geom, b.img.file_size, true))
			die("%s: %s", b.path, b.w.why);
		/* What the backing file's unallocated clusters read: the chain below it. */
		b.w.below = &r;
		b.w.below_layer = 2;
	} else {
		b.fd = open_regular(b.path, O_RDWR, &why);
		if (b.fd < 0)
			die("%s: %s", b.path, why);
		image_lock_or_die(b.fd, b.path, true);
		/* As qemu-img commit: a smaller base grows to the image's size. */
		if (r.l[1].img->file_size < size && ftruncate(b.fd, (off_t)size) < 0)
			die("%s: growing to %llu bytes: %s", b.path, (unsigned long long)size,
			    strerror(errno));
	}
	buf = malloc(COMMIT_BUF);
	if (!buf)
		die("no memory for a %u-byte buffer", COMMIT_BUF);

	progress_start(progress);
	while (off < size) {
		if (layer_status(&r, 0, off, size - off, &e))
			die("%s", r.why);
		n = e.len;
		if ((e.flags & RS_ALLOCATED) && !(e.flags & RS_DATA)) {
			base_zero(&b, n, off);
		} else if (e.flags & RS_ALLOCATED) {
			n = n < COMMIT_BUF ? n : COMMIT_BUF;
			if (reader_pread(&r, buf, n, off))
				die("%s", r.why);
			base_write(&b, buf, n, off);
		}
		off += n;
		progress_update(off, size);
	}
	free(buf);
	if (b.qed) {
		writer_close(&b.w);
		image_close(&b.img);
	} else {
		if (fsync(b.fd) < 0)
			die("%s: %s", b.path, strerror(errno));
		close(b.fd);
	}
	reader_close(&r);
	image_close(&top);
	progress_end();
	printf("Image committed.\n");
	return 0;
}
