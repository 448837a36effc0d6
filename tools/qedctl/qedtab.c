// SPDX-License-Identifier: GPL-2.0
/*
 * /etc/qedtab: the images attached at boot, as crypttab(5) lists the
 * volumes unlocked at boot.  The only parser of the file: the systemd
 * generator, attach --all and the boot units' attach --qedtab-entry all
 * read it here, so that they cannot disagree on what a line means.
 *
 *	IMAGE [INDEX|-] [OPTIONS]
 *
 * Fields are split by blanks; a blank inside IMAGE is written \040, as in
 * fstab(5).  Lines whose first non-blank character is '#' are comments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qedctl.h"

/* The kernel's minors: 2^20 of them, 16 to a device (QED_MINORS). */
#define QEDTAB_MAX_INDEX 65535u

const char *qedtab_default_path(void)
{
	const char *p = getenv("QEDCTL_QEDTAB");

	return p && *p ? p : QEDTAB_PATH;
}

static void __attribute__((format(printf, 2, 3))) refuse(struct qedtab_entry *e,
							 const char *fmt, ...)
{
	va_list ap;

	if (e->error)
		return;		/* one message a line: the first thing wrong */
	va_start(ap, fmt);
	if (vasprintf(&e->error, fmt, ap) < 0)
		die("out of memory");
	va_end(ap);
}

bool path_normalize(char *path)
{
	char *r = path, *w = path;

	while (*r) {
		if (*r == '/') {
			while (r[1] == '/')
				r++;
			/* A '.' or '..' would make the unit's name lie about the path. */
			if (r[1] == '.' && (r[2] == '/' || !r[2] ||
					    (r[2] == '.' && (r[3] == '/' || !r[3]))))
				return false;
		}
		*w++ = *r++;
	}
	if (w - path > 1 && w[-1] == '/')
		w--;
	*w = '\0';
	return true;
}

/* fstab's \NNN (octal) escapes, in place; false for a lone backslash. */
static bool unescape(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (*r != '\\') {
			*w++ = *r++;
			continue;
		}
		if (r[1] < '0' || r[1] > '3' || r[2] < '0' || r[2] > '7' ||
		    r[3] < '0' || r[3] > '7')
			return false;
		*w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
		r += 4;
	}
	*w = '\0';
	return true;
}

void qedtab_print_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == '\\' || c == 0x7f)
			fprintf(f, "\\%03o", c);
		else
			fputc(c, f);
	}
}

static void parse_image(struct qedtab_entry *e, char *field)
{
	const char *p;

	if (!unescape(field)) {
		refuse(e, "a '\\' in IMAGE that is not \\NNN (octal, as \\040 for a blank)");
		return;
	}
	if (field[0] != '/') {
		refuse(e, "IMAGE '%s' is not an absolute path", field);
		return;
	}
	for (p = field; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f) {
			refuse(e, "IMAGE holds a control character");
			return;
		}
	if (strlen(field) >= PATH_MAX) {
		refuse(e, "IMAGE is longer than %d bytes", PATH_MAX - 1);
		return;
	}
	if (!path_normalize(field)) {
		refuse(e, "IMAGE '%s' has a '.' or '..' in it (name it plainly)", field);
		return;
	}
	if (!strcmp(field, "/")) {
		refuse(e, "IMAGE '/' is a directory");
		return;
	}
	e->image = strdup(field);
	if (!e->image)
		die("out of memory");
}

static void parse_index(struct qedtab_entry *e, const char *field)
{
	unsigned long v;
	char *end;

	if (!strcmp(field, "-"))
		return;
	errno = 0;
	v = strtoul(field, &end, 10);
	if (field[0] < '0' || field[0] > '9' || *end || errno || v > QEDTAB_MAX_INDEX) {
		refuse(e, "INDEX '%s' is neither '-' nor a number from 0 to %u", field,
		       QEDTAB_MAX_INDEX);
		return;
	}
	e->attach.index = (uint32_t)v;
	e->attach.flags |= QEDBLK_ATTACH_WANT_INDEX;
}

