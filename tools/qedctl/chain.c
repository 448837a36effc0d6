// SPDX-License-Identifier: GPL-2.0
/*
 * Backing chains: resolve each backing file name as QEMU does (absolute,
 * or relative to the directory of the image that names it), open each file
 * read-only and work out its format.  The kernel gets the descriptors and
 * checks every QED header again itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "qedctl.h"

/* @name as seen from the image at @base: QEMU's path_combine(). */
void chain_resolve(const char *base, const char *name, char *out, size_t len)
{
	const char *slash = strrchr(base, '/');

	if (name[0] == '/' || !slash)
		snprintf(out, len, "%s", name);
	else
		snprintf(out, len, "%.*s/%s", (int)(slash - base), base, name);
}

static int chain_fail(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int chain_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

int chain_open(const char *path, const struct image *top, struct chain *c,
	       char *why, size_t whylen)
{
	const struct image *above = top;
	const char *above_path = path;
	struct stat st, seen[QEDBLK_MAX_CHAIN + 1];
	const char *other, *ow;
	unsigned int i;
	int ret;

	memset(c, 0, sizeof(*c));
	if (fstat(top->fd, &seen[0]) < 0)
		return chain_fail(why, whylen, "%s", strerror(errno));
	for (i = 0; above && (above->geom.features & QED_F_BACKING_FILE); i++) {
		struct chain_file *f = &c->f[i];
		unsigned int j;

		if (i == QEDBLK_MAX_CHAIN)
			return chain_fail(why, whylen, "backing chain deeper than %d files",
					  QEDBLK_MAX_CHAIN);
		chain_resolve(above_path, above->backing, f->path, sizeof(f->path));
		f->img.fd = open_regular(f->path, O_RDONLY, &ow);
		if (f->img.fd < 0)
			return chain_fail(why, whylen, "backing file %s: %s", f->path, ow);
		c->n = i + 1;
		if (fstat(f->img.fd, &st) < 0)
			return chain_fail(why, whylen, "backing file %s: %s", f->path,
					  strerror(errno));
		for (j = 0; j <= i; j++)
			if (seen[j].st_dev == st.st_dev && seen[j].st_ino == st.st_ino)
				return chain_fail(why, whylen,
						  "backing file %s is %s again: the chain loops",
						  f->path, j ? c->f[j - 1].path : path);
		seen[i + 1] = st;
		f->img.file_size = (u64)st.st_size;

		f->probed = !(above->geom.features & QED_F_BACKING_FORMAT_NO_PROBE);
		f->format = QED_FMT_RAW;
		if (f->probed) {
			ret = image_probe(f->img.fd, &f->format, &other);
			if (ret)
				return chain_fail(why, whylen, "backing file %s: %s", f->path,
						  strerror(-ret));
			if (f->format == QED_FMT_OTHER)
				return chain_fail(why, whylen,
						  "backing file %s is a %s image; backing files must be QED or raw",
						  f->path, other);
		}
		above_path = f->path;
		if (f->format == QED_FMT_RAW) {
			f->size = f->img.file_size;
			above = NULL;
			continue;
		}
		/* image_open() reads the header through a descriptor of its own. */
		close(f->img.fd);
		if (image_open(f->path, &f->img, &other)) {
			f->img.fd = -1;
			return chain_fail(why, whylen, "backing file %s: %s", f->path, other);
		}
		f->size = f->img.geom.image_size;
		above = &f->img;
	}
	return 0;
}

void chain_close(struct chain *c)
{
	unsigned int i;

	for (i = 0; i < c->n; i++)
		image_close(&c->f[i].img);
	c->n = 0;
}

const char *chain_format_name(enum qedblk_file_format fmt)
{
	return fmt == QED_FMT_QED ? "qed" : "raw";
}
