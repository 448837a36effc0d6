// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl compare: are two images' guest contents the same?  qemu-img
 * compare's algorithm (img_compare() in qemu-img.c, QEMU 7.2), on QEMU's
 * block status (read.c): ranges zero on both sides are skipped unread, a
 * range allocated on one side only must read zero there, the rest is read
 * and compared.  The offset of a mismatch is that of its 512-byte sector
 * within the run compared, as qemu-img reports it.
 *
 * Exit status as qemu-img compare: 0 identical, 1 different, 2 an image
 * could not be opened, 3 a table could not be read or is invalid, 4 data
 * could not be read.  A usage error is 2 too (qemu-img says 1, which a
 * script cannot tell from "different").
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qedctl.h"

/* qemu-img's IO_BUF_SIZE: the largest run read at once. */
#define COMPARE_BUF	(2u << 20)
#define SECTOR		512u

struct side {
	const char *path;
	struct reader r;
	uint64_t size;
};

static bool quiet;

static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static void status(struct side *s, uint64_t off, uint64_t bytes, struct extent *e)
{
	if (reader_status_above(&s->r, off, bytes, e))
		die_status(3, "%s\nSector allocation test failed for %s", s->r.why, s->path);
}

static void read_side(struct side *s, void *buf, uint64_t len, uint64_t off)
{
	if (reader_pread(&s->r, buf, len, off))
		die_status(4, "%s\nError while reading offset %" PRIu64 " of %s", s->r.why, off,
			   s->path);
}

/* qemu-img's find_nonzero(): the first sector holding a nonzero byte, or -1. */
static int64_t first_nonzero(const unsigned char *buf, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (buf[i])
			return (int64_t)(i - i % SECTOR);
	return -1;
}

/* Does [@off, @off + @len) of @s read zero (the other side has nothing there)? */
static bool check_empty(struct side *s, unsigned char *buf, uint64_t len, uint64_t off)
{
	int64_t idx;

	read_side(s, buf, len, off);
	idx = first_nonzero(buf, len);
	if (idx < 0)
		return true;
	say("Content mismatch at offset %" PRIu64 "!\n", off + (uint64_t)idx);
	return false;
}

static void usage_compare(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " compare [-U|--force-share] [-s|--strict] [-q|--quiet]"
		   " IMAGE1 IMAGE2\n"
		   "  compare the guest contents of two images, QED (through its backing\n"
		   "  chain) or raw, as qemu-img compare does\n"
		   "  by default an image bigger than the other may hold only zeros past\n"
		   "  the other's end (\"Warning: Image size mismatch!\")\n"
		   "  -s: strict: the sizes, and the allocation status of every range, must\n"
		   "      be the same too\n"
		   "  -q: print nothing; the exit status says\n"
		   "  -U: read images in use without QEMU's locks and without a warning\n"
		   "  exit status: 0 identical, 1 different, 2 an image cannot be opened or\n"
		   "  bad usage, 3 an image's tables cannot be read, 4 its data cannot be read\n");
}

int cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force-share", no_argument, NULL, 'U' },
		{ "strict", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool strict = false, force_share = false;
	struct side a = { 0 }, b = { 0 }, *over;
	unsigned char *buf1, *buf2;
	uint64_t off = 0, total, chunk;
	struct extent e1, e2;
	int c, ret = 0;

	quiet = false;
	while ((c = getopt_long(argc, argv, "Usqh", opts, NULL)) != -1) {
		switch (c) {
		case 'U':
			force_share = true;
			break;
		case 's':
			strict = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage_compare(stdout);
			return 0;
		default:
			usage_compare(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage_compare(stderr);
		return 2;
	}
	a.path = argv[optind];
	b.path = argv[optind + 1];
	if (reader_open(&a.r, a.path, force_share ? IMAGE_FORCE_SHARE : IMAGE_READ))
		die_status(2, "%s", a.r.why);
	if (reader_open(&b.r, b.path, force_share ? IMAGE_FORCE_SHARE : IMAGE_READ)) {
		reader_close(&a.r);
		die_status(2, "%s", b.r.why);
	}
	a.size = a.r.l[0].size;
	b.size = b.r.l[0].size;
	buf1 = malloc(COMPARE_BUF);
	buf2 = malloc(COMPARE_BUF);
	if (!buf1 || !buf2)
		die_status(2, "no memory for %u-byte buffers", COMPARE_BUF);

	if (strict && a.size != b.size) {
		say("Strict mode: Image size mismatch!\n");
		ret = 1;
		goto out;
	}
	total = a.size < b.size ? a.size : b.size;
	while (off < total) {
		status(&a, off, a.size - off, &e1);
		status(&b, off, b.size - off, &e2);
		chunk = e1.len < e2.len ? e1.len : e2.len;
		if (strict && e1.flags != e2.flags) {
			say("Strict mode: Offset %" PRIu64 " block status mismatch!\n", off);
			ret = 1;
			goto out;
		}
		if ((e1.flags & RS_ZERO) && (e2.flags & RS_ZERO)) {
			/* Both read zero: nothing to read. */
		} else if ((e1.flags & RS_ALLOCATED) == (e2.flags & RS_ALLOCATED)) {
			if (e1.flags & RS_ALLOCATED) {
				uint64_t i;

				chunk = chunk < COMPARE_BUF ? chunk : COMPARE_BUF;
				read_side(&a, buf1, chunk, off);
				read_side(&b, buf2, chunk, off);
				/* qemu-img compares sector by sector within the run. */
				for (i = 0; i < chunk; i += SECTOR) {
					uint64_t n = chunk - i < SECTOR ? chunk - i : SECTOR;

					if (memcmp(buf1 + i, buf2 + i, n))
						break;
				}
				if (i < chunk) {
					say("Content mismatch at offset %" PRIu64 "!\n", off + i);
					ret = 1;
					goto out;
				}
			}
		} else {
			chunk = chunk < COMPARE_BUF ? chunk : COMPARE_BUF;
			if (!check_empty((e1.flags & RS_ALLOCATED) ? &a : &b, buf1, chunk, off)) {
				ret = 1;
				goto out;
			}
		}
		off += chunk;
	}
	if (a.size != b.size) {
		uint64_t end;

		say("Warning: Image size mismatch!\n");
		over = a.size > b.size ? &a : &b;
		end = over->size;
		while (off < end) {
			status(over, off, end - off, &e1);
			chunk = e1.len;
			if ((e1.flags & RS_ALLOCATED) && !(e1.flags & RS_ZERO)) {
				chunk = chunk < COMPARE_BUF ? chunk : COMPARE_BUF;
				if (!check_empty(over, buf1, chunk, off)) {
					ret = 1;
					goto out;
				}
			}
			off += chunk;
		}
	}
	say("Images are identical.\n");
out:
	free(buf1);
	free(buf2);
	reader_close(&a.r);
	reader_close(&b.r);
	return ret;
}
