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

#include "qedctl.h"
#include "qed_check.h"

static int file_read(void *ctx, u64 off, void *buf, u32 len)
{
	return image_pread(ctx, buf, len, off);
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

int image_check(struct image *img, struct qed_check_result *r)
{
	return qed_check_image(&img->geom, img->file_size, &file_ops, img, 0, r);
}

static void usage_check(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " check [--json] IMAGE\n");
}

int cmd_check(int argc, char **argv)
{
	struct qed_check_result r;
	struct image img;
	const char *why;
	bool json;
	int ret;

	ret = parse_json_args(argc, argv, 1, usage_check, &json);
	if (ret >= 0)
		return ret;
	if (image_open(argv[optind], &img, &why))
		die("%s: %s", argv[optind], why);
	ret = image_check(&img, &r);
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
