// SPDX-License-Identifier: GPL-2.0
/*
 * Commands that work on an image file directly: open, read, info.  The
 * header rules are the module's own (qed_format.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "qedctl.h"
#include "qed_check.h"

int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf = (char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf = (const char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Read the header of the image open as img->fd; closes it on failure. */
int image_probe(int fd, enum qedblk_file_format *fmt, const char **other)
{
	unsigned char buf[QED_PROBE_BYTES];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	if (n < 0)
		return -errno;
	*fmt = qedblk_probe_format(buf, (u64)n, other);
	return 0;
}

/* Not a QED image: say what it is, as far as the shared probe knows. */
static const char *image_not_qed(const struct image *img)
{
	static char msg[64];
	enum qedblk_file_format fmt = QED_FMT_RAW;
	const char *other;

	if (image_probe(img->fd, &fmt, &other) || fmt != QED_FMT_OTHER)
		return "not a QED image (raw data?)";
	snprintf(msg, sizeof(msg), "not a QED image (%s)", other);
	return msg;
}

static int image_load(struct image *img, const char **why)
{
	unsigned char hdr[QED_HEADER_BYTES];
	enum qedblk_header_error err;
	struct stat st;
	char *names;
	int ret;

	if (fstat(img->fd, &st) < 0) {
		*why = strerror(errno);
		goto fail;
	}
	img->file_size = (uint64_t)st.st_size;
	if (img->file_size < QED_HEADER_BYTES) {
		*why = qedblk_header_strerror(QED_HDR_SHORT);
		goto fail;
	}
	ret = pread_full(img->fd, hdr, sizeof(hdr), 0);
	if (ret) {
		*why = strerror(-ret);
		goto fail;
	}
	err = qedblk_header_decode(hdr, sizeof(hdr), img->file_size, &img->geom);
	if (err == QED_HDR_MAGIC) {
		*why = image_not_qed(img);
		goto fail;
	}
	if (err) {
		*why = qedblk_header_strerror(err);
		goto fail;
	}
	if (img->geom.features & QED_F_BACKING_FILE) {
		uint64_t end = (uint64_t)img->geom.backing_name_offset +
			       img->geom.backing_name_size;

		names = calloc(1, end);
		if (!names || pread_full(img->fd, names, end, 0) ||
		    qedblk_backing_name(&img->geom, names, end, img->backing,
				     sizeof(img->backing))) {
			free(names);
			*why = qedblk_header_strerror(QED_HDR_BACKING_NAME);
			goto fail;
		}
		free(names);
	}
	return 0;
fail:
	close(img->fd);
	img->fd = -1;
	return -1;
}

int image_open(const char *path, struct image *img, const char **why)
{
	memset(img, 0, sizeof(*img));
	img->fd = open_regular(path, O_RDONLY, why);
	if (img->fd < 0)
		return -1;
	return image_load(img, why);
}

int image_open_locked(const char *path, struct image *img, const char **why,
		      enum image_access access)
{
	memset(img, 0, sizeof(*img));
	img->fd = open_regular(path, access == IMAGE_WRITE ? O_RDWR : O_RDONLY, why);
	if (img->fd < 0)
		return -1;
	/* Before the first read, as QEMU: what is read is then consistent. */
	if (access == IMAGE_WRITE)
		image_lock_or_die(img->fd, path, true);
	else if (access == IMAGE_READ)
		image_lock_or_warn(img->fd, path);
	return image_load(img, why);
}

int image_pread(const struct image *img, void *buf, size_t len, uint64_t off)
{
	return pread_full(img->fd, buf, len, off);
}

void image_close(struct image *img)
{
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
}

static void print_features(uint64_t f)
{
	const char *sep = "";

	if (!f) {
		printf("none");
		return;
	}
	if (f & QED_F_BACKING_FILE) {
		printf("%sbacking_file", sep);
		sep = ",";
	}
	if (f & QED_F_NEED_CHECK) {
		printf("%sneed_check", sep);
		sep = ",";
	}
	if (f & QED_F_BACKING_FORMAT_NO_PROBE) {
		printf("%sbacking_format_no_probe", sep);
		sep = ",";
	}
	if (f & ~QED_FEATURE_MASK)
		printf("%sunknown:0x%llx", sep, (unsigned long long)(f & ~QED_FEATURE_MASK));
}

static void usage_info(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " info [--json|--output=json|human] [-U|--force-share]"
		   " IMAGE\n"
		   "  the image file's header, allocation and backing chain, as qemu-img info\n"
		   "  --json, --output=json: qemu-img info's keys, and more (default: human)\n"
		   "  -U: read an image in use without QEMU's locks and without a warning\n"
		   "      (by default a warning is printed when a writer holds the image)\n");
}

