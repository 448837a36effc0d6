// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl convert: copy an image's guest contents into a new raw or QED
 * image, as qemu-img convert does (without -B: a backing chain is
 * flattened).  Ranges the source knows to be zero are not read, and data
 * that reads zero is not written (qemu-img's default -S 4k): the output
 * stays sparse.  The output is written aside and moved into place only when
 * complete (newfile.c): a failed convert leaves no new DST.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "qedctl.h"

/* qemu-img's IO_BUF_SIZE, and its default -S: the smallest hole made. */
#define CONVERT_BUF	(2u << 20)
#define CONVERT_SPARSE	4096u

static void usage_convert(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " convert [-p] [-U] [-f raw|qed] [-O raw|qed]"
		   " [-o OPTIONS] [-c CLUSTER] [-t TABLE] SRC DST\n"
		   "  copy SRC's guest contents (through its backing chain, which is\n"
		   "  flattened) into a new image DST, as qemu-img convert does; zeros are\n"
		   "  not written, so DST stays sparse; an existing DST is replaced (never\n"
		   "  one in use), and only once the new one is complete\n"
		   "  -f FMT   SRC's format, raw or qed (default: probed, as qemu-img does)\n"
		   "  -O FMT   DST's format, raw or qed (default: raw, as qemu-img)\n"
		   "  -o OPTS  -O qed only: cluster_size=SIZE,table_size=N, as create -o\n"
		   "  -c SIZE  -O qed only: cluster size, as create -c (default 64K)\n"
		   "  -t N     -O qed only: table size, as create -t (default 4)\n"
		   "  -p       show progress, as qemu-img -p: \"    (NN.NN/100%%)\" on stdout\n"
		   "  -U       read SRC without QEMU's locks (default: refused while a VM or\n"
		   "           another program writes it, as qemu-img convert)\n"
		   "  note: -c and -t are create's (qemu-img convert's -c compresses and\n"
		   "  -t sets a cache mode)\n");
}

static bool parse_fmt(const char *s, enum qedblk_file_format *fmt, const char *flag)
{
	if (!strcmp(s, "raw"))
		*fmt = QED_FMT_RAW;
	else if (!strcmp(s, "qed"))
		*fmt = QED_FMT_QED;
	else
		die("%s '%s': only raw and qed are supported", flag, s);
	return true;
}

