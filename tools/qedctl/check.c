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
	off_t data = lseek(img->fd, (off_t)off, SEEK_DATA);

	/* Punched by an earlier repair: that one reported it. */
	if ((data < 0 && errno == ENXIO) || (data >= 0 && (u64)data >= off + len))
		return 1;
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

static const struct qedblk_check_ops file_ops = {
	.read		= file_read,
	.write		= file_write,
	.punch		= file_punch,
	.truncate	= file_truncate,
	.repaired	= file_repaired,
	.zalloc		= mem_zalloc,
	.free		= mem_free,
};

int image_check(struct image *img, struct qedblk_check_result *r)
{
	return qedblk_check_image(&img->geom, img->file_size, &file_ops, img, 0, r);
}

/*
 * Repair @img (opened read-write) with qedblk_check_image() @flags; clear
 * NEED_CHECK when it comes out clean.
 */
static int image_repair(struct image *img, unsigned int flags, struct qedblk_check_result *r)
{
	unsigned char hdr[QED_HEADER_BYTES];
	int ret;

	ret = qedblk_check_image(&img->geom, img->file_size, &file_ops, img, flags, r);
	if (ret)
		return ret;
	img->file_size = r->new_size;
	if (qedblk_check_clean(r) && (img->geom.features & QED_F_NEED_CHECK)) {
		/* The repairs must be durable before the bit says all is well. */
		if (fsync(img->fd) < 0)
			return -errno;
		img->geom.features &= ~QED_F_NEED_CHECK;
		qedblk_header_encode(&img->geom, hdr);
		ret = file_write(img, 0, hdr, sizeof(hdr));
		if (ret)
			return ret;
	}
	return fsync(img->fd) < 0 ? -errno : 0;
}

static void usage_check(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " check [-r leaks|all] [-U|--force-share]"
		   " [--json|--output=json|human] IMAGE\n"
		   "  exit status as qemu-img check, describing the image after any repair:\n"
		   "  0 clean, 1 the check failed, 2 corruptions, 3 leaked clusters only\n"
		   "  -r, --repair=leaks  reclaim leaked clusters: those at the end of the file are\n"
		   "                      cut off (and no longer leaks), the others hole-punched\n"
		   "                      (their space is free, but they stay unreferenced: leaks\n"
		   "                      for qemu-img check too); only in an image without\n"
		   "                      corruption\n"
		   "  -r, --repair=all    also make invalid table entries unallocated, then reclaim\n"
		   "                      leaks; '-r' or '--repair' alone means all\n"
		   "  a repair never runs on an image in use (QEMU's locks, as qemu-img check -r)\n"
		   "  -U: check an image in use without QEMU's locks and without a warning\n"
		   "  --json, --output=json: qemu-img check's keys, and more\n");
}

/*
 * Leaked clusters a repair removed: those cut off the end of the file,
 * when it reclaimed leaks at all.  Punched ones are still leaks, for
 * qemu-img check as for ours.
 */
static uint64_t leaks_fixed(const struct qedblk_check_result *fixed)
{
	return qedblk_check_clean(fixed) ? fixed->leak_tail : 0;
}

/* JSON keys as qemu-img check's where the concept is the same. */
static void print_result(const char *path, const struct qedblk_check_result *r, bool json,
			 const struct qedblk_check_result *fixed, uint64_t total_clusters)
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
			       ", \"leaks-punched\": %llu",
			       (unsigned long long)fixed->repaired,
			       (unsigned long long)leaks_fixed(fixed),
			       (unsigned long long)fixed->leaks_punched);
		printf("}\n");
		return;
	}
	/* qemu-img's words, for what no longer is an inconsistency. */
	if (fixed && (fixed->repaired || leaks_fixed(fixed)))
		printf("The following inconsistencies were found and repaired:\n\n"
		       "    %llu leaked clusters\n"
		       "    %llu corruptions\n\n"
		       "Double checking the fixed image now...\n\n",
		       (unsigned long long)leaks_fixed(fixed),
		       (unsigned long long)fixed->repaired);
	if (fixed && fixed->leaks_punched)
		printf("%llu leaked clusters were punched: their space is free, but they stay"
		       " unreferenced.\n", (unsigned long long)fixed->leaks_punched);
	if (fixed && !qedblk_check_clean(fixed) && fixed->leaks)
		printf("Leaked clusters are reclaimed only once no corruption remains.\n");
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

/* qemu-img check -r's modes, as qedblk_check_image() flags; -1 for another word. */
static int repair_mode(const char *s)
{
	if (!strcmp(s, "leaks"))
		return QED_CHECK_REPAIR_LEAKS;
	if (!strcmp(s, "all"))
		return QED_CHECK_REPAIR;
	return -1;
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "repair", optional_argument, NULL, 'R' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct qedblk_check_result r, fixed;
	bool json = false, force_share = false, bare = false;
	int repair = 0;
	enum image_access access;
	struct image img;
	const char *why, *path;
	uint64_t total;
	int c, ret;

	while ((c = getopt_long(argc, argv, "r:Uh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'o':
			if (parse_output(optarg, &json))
				return 1;
			break;
		case 'r':
		case 'R':
			if (!optarg) {
				/* --repair alone: all, as before there were modes. */
				repair = QED_CHECK_REPAIR;
				bare = true;
				break;
			}
			repair = repair_mode(optarg);
			if (repair >= 0)
				break;
			/* "-r IMAGE": the old -r, which took no mode. */
			if (c == 'r' && optarg == argv[optind - 1]) {
				optind--;
				repair = QED_CHECK_REPAIR;
				bare = true;
				break;
			}
			die("Unknown option for -r (expecting 'leaks' or 'all'): %s", optarg);
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
	/* "--repair leaks IMAGE": the mode as the next word. */
	if (bare && argc - optind == 2) {
		repair = repair_mode(argv[optind]);
		if (repair < 0)
			die("Unknown option for -r (expecting 'leaks' or 'all'): %s", argv[optind]);
		optind++;
	}
	if (argc - optind != 1) {
		usage_check(stderr);
		die(argc == optind ? "missing IMAGE" : "too many arguments");
	}
	path = argv[optind];
	/* As qemu-img: a repair never shares the image, whatever -U says. */
	if (repair && force_share)
		die("--repair and --force-share cannot go together: a repair needs the image to itself");
	access = repair ? IMAGE_WRITE : force_share ? IMAGE_FORCE_SHARE : IMAGE_READ;
	if (image_open_locked(path, &img, &why, access))
		die("%s: %s", path, why);
	if (repair) {
		ret = image_repair(&img, (unsigned int)repair, &fixed);
		if (ret)
			die("%s: repair failed: %s", path, strerror(-ret));
	}
	/* The verdict is the repaired image's, as qemu-img's double check. */
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