int cmd_info(int argc, char **argv)
{
	struct qedblk_check_result s;
	struct image img;
	struct chain chain;
	const char *why;
	char chain_why[4352];
	unsigned int i;
	bool json, broken, force_share;
	struct stat st;
	char sz[32];
	int ret;

	ret = parse_json_args(argc, argv, 1, usage_info, &json, &force_share);
	if (ret >= 0)
		return ret;
	if (image_open_locked(argv[optind], &img, &why,
			      force_share ? IMAGE_FORCE_SHARE : IMAGE_READ))
		die("%s: %s", argv[optind], why);
	/* The allocation summary is the check's own count. */
	ret = image_check(&img, &s);
	if (ret)
		die("%s: reading tables: %s", argv[optind], strerror(-ret));
	/* A broken chain is shown, not fatal: info is how one finds out. */
	broken = chain_open(argv[optind], &img, &chain, chain_why, sizeof(chain_why)) != 0;

	if (fstat(img.fd, &st) < 0)
		die("%s: %s", argv[optind], strerror(errno));
	/* Keys as qemu-img info's where the concept is the same. */
	if (json) {
		printf("{\"format\": \"qed\", \"filename\": ");
		json_string(argv[optind]);
		printf(", \"virtual-size\": %llu, \"cluster-size\": %u, \"table-size\": %u"
		       ", \"header-size\": %u, \"features\": %llu, \"compat-features\": %llu"
		       ", \"autoclear-features\": %llu, \"dirty-flag\": %s, \"file-size\": %llu"
		       ", \"actual-size\": %llu"
		       ", \"l2-tables\": %llu, \"data-clusters\": %llu, \"zero-clusters\": %llu"
		       ", \"bad-entries\": %llu",
		       (unsigned long long)img.geom.image_size, img.geom.cluster_size,
		       img.geom.table_size, img.geom.header_size,
		       (unsigned long long)img.geom.features,
		       (unsigned long long)img.geom.compat_features,
		       (unsigned long long)img.geom.autoclear_features,
		       (img.geom.features & QED_F_NEED_CHECK) ? "true" : "false",
		       (unsigned long long)img.file_size, (unsigned long long)st.st_blocks * 512,
		       (unsigned long long)s.l2_tables,
		       (unsigned long long)s.allocated,
		       (unsigned long long)s.zero_clusters,
		       (unsigned long long)s.invalid);
		if (img.backing[0]) {
			printf(", \"backing-filename\": ");
			json_string(img.backing);
			printf(", \"backing-chain\": [");
			for (i = 0; i < chain.n; i++) {
				printf("%s{\"filename\": ", i ? ", " : "");
				json_string(chain.f[i].path);
				printf(", \"format\": \"%s\", \"format-probed\": %s"
				       ", \"virtual-size\": %llu}",
				       chain_format_name(chain.f[i].format),
				       chain.f[i].probed ? "true" : "false",
				       (unsigned long long)chain.f[i].size);
			}
			printf("]");
			if (broken) {
				printf(", \"backing-chain-error\": ");
				json_string(chain_why);
			}
		}
		printf("}\n");
	} else {
		format_size(img.geom.image_size, sz, sizeof(sz));
		printf("image: %s\nformat: qed\nvirtual size: %s (%llu bytes)\n",
		       argv[optind], sz, (unsigned long long)img.geom.image_size);
		printf("cluster size: %u\ntable size: %u clusters\nheader size: %u clusters\n",
		       img.geom.cluster_size, img.geom.table_size, img.geom.header_size);
		printf("features: ");
		print_features(img.geom.features);
		printf("\ndirty: %s\n", (img.geom.features & QED_F_NEED_CHECK) ? "yes" : "no");
		if (img.backing[0]) {
			printf("backing file: %s\n", img.backing);
			for (i = 0; i < chain.n; i++) {
				format_size(chain.f[i].size, sz, sizeof(sz));
				printf("backing %u: %s (%s, %s; %s)\n", i + 1, chain.f[i].path,
				       chain_format_name(chain.f[i].format),
				       chain.f[i].probed ? "probed" : "declared", sz);
			}
			if (broken)
				printf("backing chain: broken: %s\n", chain_why);
		}
		printf("file size: %llu bytes\nL2 tables: %llu\ndata clusters: %llu (%llu bytes)\n"
		       "zero clusters: %llu\n",
		       (unsigned long long)img.file_size, (unsigned long long)s.l2_tables,
		       (unsigned long long)s.allocated,
		       (unsigned long long)(s.allocated * img.geom.cluster_size),
		       (unsigned long long)s.zero_clusters);
		if (s.invalid)
			printf("invalid table entries: %llu\n", (unsigned long long)s.invalid);
	}
	chain_close(&chain);
	image_close(&img);
	return 0;
}