static bool all_zero(const unsigned char *p, uint64_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

struct output {
	const char *path;
	struct newfile nf;
	bool qed;
	struct writer w;
	uint64_t cluster;	/* the unit tested for zeros */
};

/* @len bytes of guest data at @off: what is not zero, in units of out->cluster. */
static void output_data(struct output *o, const unsigned char *buf, uint64_t len, uint64_t off)
{
	uint64_t n;
	int ret;

	while (len) {
		n = o->cluster - off % o->cluster;
		if (n > len)
			n = len;
		if (!all_zero(buf, n)) {
			if (o->qed) {
				writer_pwrite(&o->w, buf, n, off);
			} else {
				ret = pwrite_full(o->nf.fd, buf, n, off);
				if (ret)
					die("%s: writing at %llu: %s", o->path,
					    (unsigned long long)off, strerror(-ret));
			}
		}
		buf += n;
		len -= n;
		off += n;
	}
}

int cmd_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "options", required_argument, NULL, 'o' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_args a = {
		.cluster = QED_DEFAULT_CLUSTER_SIZE, .table = QED_DEFAULT_TABLE_SIZE,
	};
	enum qedblk_file_format in_fmt, out_fmt = QED_FMT_RAW;
	bool have_in_fmt = false, geometry = false, progress = false, force_share = false;
	const char *src, *dst, *why;
	struct output o = { 0 };
	struct stat sst, dst_st;
	struct reader r;
	struct extent e;
	struct qedblk_geom g;
	unsigned char *buf;
	uint64_t size, off = 0, n;
	int c, ret, src_fd = -1;

	while ((c = getopt_long(argc, argv, "pUf:O:o:c:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			progress = true;
			break;
		case 'U':
			force_share = true;
			break;
		case 'f':
			have_in_fmt = parse_fmt(optarg, &in_fmt, "-f");
			break;
		case 'O':
			parse_fmt(optarg, &out_fmt, "-O");
			break;
		case 'o':
			if (create_parse_opts(&a, optarg)) {
				usage_create_opts();
				return 0;
			}
			geometry = true;
			break;
		case 'c':
			create_set(&a, "cluster_size", optarg, "-c");
			geometry = true;
			break;
		case 't':
			create_set(&a, "table_size", optarg, "-t");
			geometry = true;
			break;
		case 'h':
			usage_convert(stdout);
			return 0;
		default:
			usage_convert(stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		usage_convert(stderr);
		die(argc - optind > 2 ? "too many arguments" :
		    argc == optind ? "missing SRC and DST" : "missing DST");
	}
	src = argv[optind];
	dst = argv[optind + 1];
	if (geometry && out_fmt != QED_FMT_QED)
		die("-o, -c and -t set a QED image's geometry: they need -O qed");
	if (a.backing || a.bfmt)
		die("convert makes images without a backing file (backing_file, backing_fmt)");
	if (a.have_size)
		die("convert takes the size from SRC (size)");
	if (!stat(src, &sst) && !stat(dst, &dst_st) && sst.st_dev == dst_st.st_dev &&
	    sst.st_ino == dst_st.st_ino)
		die("%s: SRC and DST are the same file", dst);

	/*
	 * As qemu-img convert without -U: a copy of an image being written is
	 * no copy, so a writer makes it fail (not just warn, as map does).
	 * The lock lives on this descriptor until the end.
	 */
	if (!force_share) {
		src_fd = open_regular(src, O_RDONLY, &why);
		if (src_fd < 0)
			die("%s: %s", src, why);
		image_lock_or_die(src_fd, src, false);
	}
	if (reader_open_as(&r, src, IMAGE_FORCE_SHARE, have_in_fmt ? &in_fmt : NULL)) {
		if (src_fd >= 0)
			close(src_fd);
		die("%s", r.why);
	}
	size = r.l[0].size;
	if (out_fmt == QED_FMT_QED)
		create_geom(&a, size, &g);

	o.path = dst;
	o.qed = out_fmt == QED_FMT_QED;
	o.cluster = o.qed ? g.cluster_size : CONVERT_SPARSE;
	ret = newfile_begin(&o.nf, dst, true);
	if (ret)
		die("%s: %s", dst, strerror(-ret));
	if (o.qed) {
		ret = create_write_header(o.nf.fd, &g, NULL);
		if (ret)
			die("%s: writing the header: %s", dst, strerror(-ret));
		/* A new file, renamed into place when complete: no sync between steps. */
		if (writer_open(&o.w, dst, o.nf.fd, &g, g.l1_table_offset + g.table_bytes, false))
			die("%s: %s", dst, o.w.why);
	} else if (ftruncate(o.nf.fd, (off_t)size) < 0) {
		die("%s: %s", dst, strerror(errno));
	}
	buf = malloc(CONVERT_BUF);
	if (!buf)
		die("no memory for a %u-byte buffer", CONVERT_BUF);

	progress_start(progress);
	while (off < size) {
		if (reader_status_above(&r, off, size - off, &e))
			die("%s", r.why);
		n = e.len;
		/* Known zeros are left as they are in a new file: zeros. */
		if (!(e.flags & RS_ZERO)) {
			n = n < CONVERT_BUF ? n : CONVERT_BUF;
			if (reader_pread(&r, buf, n, off))
				die("%s", r.why);
			output_data(&o, buf, n, off);
		}
		off += n;
		progress_update(off, size);
	}
	free(buf);
	reader_close(&r);
	if (src_fd >= 0)
		close(src_fd);
	if (o.qed)
		writer_close(&o.w);
	ret = newfile_commit(&o.nf);
	if (ret)
		die("%s: %s", dst, strerror(-ret));
	progress_end();
	return 0;
}
