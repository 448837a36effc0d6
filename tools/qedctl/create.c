// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl create: a new, empty image, with qemu-img create's options and
 * only geometries QEMU can open again.  The header rules are the module's
 * own (qed_format.c).
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

/*
 * The guest size of backing file @name of a new image at @image, read as
 * format @fmt: what the new image's size defaults to.
 */
static uint64_t backing_size(const char *image, const char *name, const char *fmt)
{
	unsigned char buf[QED_PROBE_BYTES];
	char path[4096];
	enum qedblk_file_format f;
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
	f = qedblk_probe_format(buf, (u64)n, &other);
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
 * Write a new image for @g in a temporary file next to @path (newfile.c).
 * Without @force an existing @path is kept (link() fails with EEXIST).
 */
int create_image_file(const char *path, bool force, const struct qedblk_geom *g,
		       const char *backing)
{
	struct newfile nf;
	int ret;

	ret = newfile_begin(&nf, path, force);
	if (ret)
		return ret;
	ret = create_write_header(nf.fd, g, backing);
	if (ret) {
		newfile_abort(&nf);
		return ret;
	}
	return newfile_commit(&nf);
}

int create_write_header(int fd, const struct qedblk_geom *g, const char *backing)
{
	unsigned char hdr[QED_HEADER_BYTES];
	int ret;

	qedblk_header_encode(g, hdr);
	ret = pwrite_full(fd, hdr, sizeof(hdr), 0);
	if (!ret && backing)
		ret = pwrite_full(fd, backing, g->backing_name_size, g->backing_name_offset);
	/* The L1 table is zeros: a hole, however large the table. */
	if (!ret && ftruncate(fd, (off_t)(g->l1_table_offset + g->table_bytes)) < 0)
		ret = -errno;
	return ret;
}

static void usage_create(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " create [-f] [-s SIZE] [-c CLUSTER] [-t TABLE]"
		   " [-b BACKING -F raw|qed] [-o OPTIONS] IMAGE\n"
		   "  -s, --size SIZE            virtual size; defaults to the backing file's size\n"
		   "  -c, --cluster-size SIZE    cluster size, a power of two, 4K..4M"
		   " (default 64K)\n"
		   "  -t, --table-size N         clusters per L1/L2 table, a power of two, 2..16"
		   " (default 4)\n"
		   "  -b, --backing BACKING      backing file; a relative name is relative to"
		   " IMAGE's directory, as in QEMU\n"
		   "  -F, --backing-format FMT   the backing file's format: raw or qed (needed"
		   " with -b)\n"
		   "  -o OPTIONS                 as qemu-img create -o: comma-separated NAME=VALUE"
		   " (',,' is a comma),\n"
		   "                             the same settings as the flags; '-o help'"
		   " lists them\n"
		   "  -f, --force                replace an existing IMAGE (never one in use)\n"
		   "  sizes as in qemu-img: 512, 64K, 1.5G (B K M G T P E, powers of 1024), 0x200;\n"
		   "  only geometries QEMU can open again are accepted\n");
}

/* As qemu-img create -f qed -o help lists them. */
void usage_create_opts(void)
{
	printf("Supported qed options:\n"
	       "  backing_file=<str>     - File name of a base image\n"
	       "  backing_fmt=<str>      - Image format of the base image\n"
	       "  cluster_size=<size>    - Cluster size (in bytes)\n"
	       "  size=<size>            - Virtual disk size\n"
	       "  table_size=<size>      - L1/L2 table size (in clusters)\n");
}

/*
 * Apply one setting, from a flag (@flag: "-c") or from -o (@flag NULL:
 * the messages are qemu-img's).
 */
void create_set(struct create_args *a, const char *name, const char *val,
		       const char *flag)
{
	uint64_t v;

	if (!strcmp(name, "backing_file")) {
		a->backing = val;
		return;
	}
	if (!strcmp(name, "backing_fmt")) {
		a->bfmt = val;
		return;
	}
	if (strcmp(name, "size") && strcmp(name, "cluster_size") && strcmp(name, "table_size"))
		die("Invalid parameter '%s'", name);
	if (parse_size(val, &v) ||
	    (strcmp(name, "size") && v > UINT32_MAX)) {
		if (flag)
			die("invalid %s '%s' (%s)", name, val, flag);
		die("Parameter '%s' expects a size, not '%s'", name, val);
	}
	if (!strcmp(name, "size")) {
		a->size = v;
		a->have_size = true;
	} else if (!strcmp(name, "cluster_size")) {
		a->cluster = v;
	} else {
		a->table = v;
	}
}