static void parse_options(struct qedtab_entry *e, char *field)
{
	struct qedblk_attach *a = &e->attach;
	char *opt, *val, *next;
	uint64_t bs;

	if (!strcmp(field, "-") || !strcmp(field, "defaults"))
		return;
	for (opt = field; opt; opt = next) {
		next = strchr(opt, ',');
		if (next)
			*next++ = '\0';
		val = strchr(opt, '=');
		if (val)
			*val++ = '\0';
		if (!*opt) {
			refuse(e, "an empty option (two commas, or one at an end)");
		} else if (!strcmp(opt, "sector-size")) {
			if (!val || parse_size(val, &bs) || bs < 512 || bs > 4096 ||
			    (bs & (bs - 1)))
				refuse(e, "sector-size=%s is not 512, 1024, 2048 or 4096",
				       val ? val : "");
			else
				a->block_size = (uint32_t)bs;
		} else if (val) {
			refuse(e, "option '%s' takes no value", opt);
		} else if (!strcmp(opt, "ro")) {
			a->flags |= QEDBLK_ATTACH_READ_ONLY;
		} else if (!strcmp(opt, "rw")) {
			a->flags &= ~QEDBLK_ATTACH_READ_ONLY;
		} else if (!strcmp(opt, "direct-io")) {
			a->flags |= QEDBLK_ATTACH_DIRECT_IO;
		} else if (!strcmp(opt, "no-partscan")) {
			a->flags |= QEDBLK_ATTACH_NO_PARTSCAN;
		} else if (!strcmp(opt, "partscan")) {
			a->flags &= ~QEDBLK_ATTACH_NO_PARTSCAN;
		} else if (!strcmp(opt, "nofail")) {
			e->nofail = true;
		} else if (!strcmp(opt, "fail")) {
			e->nofail = false;
		} else if (!strcmp(opt, "noauto")) {
			e->noauto = true;
		} else if (!strcmp(opt, "auto")) {
			e->noauto = false;
		} else if (!strcmp(opt, "_netdev")) {
			e->netdev = true;
		} else {
			refuse(e, "unknown option '%s'", opt);
		}
	}
}

/* Later lines may not name an image or index an earlier line took. */
static void check_duplicates(struct qedtab *t, struct qedtab_entry *e)
{
	size_t i;

	for (i = 0; i + 1 < t->n; i++) {
		const struct qedtab_entry *o = &t->e[i];

		if (o->error || !o->image)
			continue;
		if (!strcmp(o->image, e->image))
			refuse(e, "%s is listed already, at line %u", e->image, o->line);
		else if ((o->attach.flags & e->attach.flags & QEDBLK_ATTACH_WANT_INDEX) &&
			 o->attach.index == e->attach.index)
			refuse(e, "INDEX %u is taken already, at line %u", e->attach.index, o->line);
	}
}

static struct qedtab_entry *new_entry(struct qedtab *t, unsigned int nr)
{
	struct qedtab_entry *e = reallocarray(t->e, t->n + 1, sizeof(*t->e));

	if (!e)
		die("out of memory");
	t->e = e;
	e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	e->line = nr;
	return e;
}

static void parse_line(struct qedtab *t, char *line, unsigned int nr)
{
	struct qedtab_entry *e;
	char *field[4], *save = NULL;
	int n;

	line += strspn(line, " \t");
	if (!*line || *line == '#')
		return;
	e = new_entry(t, nr);
	for (n = 0; n < 4; n++) {
		field[n] = strtok_r(n ? NULL : line, " \t", &save);
		if (!field[n])
			break;
	}
	if (n > 3) {
		refuse(e, "more than 3 fields (IMAGE INDEX OPTIONS; a blank in IMAGE is \\040)");
	} else {
		parse_image(e, field[0]);
		if (n > 1)
			parse_index(e, field[1]);
		if (n > 2)
			parse_options(e, field[2]);
	}
	if (!e->error)
		check_duplicates(t, e);
	if (e->error)
		t->bad++;
}

int qedtab_read(const char *path, struct qedtab *t)
{
	bool missing_ok = !path;
	char *line = NULL;
	size_t size = 0;
	unsigned int nr = 0;
	ssize_t len;
	FILE *f;

	memset(t, 0, sizeof(*t));
	t->path = path ? path : qedtab_default_path();
	f = fopen(t->path, "re");
	if (!f) {
		if (errno == ENOENT && missing_ok)
			return 0;	/* no qedtab: nothing attached at boot */
		errmsg("%s: %s", t->path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &size, f)) >= 0) {
		nr++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (strlen(line) != (size_t)len) {
			/* A NUL would cut the line short without a word. */
			refuse(new_entry(t, nr), "a NUL byte in the line");
			t->bad++;
			continue;
		}
		parse_line(t, line, nr);
	}
	free(line);
	if (ferror(f)) {
		errmsg("%s: %s", t->path, strerror(errno));
		fclose(f);
		qedtab_free(t);
		return -1;
	}
	fclose(f);
	return 0;
}

