// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl list: attached devices as losetup --list shows loop devices, with
 * libsmartcols (losetup's and lsblk's own table library) so that -n, --raw,
 * -O and -J behave exactly as theirs do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <libsmartcols.h>

#include "qedctl.h"

enum col {
	COL_NAME, COL_SIZE, COL_AUTOCLEAR, COL_RO, COL_DIO, COL_DIRTY, COL_LOGSEC,
	COL_BACK_FILE, COL_PARTSCAN, COL_MAJMIN, COL_BACK_INO, COL_BACK_MAJMIN,
	COL_CLUSTER, COL_TABLE, COL_CHAIN, COL_BACKING,
};

static const struct column {
	const char *name;
	double whint;
	int flags;
	int json;
	const char *help;
} columns[] = {
	[COL_NAME]	 = { "NAME", 0.25, 0, SCOLS_JSON_STRING, "device name" },
	[COL_SIZE]	 = { "SIZE", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "guest-visible size" },
	[COL_AUTOCLEAR]	 = { "AUTOCLEAR", 1, SCOLS_FL_RIGHT, SCOLS_JSON_BOOLEAN,
			     "detached at the last close" },
	[COL_RO]	 = { "RO", 1, SCOLS_FL_RIGHT, SCOLS_JSON_BOOLEAN, "read-only device" },
	[COL_DIO]	 = { "DIO", 1, SCOLS_FL_RIGHT, SCOLS_JSON_BOOLEAN,
			     "O_DIRECT I/O on the image file" },
	[COL_DIRTY]	 = { "DIRTY", 1, SCOLS_FL_RIGHT, SCOLS_JSON_BOOLEAN,
			     "the image's need-check flag is set on disk" },
	[COL_LOGSEC]	 = { "LOG-SEC", 4, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "logical sector size" },
	[COL_BACK_FILE]	 = { "BACK-FILE", 0.3, 0, SCOLS_JSON_STRING,
			     "image file, as the kernel names it now" },
	[COL_PARTSCAN]	 = { "PARTSCAN", 1, SCOLS_FL_RIGHT, SCOLS_JSON_BOOLEAN,
			     "partitions are looked for" },
	[COL_MAJMIN]	 = { "MAJ:MIN", 6, 0, SCOLS_JSON_STRING, "device major:minor" },
	[COL_BACK_INO]	 = { "BACK-INO", 4, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "image file's inode" },
	[COL_BACK_MAJMIN] = { "BACK-MAJ:MIN", 6, 0, SCOLS_JSON_STRING,
			      "image file's device major:minor" },
	[COL_CLUSTER]	 = { "CLUSTER", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "cluster size in bytes" },
	[COL_TABLE]	 = { "TABLE", 2, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "table size in clusters" },
	[COL_CHAIN]	 = { "CHAIN", 2, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
			     "backing files below the image" },
	[COL_BACKING]	 = { "BACKING", 0.3, SCOLS_FL_TRUNC, SCOLS_JSON_STRING,
			     "the nearest backing file" },
};

#define NR_COLUMNS (sizeof(columns) / sizeof(columns[0]))

/* losetup's default set, with the QED-only DIRTY in place of OFFSET. */
static const enum col default_columns[] = {
	COL_NAME, COL_SIZE, COL_AUTOCLEAR, COL_RO, COL_DIO, COL_DIRTY, COL_LOGSEC, COL_BACK_FILE,
};

static void usage_list(FILE *f)
{
	size_t i;

	fprintf(f, "usage: " QEDCTL_NAME " list [OPTIONS] [DEVICE...]\n"
		   "List attached devices (all, or each DEVICE), as losetup --list.  Nothing\n"
		   "is printed, and the exit status is 0, when none is attached.\n\n"
		   "  -a, --all             every attached device (the default)\n"
		   "  -j, --associated FILE only devices whose image is FILE\n"
		   "  -O, --output COLS     the columns to print, comma-separated\n"
		   "      --output-all      every column\n"
		   "  -n, --noheadings      no header line\n"
		   "      --raw             raw output, as losetup --raw\n"
		   "  -J, --json            JSON: {\"qeddevices\": [...]}\n"
		   "      --bytes           SIZE in bytes (always so in JSON)\n"
		   "  -h, --help            this text\n\nColumns (default:");
	for (i = 0; i < sizeof(default_columns) / sizeof(default_columns[0]); i++)
		fprintf(f, " %s", columns[default_columns[i]].name);
	fprintf(f, "):\n");
	for (i = 0; i < NR_COLUMNS; i++)
		fprintf(f, "  %12s  %s\n", columns[i].name, columns[i].help);
}

