// SPDX-License-Identifier: GPL-2.0
/*
 * Commands that work on an image file directly: info and create.  The
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

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
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

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
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
int image_probe(int fd, enum qed_file_format *fmt, const char **other)
{
	unsigned char buf[QED_PROBE_BYTES];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	if (n < 0)
		return -errno;
	*fmt = qed_probe_format(buf, (u64)n, other);
	return 0;
}

/* Not a QED image: say what it is, as far as the shared probe knows. */
static const char *image_not_qed(const struct image *img)
{
	static char msg[64];
	enum qed_file_format fmt = QED_FMT_RAW;
	const char *other;

	if (image_probe(img->fd, &fmt, &other) || fmt != QED_FMT_OTHER)
		return "not a QED image (raw data?)";
	snprintf(msg, sizeof(msg), "not a QED image (%s)", other);
	return msg;
}

static int image_load(struct image *img, const char **why)
{
	unsigned char hdr[QED_HEADER_BYTES];
	enum qed_header_error err;
	struct stat st;
	char *names;
	int ret;

	if (fstat(img->fd, &st) < 0) {
		*why = strerror(errno);
		goto fail;
	}
	img->file_size = (uint64_t)st.st_size;
	if (img->file_size < QED_HEADER_BYTES) {
		*why = qed_header_strerror(QED_HDR_SHORT);
		goto fail;
	}
	ret = pread_full(img->fd, hdr, sizeof(hdr), 0);
	if (ret) {
		*why = strerror(-ret);
		goto fail;
	}
	err = qed_header_decode(hdr, sizeof(hdr), img->file_size, &img->geom);
	if (err == QED_HDR_MAGIC) {
		*why = image_not_qed(img);
		goto fail;
	}
	if (err) {
		*why = qed_header_strerror(err);
		goto fail;
	}
	if (img->geom.features & QED_F_BACKING_FILE) {
		uint64_t end = (uint64_t)img->geom.backing_name_offset +
			       img->geom.backing_name_size;

		names = calloc(1, end);
		if (!names || pread_full(img->fd, names, end, 0) ||
		    qed_backing_name(&img->geom, names, end, img->backing,
				     sizeof(img->backing))) {
			free(names);
			*why = qed_header_strerror(QED_HDR_BACKING_NAME);
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
	fprintf(f, "usage: " QEDCTL_NAME " info [--json|--output=json] [-U|--force-share] IMAGE\n"
		   "  -U: read an image in use without QEMU's locks and without a warning\n");
}

int cmd_info(int argc, char **argv)
{
	struct qed_check_result s;
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

/*
 * The guest size of backing file @name of a new image at @image, read as
 * format @fmt: what the new image's size defaults to.
 */
static uint64_t backing_size(const char *image, const char *name, const char *fmt)
{
	unsigned char buf[QED_PROBE_BYTES];
	char path[4096];
	enum qed_file_format f;
	const char *other, *why;
	struct image img;
	struct stat st;
	uint64_t size;
	ssize_t n;
	int fd;

	chain_resolve(image, name, path, sizeof(path));
	fd = open_regular(path, O_RDONLY, &why);
	if (fd < 0)
		die("backing file %s: %s", path, why);
	if (fstat(fd, &st) < 0)
		die("backing file %s: %s", path, strerror(errno));
	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		die("backing file %s: %s", path, strerror(errno));
	close(fd);
	f = qed_probe_format(buf, (u64)n, &other);
	/* As qemu-img since 6.1: a guessed format is a security hole. */
	if (!fmt)
		die("%s: Backing file specified without backing format\n"
		    "Detected format of %s.", image,
		    f == QED_FMT_OTHER ? other : chain_format_name(f));
	f = strcmp(fmt, "raw") ? QED_FMT_QED : QED_FMT_RAW;
	if (f == QED_FMT_OTHER)
		die("backing file %s is a %s image; backing files must be QED or raw",
		    path, other);
	if (f == QED_FMT_RAW)
		return (uint64_t)st.st_size;
	if (image_open(path, &img, &why))
		die("backing file %s: %s", path, why);
	size = img.geom.image_size;
	image_close(&img);
	return size;
}

/*
 * Write a new image for @g into a temporary file next to @path and move it
 * into place only once it is complete and synced: a failed create leaves
 * what was there, and nothing but our own temporary file is ever removed.
 * Without @force an existing @path is kept (link() fails with EEXIST).
 */
static int create_file(const char *path, bool force, const struct qed_geom *g,
		       const char *backing)
{
	unsigned char hdr[QED_HEADER_BYTES];
	char tmp[4096], dir[4096];
	struct stat st;
	bool exists;
	mode_t um;
	int fd, dfd, old, ret = 0;

	exists = stat(path, &st) == 0;
	if (exists && !force)
		return -EEXIST;
	if (exists && !S_ISREG(st.st_mode))
		die("%s: not a regular file; create replaces only regular files", path);
	if (!exists && errno != ENOENT)
		return -errno;
	/* Never replace an image a VM or a device uses: QEMU's locks say. */
	old = exists ? open_regular(path, O_RDONLY, NULL) : -1;
	if (old >= 0)
		image_lock_or_die(old, path, true);
	/* Over a symlink, the file it points to is replaced, not the link. */
	if (!exists || !realpath(path, dir))
		snprintf(dir, sizeof(dir), "%s", path);
	snprintf(tmp, sizeof(tmp), "%s", dir);
	snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.qedctl-create-XXXXXX", dir) >= sizeof(tmp))
		ret = -ENAMETOOLONG;
	fd = ret ? -1 : mkstemp(tmp);
	if (fd < 0) {
		ret = ret ? ret : -errno;
		if (old >= 0)
			close(old);
		return ret;
	}
	um = umask(0);
	umask(um);
	if (fchmod(fd, exists ? (st.st_mode & 07777) : (0666 & ~um)) < 0)
		ret = -errno;
	if (!ret && exists && getuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0)
		ret = -errno;
	qed_header_encode(g, hdr);
	if (!ret)
		ret = pwrite_full(fd, hdr, sizeof(hdr), 0);
	if (!ret && backing)
		ret = pwrite_full(fd, backing, g->backing_name_size, g->backing_name_offset);
	/* The L1 table is zeros: a hole, however large the table. */
	if (!ret && ftruncate(fd, (off_t)(g->l1_table_offset + g->table_bytes)) < 0)
		ret = -errno;
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret) {
		if (!exists) {
			if (link(tmp, path) < 0)
				ret = -errno;
		} else {
			snprintf(dir, sizeof(dir), "%s", path);
			if (!realpath(path, dir) || rename(tmp, dir) < 0)
				ret = -errno;
		}
	}
	if (unlink(tmp) < 0 && errno != ENOENT && !ret)
		ret = -errno;
	if (old >= 0)
		close(old);
	if (ret)
		return ret;
	/* The new name must survive a crash too. */
	snprintf(tmp, sizeof(tmp), "%s", path);
	dfd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static void usage_create(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " create [-f] [-s SIZE] [-c CLUSTER] [-t TABLE]"
		   " [-b BACKING -F raw|qed] IMAGE\n"
		   "  a relative BACKING name is relative to IMAGE's directory, as in QEMU;\n"
		   "  SIZE defaults to the backing file's size;\n"
		   "  sizes as in qemu-img: 512, 64K, 1.5G (B K M G T P E, powers of 1024), 0x200\n");
}

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "cluster-size", required_argument, NULL, 'c' },
		{ "table-size", required_argument, NULL, 't' },
		{ "force", no_argument, NULL, 'f' },
		{ "backing", required_argument, NULL, 'b' },
		{ "backing-format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t size = 0, cluster = QED_DEFAULT_CLUSTER_SIZE, table = QED_DEFAULT_TABLE_SIZE;
	enum qed_header_error err;
	bool have_size = false, force = false;
	const char *backing = NULL, *bfmt = NULL;
	struct qed_geom g;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:c:t:fb:F:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &size))
				die("invalid size '%s'", optarg);
			have_size = true;
			break;
		case 'c':
			if (parse_size(optarg, &cluster) || cluster > UINT32_MAX)
				die("invalid cluster size '%s'", optarg);
			break;
		case 't':
			if (parse_size(optarg, &table) || table > UINT32_MAX)
				die("invalid table size '%s'", optarg);
			break;
		case 'f':
			force = true;
			break;
		case 'b':
			backing = optarg;
			break;
		case 'F':
			bfmt = optarg;
			break;
		case 'h':
			usage_create(stdout);
			return 0;
		default:
			usage_create(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage_create(stderr);
		die(optind < argc ? "too many arguments" : "missing IMAGE");
	}
	if (bfmt && !backing)
		die("-F needs -b");
	if (!have_size && !backing)
		die("missing SIZE (-s), or a backing file (-b) to take it from");
	if (bfmt && strcmp(bfmt, "raw") && strcmp(bfmt, "qed"))
		die("backing format '%s': only raw and qed backing files are supported", bfmt);
	if (backing) {
		char bpath[4096];
		struct stat bst, tst;
		uint64_t bsize;

		chain_resolve(argv[optind], backing, bpath, sizeof(bpath));
		if (!stat(bpath, &bst) && !stat(argv[optind], &tst) &&
		    bst.st_dev == tst.st_dev && bst.st_ino == tst.st_ino)
			die("%s: an image cannot be its own backing file", argv[optind]);

		if (!backing[0] || strlen(backing) > QED_MAX_BACKING_NAME ||
		    QED_HEADER_BYTES + strlen(backing) > cluster)
			die("backing file name '%s' does not fit in the header", backing);
		bsize = backing_size(argv[optind], backing, bfmt);
		if (!have_size)
			size = bsize;
	}
	/* As qemu-img does: sizes are rounded up to whole sectors. */
	if (size > UINT64_MAX - 511)
		die("invalid size");
	size = (size + 511) & ~511ull;
	err = qed_geom_init(&g, (uint32_t)cluster, (uint32_t)table, size);
	if (err)
		die("%s", qed_header_strerror(err));
	if (backing) {
		/* Where QEMU puts it: right after the header fields. */
		g.features |= QED_F_BACKING_FILE;
		if (bfmt && !strcmp(bfmt, "raw"))
			g.features |= QED_F_BACKING_FORMAT_NO_PROBE;
		g.backing_name_offset = QED_HEADER_BYTES;
		g.backing_name_size = (uint32_t)strlen(backing);
	}

	ret = create_file(argv[optind], force, &g, backing);
	if (ret)
		die("%s: %s", argv[optind], strerror(-ret));
	return 0;
}