/* qemu-img's -o, into @a; @arg is modified.  Returns true for help. */
bool create_parse_opts(struct create_args *a, char *arg)
{
	char *name, *val;

	while (opts_next(&arg, &name, &val)) {
		if (!val && (!strcmp(name, "help") || !strcmp(name, "?")))
			return true;
		if (!val)
			die(strcmp(name, "size") && strcmp(name, "cluster_size") &&
			    strcmp(name, "table_size") && strcmp(name, "backing_file") &&
			    strcmp(name, "backing_fmt") ? "Invalid parameter '%s'" :
			    "Parameter '%s' needs a value (NAME=VALUE)", name);
		create_set(a, name, val, NULL);
	}
	return false;
}

/*
 * A geometry QEMU cannot open: say why, and what would work nearest to
 * what was asked for.
 */
static void __attribute__((noreturn)) create_refuse_geometry(u32 cluster, u32 table,
							     enum qedblk_header_error err)
{
	char cs[32], best[32], advice[160];
	u32 t, c, max_t = 0, max_c = 0;

	for (t = 2; t <= QED_MAX_TABLE_SIZE; t *= 2)
		if (!qedblk_qemu_geometry(cluster, t))
			max_t = t;
	for (c = QED_MIN_CLUSTER_SIZE; c <= QED_MAX_CLUSTER_SIZE; c *= 2)
		if (!qedblk_qemu_geometry(c, table < 2 ? 2 : table))
			max_c = c;
	format_size(cluster, cs, sizeof(cs));
	format_size(max_c, best, sizeof(best));
	if (max_t)
		snprintf(advice, sizeof(advice), "with %s clusters use a table size of %s%u",
			 cs, max_t > 2 ? "2.." : "", max_t);
	else
		snprintf(advice, sizeof(advice), "no table size works with %s clusters;"
			 " with table size %u use clusters of 4KiB..%s",
			 cs, table < 2 ? 2 : table, best);
	die("cluster size %s, table size %u: %s; %s", cs, table, qedblk_header_strerror(err),
	    advice);
}

void create_geom(const struct create_args *a, uint64_t size, struct qedblk_geom *g)
{
	enum qedblk_header_error err;

	err = qedblk_geom_init(g, (uint32_t)a->cluster, (uint32_t)a->table, size);
	if (err)
		die("%s", qedblk_header_strerror(err));
	err = qedblk_qemu_geometry(g->cluster_size, g->table_size);
	if (err)
		create_refuse_geometry(g->cluster_size, g->table_size, err);
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
		{ "options", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_args a = {
		.cluster = QED_DEFAULT_CLUSTER_SIZE, .table = QED_DEFAULT_TABLE_SIZE,
	};
	bool force = false;
	const char *backing, *bfmt;
	uint64_t size;
	struct qedblk_geom g;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:c:t:fb:F:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			create_set(&a, "size", optarg, "-s");
			break;
		case 'c':
			create_set(&a, "cluster_size", optarg, "-c");
			break;
		case 't':
			create_set(&a, "table_size", optarg, "-t");
			break;
		case 'f':
			force = true;
			break;
		case 'b':
			a.backing = optarg;
			break;
		case 'F':
			a.bfmt = optarg;
			break;
		case 'o':
			if (create_parse_opts(&a, optarg)) {
				usage_create_opts();
				return 0;
			}
			break;
		case 'h':
			usage_create(stdout);
			return 0;
		default:
			usage_create(stderr);
			return 1;
		}
	}
	backing = a.backing;
	bfmt = a.bfmt;
	size = a.size;
	if (optind != argc - 1) {
		usage_create(stderr);
		die(optind < argc ? "too many arguments" : "missing IMAGE");
	}
	if (bfmt && !backing)
		die("-F needs -b (backing_fmt needs backing_file)");
	if (!a.have_size && !backing)
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
		    QED_HEADER_BYTES + strlen(backing) > a.cluster)
			die("backing file name '%s' does not fit in the header", backing);
		bsize = backing_size(argv[optind], backing, bfmt);
		if (!a.have_size)
			size = bsize;
	}
	/* As qemu-img does: sizes are rounded up to whole sectors. */
	if (size > UINT64_MAX - 511)
		die("invalid size");
	size = (size + 511) & ~511ull;
	create_geom(&a, size, &g);
	if (backing) {
		/* Where QEMU puts it: right after the header fields. */
		g.features |= QED_F_BACKING_FILE;
		if (bfmt && !strcmp(bfmt, "raw"))
			g.features |= QED_F_BACKING_FORMAT_NO_PROBE;
		g.backing_name_offset = QED_HEADER_BYTES;
		g.backing_name_size = (uint32_t)strlen(backing);
	}

	ret = create_image_file(argv[optind], force, &g, backing);
	if (ret)
		die("%s: %s", argv[optind], strerror(-ret));
	return 0;
}