static int column_by_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NR_COLUMNS; i++)
		if (strlen(columns[i].name) == len && !strncasecmp(columns[i].name, name, len))
			return (int)i;
	return -1;
}

/* "NAME,RO" (or "+RO" to add to the defaults) into @cols; 0 or -EINVAL. */
static int parse_columns(const char *arg, int *cols, size_t *n)
{
	const char *p = arg, *end;
	int c;

	if (*p == '+')
		p++;
	else
		*n = 0;
	while (*p) {
		end = strchrnul(p, ',');
		c = column_by_name(p, end - p);
		if (c < 0 || *n >= NR_COLUMNS * 2) {
			fprintf(stderr, QEDCTL_NAME ": list: unknown column '%.*s' (see --help)\n",
				(int)(end - p), p);
			return -EINVAL;
		}
		cols[(*n)++] = c;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* The first line of a sysfs attribute of /dev/qed@index, or "". */
void sysfs_line(uint32_t index, const char *attr, char *buf, size_t len)
{
	char path[128];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/sys/block/qed%u/%s", index, attr);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static const char *yes_no(uint32_t flags, uint32_t bit)
{
	return (flags & bit) ? "1" : "0";
}

static int add_line(struct libscols_table *tb, const int *cols, size_t ncols,
		    const struct qedblk_info *info, bool bytes)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);
	char buf[PATH_MAX + 16];
	const char *v;
	size_t i;

	if (!ln)
		return -ENOMEM;
	for (i = 0; i < ncols; i++) {
		v = buf;
		switch ((enum col)cols[i]) {
		case COL_NAME:
			snprintf(buf, sizeof(buf), "/dev/qed%u", info->index);
			break;
		case COL_SIZE:
			if (bytes)
				snprintf(buf, sizeof(buf), "%llu",
					 (unsigned long long)info->image_size);
			else
				format_size(info->image_size, buf, sizeof(buf));
			break;
		case COL_AUTOCLEAR:
			v = yes_no(info->dev_flags, QEDBLK_INFO_AUTOCLEAR);
			break;
		case COL_RO:
			v = yes_no(info->dev_flags, QEDBLK_INFO_READ_ONLY);
			break;
		case COL_DIO:
			v = yes_no(info->dev_flags, QEDBLK_INFO_DIRECT_IO);
			break;
		case COL_DIRTY:
			v = yes_no(info->dev_flags, QEDBLK_INFO_DIRTY);
			break;
		case COL_PARTSCAN:
			v = (info->dev_flags & QEDBLK_INFO_NO_PARTSCAN) ? "0" : "1";
			break;
		case COL_LOGSEC:
			snprintf(buf, sizeof(buf), "%u", info->block_size ? info->block_size : 512);
			break;
		case COL_BACK_FILE:
			/* As losetup: the kernel's view, which follows renames. */
			sysfs_line(info->index, "qed/backing_file", buf, sizeof(buf));
			if (!buf[0])
				v = info->path;
			break;
		case COL_MAJMIN:
			sysfs_line(info->index, "dev", buf, sizeof(buf));
			break;
		case COL_BACK_INO:
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)info->image_ino);
			break;
		case COL_BACK_MAJMIN:
			snprintf(buf, sizeof(buf), "%u:%u", major(info->image_dev),
				 minor(info->image_dev));
			break;
		case COL_CLUSTER:
			snprintf(buf, sizeof(buf), "%u", info->cluster_size);
			break;
		case COL_TABLE:
			snprintf(buf, sizeof(buf), "%u", info->table_size);
			break;
		case COL_CHAIN:
			snprintf(buf, sizeof(buf), "%u", info->nr_backing);
			break;
		case COL_BACKING:
			sysfs_line(info->index, "qed/base_file", buf, sizeof(buf));
			break;
		}
		if (scols_line_set_data(ln, i, v))
			return -ENOMEM;
	}
	return 0;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "associated", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'O' },
		{ "output-all", no_argument, NULL, 'A' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "raw", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'J' },
		{ "bytes", no_argument, NULL, 'B' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int cols[NR_COLUMNS * 2];
	size_t ncols = 0, i;
	bool json = false, raw = false, noheadings = false, bytes = false;
	const char *assoc = NULL;
	struct libscols_table *tb;
	struct libscols_column *cl;
	struct qedblk_info info;
	struct stat st;
	uint32_t n, *idx, index;
	int c, ctl, err, ret = 0;

	for (i = 0; i < sizeof(default_columns) / sizeof(default_columns[0]); i++)
		cols[ncols++] = default_columns[i];
	optind = 1;
	while ((c = getopt_long(argc, argv, "aj:O:nJlh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
		case 'l':
			break;
		case 'j':
			assoc = optarg;
			break;
		case 'O':
			if (parse_columns(optarg, cols, &ncols))
				return 1;
			break;
		case 'A':
			for (ncols = 0; ncols < NR_COLUMNS; ncols++)
				cols[ncols] = (int)ncols;
			break;
		case 'n':
			noheadings = true;
			break;
		case 'r':
			raw = true;
			break;
		case 'J':
			json = true;
			break;
		case 'B':
			bytes = true;
			break;
		case 'h':
			usage_list(stdout);
			return 0;
		default:
			usage_list(stderr);
			return 1;
		}
	}
	if (assoc && stat(assoc, &st))
		die("%s: %s", assoc, strerror(errno));

	ctl = ctl_open(true);
	if (ctl < 0)
		return 0;	/* no module: nothing attached, as losetup -a */
	scols_init_debug(0);
	tb = scols_new_table();
	if (!tb)
		die("out of memory");
	scols_table_enable_raw(tb, raw);
	scols_table_enable_json(tb, json);
	scols_table_enable_noheadings(tb, noheadings);
	if (json) {
		scols_table_set_name(tb, "qeddevices");
		bytes = true;
	}
	for (i = 0; i < ncols; i++) {
		const struct column *col = &columns[cols[i]];

		cl = scols_table_new_column(tb, col->name, col->whint, col->flags);
		if (!cl)
			die("out of memory");
		scols_column_set_json_type(cl, col->json);
	}

	if (optind < argc) {
		/* The devices asked for, in that order; a bad one fails the command. */
		for (; optind < argc; optind++) {
			if (parse_device(argv[optind], &index)) {
				fprintf(stderr, QEDCTL_NAME ": %s: not a qed device\n", argv[optind]);
				ret = 1;
				continue;
			}
			err = device_info(ctl, index, &info);
			if (err) {
				fprintf(stderr, QEDCTL_NAME ": %s: %s\n", argv[optind],
					err == -ENXIO ? "not attached" : strerror(-err));
				ret = 1;
				continue;
			}
			if ((!assoc || info_is_file(&info, &st)) &&
			    add_line(tb, cols, ncols, &info, bytes))
				die("out of memory");
		}
	} else {
		idx = list_indices(ctl, &n);
		for (i = 0; i < n; i++) {
			err = device_info(ctl, idx[i], &info);
			if (err == -ENXIO)
				continue;	/* detached meanwhile */
			if (err)
				die("/dev/qed%u: %s", idx[i], strerror(-err));
			if ((!assoc || info_is_file(&info, &st)) &&
			    add_line(tb, cols, ncols, &info, bytes))
				die("out of memory");
		}
		free(idx);
	}
	close(ctl);
	/* As losetup: an empty list is no table at all, not a lone header. */
	if (scols_table_get_nlines(tb))
		scols_print_table(tb);
	scols_unref_table(tb);
	return ret;
}
