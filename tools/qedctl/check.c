// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl check: the shared consistency check (qed_check.c) on an image
 * file.  Exit status as qemu-img check: 0 clean, 2 corrupt, 3 leaks only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qedctl.h"
#include "qed_check.h"

static int file_read(void *ctx, u64 off, void *buf, u32 len)
{
	struct image *img = ctx;

	while (len) {
		ssize_t n = pread(img->fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf = (char *)buf + n;
		len -= (u32)n;
		off += (u64)n;
	}
	return 0;
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
	.read	= file_read,
	.zalloc	= mem_zalloc,
	.free	= mem_free,
};

static void usage_check(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " check [--json] IMAGE\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct qed_check_result r;
	struct image img;
	const char *why;
	bool json = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			usage_check(stdout);
			return 0;
		default:
			usage_check(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage_check(stderr);
		return 1;
	}
	if (image_open(argv[optind], &img, &why))
		die("%s: %s", argv[optind], why);
	ret = qed_check_image(&img.geom, img.file_size, &file_ops, &img, &r);
	image_close(&img);
	if (ret)
		die("%s: check failed: %s", argv[optind], strerror(-ret));

	if (json) {
		printf("{\"filename\": ");
		json_string(argv[optind]);
		printf(", \"format\": \"qed\", \"check-errors\": 0, \"corruptions\": %llu"
		       ", \"invalid-offsets\": %llu, \"leaks\": %llu, \"leaks-at-end\": %llu"
		       ", \"allocated-clusters\": %llu, \"zero-clusters\": %llu"
		       ", \"l2-tables\": %llu, \"file-clusters\": %llu}\n",
		       (unsigned long long)r.corruptions, (unsigned long long)r.invalid,
		       (unsigned long long)r.leaks, (unsigned long long)r.leak_tail,
		       (unsigned long long)r.allocated, (unsigned long long)r.zero_clusters,
		       (unsigned long long)r.l2_tables, (unsigned long long)r.clusters);
	} else {
		if (r.corruptions)
			printf("%llu errors were found on the image.\n",
			       (unsigned long long)r.corruptions);
		if (r.leaks)
			printf("%llu leaked clusters were found on the image.\n",
			       (unsigned long long)r.leaks);
		if (!r.corruptions && !r.leaks)
			printf("No errors were found on the image.\n");
		printf("%llu allocated, %llu zero clusters, %llu L2 tables, %llu clusters in the file\n",
		       (unsigned long long)r.allocated, (unsigned long long)r.zero_clusters,
		       (unsigned long long)r.l2_tables, (unsigned long long)r.clusters);
	}
	if (r.corruptions)
		return 2;
	return r.leaks ? 3 : 0;
}