void qedtab_free(struct qedtab *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->e[i].image);
		free(t->e[i].error);
	}
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

void qedtab_report(const struct qedtab *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->e[i].error)
			errmsg("%s:%u: %s", t->path, t->e[i].line, t->e[i].error);
}

const struct qedtab_entry *qedtab_find(const struct qedtab *t, const char *image)
{
	char *want = strdup(image);
	const struct qedtab_entry *found = NULL;
	size_t i;

	if (!want)
		die("out of memory");
	if (path_normalize(want))
		for (i = 0; i < t->n && !found; i++)
			if (t->e[i].image && !strcmp(t->e[i].image, want))
				found = &t->e[i];
	free(want);
	return found;
}

/* The entry as a qedtab line, options in a fixed order: what was understood. */
static void print_entry(const struct qedtab_entry *e)
{
	const struct qedblk_attach *a = &e->attach;
	const char *opt[8];
	char bs[32];
	size_t n = 0, i;

	if (a->flags & QEDBLK_ATTACH_READ_ONLY)
		opt[n++] = "ro";
	if (a->flags & QEDBLK_ATTACH_DIRECT_IO)
		opt[n++] = "direct-io";
	if (a->flags & QEDBLK_ATTACH_NO_PARTSCAN)
		opt[n++] = "no-partscan";
	if (a->block_size) {
		snprintf(bs, sizeof(bs), "sector-size=%u", a->block_size);
		opt[n++] = bs;
	}
	if (e->nofail)
		opt[n++] = "nofail";
	if (e->noauto)
		opt[n++] = "noauto";
	if (e->netdev)
		opt[n++] = "_netdev";
	qedtab_print_escaped(stdout, e->image);
	if (a->flags & QEDBLK_ATTACH_WANT_INDEX)
		printf(" %u ", a->index);
	else
		printf(" - ");
	for (i = 0; i < n; i++)
		printf("%s%s", i ? "," : "", opt[i]);
	printf("%s\n", n ? "" : "defaults");
}

static void usage_qedtab(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " qedtab [--qedtab FILE]\n"
		   "Check " QEDTAB_PATH " (or FILE) and print its entries as read, one a line;\n"
		   "each bad line is named (FILE:LINE: why) and the exit status is then 1.\n\n"
		   "  IMAGE [INDEX|-] [OPTIONS]     one image a line; '#' starts a comment line\n"
		   "  IMAGE    absolute path of the image; a blank is written \\040, a '\\' \\134\n"
		   "  INDEX    N for /dev/qedN, or '-' (or nothing) for the first free one\n"
		   "  OPTIONS  comma-separated, or '-' or 'defaults' for none:\n"
		   "    ro              a read-only device (rw: read-write, the default)\n"
		   "    direct-io       O_DIRECT I/O on the image file\n"
		   "    no-partscan     do not look for partitions (partscan: do, the default)\n"
		   "    sector-size=N   logical block size: 512 (default), 1024, 2048, 4096\n"
		   "    nofail          boot does not fail, nor wait, when it cannot be attached\n"
		   "    noauto          not attached at boot nor by attach --all; only by\n"
		   "                    attach --qedtab-entry (systemctl start qed-attach@...)\n"
		   "    _netdev         the image is on network storage: attached after the\n"
		   "                    network is online and remote file systems are mounted\n\n"
		   "  --qedtab FILE     read FILE, not " QEDTAB_PATH "\n"
		   "  -h, --help        this text\n");
}

int cmd_qedtab(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "qedtab", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct qedtab t;
	unsigned int bad;
	size_t i;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'T':
			path = optarg;
			break;
		case 'h':
			usage_qedtab(stdout);
			return 0;
		default:
			usage_qedtab(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, QEDCTL_NAME ": qedtab: no arguments but options\n");
		usage_qedtab(stderr);
		return 1;
	}
	if (qedtab_read(path, &t))
		return 1;
	qedtab_report(&t);
	for (i = 0; i < t.n; i++)
		if (!t.e[i].error)
			print_entry(&t.e[i]);
	bad = t.bad;
	qedtab_free(&t);
	return bad ? 1 : 0;
}
