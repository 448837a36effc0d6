// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl check: the shared consistency check (qed_check.c) on an image
 * file.  Exit status as qemu-img check: 0 clean, 2 corrupt, 3 leaks only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qedctl.h"
#include "qed_check.h"

static int file_read(void *ctx, u64 off, void *buf, u32 len)
{
	return image_pread(ctx, buf, len, off);
}

static int file_write(void *ctx, u64 off, const void *buf, u32 len)
{
	const struct image *img = ctx;
	ssize_t n;

	while (len) {
		n = pwrite(img->fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (const char *)buf + n;
		len -= (u32)n;
		off += (u64)n;
	}
	return 0;
}

static int file_punch(void *ctx, u64 off, u64 len)
{
	const struct image *img = ctx;

	if (fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return 0;
	/* A file system without holes keeps the space; that is all. */
	return errno == EOPNOTSUPP ? 0 : -errno;
}

static int file_truncate(void *ctx, u64 size)
{
	const struct image *img = ctx;

	return ftruncate(img->fd, (off_t)size) ? -errno : 0;
}

static void file_repaired(void *ctx, const char *table, u64 off, u64 entry, const char *why)
{
	(void)ctx;
	fprintf(stderr, "Repairing %s entry at 0x%llx: was 0x%llx (%s), now unallocated\n",
		table, (unsigned long long)off, (unsigned long long)entry, why);
}

static void *mem_zalloc(void *ctx, u64 bytes)
{
	(void)ctx;
	return calloc(1, bytes);
}

static void mem_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static const struct qed_check_ops file_ops = {
	.read		= file_read,
	.write		= file_write,
	.punch		= file_punch,
	.truncate	= file_truncate,
	.repaired	= file_repaired,
	.zalloc		= mem_zalloc,
	.free		= mem_free,
};

int image_check(struct image *img, struct qed_check_result *r)
{
	return qed_check_image(&img->geom, img->file_size, &file_ops, img, 0, r);
}

/* Repair @img (opened read-write); clear NEED_CHECK when it comes out clean. */
static int image_repair(struct image *img, struct qed_check_result *r)
{
	unsigned char hdr[QED_HEADER_BYTES];
	int ret;

	ret = qed_check_image(&img->geom, img->file_size, &file_ops, img, QED_CHECK_REPAIR, r);
	if (ret)
		return ret;
	img->file_size = r->new_size;
	if (qed_check_clean(r) && (img->geom.features & QED_F_NEED_CHECK)) {
		/* The repairs must be durable before the bit says all is well. */
		if (fsync(img->fd) < 0)
			return -errno;
		img->geom.features &= ~QED_F_NEED_CHECK;
		qed_header_encode(&img->geom, hdr);
		ret = file_write(img, 0, hdr, sizeof(hdr));
		if (ret)
			return ret;
	}
	return fsync(img->fd) < 0 ? -errno : 0;
}

static void usage_check(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " check [-r|--repair] [-U|--force-share] [--json|--output=json] IMAGE\n"
		   "  exit status as qemu-img check: 0 clean, 2 corrupt, 3 leaked clusters only\n"
		   "  --repair: invalid entries become unallocated, leaked clusters at the end\n"
		   "  are cut off and the others hole-punched; never on an image in use\n"
		   "  (QEMU's locks, as qemu-img check -r)\n"
		   "  -U: check an image in use without QEMU's locks and without a warning\n");
}

/* JSON keys as qemu-img check's where the concept is the same. */
static void print_result(const char *path, const struct qed_check_result *r, bool json,
			 const struct qed_check_result *fixed, uint64_t total_clusters)
{
	if (json) {
		printf("{\"filename\": ");
		json_string(path);
		printf(", \"format\": \"qed\", \"total-clusters\": %llu",
		       (unsigned long long)total_clusters);
		printf(", \"check-errors\": 0, \"corruptions\": %llu"
		       ", \"invalid-offsets\": %llu, \"leaks\": %llu, \"leaks-at-end\": %llu"
		       ", \"allocated-clusters\": %llu, \"fragmented-clusters\": %llu"
		       ", \"zero-clusters\": %llu, \"l2-tables\": %llu, \"file-clusters\": %llu",
		       (unsigned long long)r->corruptions, (unsigned long long)r->invalid,
		       (unsigned long long)r->leaks, (unsigned long long)r->leak_tail,
		       (unsigned long long)r->allocated, (unsigned long long)r->fragmented,
		       (unsigned long long)r->zero_clusters,
		       (unsigned long long)r->l2_tables, (unsigned long long)r->clusters);
		if (fixed)
			printf(", \"corruptions-fixed\": %llu, \"leaks-fixed\": %llu"
			       ", \"leaks-truncated\": %llu, \"leaks-punched\": %llu",
			       (unsigned long long)fixed->repaired,
			       (unsigned long long)(fixed->leak_tail + fixed->leaks_punched),
			       (unsigned long long)fixed->leak_tail,
			       (unsigned long long)fixed->leaks_punched);
		printf("}\n");
		return;
	}
	if (fixed && (fixed->repaired || fixed->leak_tail || fixed->leaks_punched))
		printf("The following inconsistencies were found and repaired:\n\n"
		       "    %llu corruptions made unallocated\n"
		       "    %llu leaked clusters cut off the end of the file\n"
		       "    %llu leaked clusters punched (their space is free; they stay unreferenced)\n\n"
		       "Double checking the fixed image now...\n",
		       (unsigned long long)fixed->repaired,
		       (unsigned long long)fixed->leak_tail,
		       (unsigned long long)fixed->leaks_punched);
	if (r->corruptions)
		printf("%llu errors were found on the image.\n", (unsigned long long)r->corruptions);
	if (r->leaks)
		printf("%llu leaked clusters were found on the image.\n",
		       (unsigned long long)r->leaks);
	if (!r->corruptions && !r->leaks)
		printf("No errors were found on the image.\n");
	printf("%llu allocated, %llu zero clusters, %llu L2 tables, %llu clusters in the file\n",
	       (unsigned long long)r->allocated, (unsigned long long)r->zero_clusters,
	       (unsigned long long)r->l2_tables, (unsigned long long)r->clusters);
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "repair", no_argument, NULL, 'r' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct qed_check_result r, fixed;
	bool json = false, repair = false, force_share = false;
	enum image_access access;
	struct image img;
	const char *why, *path;
	uint64_t total;
	int c, ret;

	while ((c = getopt_long(argc, argv, "rUh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'o':
			if (parse_output(optarg, &json))
				return 1;
			break;
		case 'r':
			repair = true;
			break;
		case 'U':
			force_share = true;
			break;
		case 'h':
			usage_check(stdout);
			return 0;
		default:
			usage_check(stderr);
			return 1;
		}
	}
	if (argc - optind != 1) {
		usage_check(stderr);
		return 1;
	}
	path = argv[optind];
	/* As qemu-img: a repair never shares the image, whatever -U says. */
	if (repair && force_share)
		die("--repair and --force-share cannot go together: a repair needs the image to itself");
	access = repair ? IMAGE_WRITE : force_share ? IMAGE_FORCE_SHARE : IMAGE_READ;
	if (image_open_locked(path, &img, &why, access))
		die("%s: %s", path, why);
	if (repair) {
		ret = image_repair(&img, &fixed);
		if (ret)
			die("%s: repair failed: %s", path, strerror(-ret));
	}
	ret = image_check(&img, &r);
	total = img.geom.image_size / img.geom.cluster_size +
		!!(img.geom.image_size % img.geom.cluster_size);
	image_close(&img);
	if (ret)
		die("%s: check failed: %s", path, strerror(-ret));
	print_result(path, &r, json, repair ? &fixed : NULL, total);
	if (r.corruptions)
		return 2;
	return r.leaks ? 3 : 0;
}
