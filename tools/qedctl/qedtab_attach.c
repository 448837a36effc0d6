// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching qedtab's entries: attach --all (by hand, or a boot without
 * systemd), and the boot units' attach --qedtab-entry and detach
 * --qedtab-entry.  Each is idempotent: an image attached already, by its
 * unit or by hand, is the same image by device and inode whatever its
 * name, as losetup -j matches files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "qedctl.h"

/*
 * 0 when @e's image is attached (now, or before: *@index says where),
 * -1 after saying why not.
 */
static int attach_entry(int ctl, const struct qedtab_entry *e, bool verbose, uint32_t *index,
			bool *before)
{
	struct qedblk_attach a = e->attach;
	struct stat st;

	*before = false;
	if (stat(e->image, &st)) {
		errmsg("%s: %s", e->image, strerror(errno));
		return -1;
	}
	if (find_attached(ctl, &st, index)) {
		*before = true;
		if ((a.flags & QEDBLK_ATTACH_WANT_INDEX) && *index != a.index)
			fprintf(stderr, QEDCTL_NAME ": %s: attached already as /dev/qed%u, not as"
				" /dev/qed%u as %s asks\n", e->image, *index, a.index,
				qedtab_default_path());
		return 0;
	}
	if (attach_image(e->image, &a, verbose, true))
		return -1;
	*index = a.index;
	return 0;
}

int qedtab_attach_all(const char *path, bool verbose, bool quiet)
{
	struct qedtab t;
	uint32_t index;
	bool before;
	int ctl = -1, ret;
	size_t i;

	if (qedtab_read(path, &t))
		return 1;
	qedtab_report(&t);
	ret = t.bad ? 1 : 0;
	for (i = 0; i < t.n; i++) {
		const struct qedtab_entry *e = &t.e[i];

		if (e->error || e->noauto)
			continue;
		/* Only now: a qedtab of noauto entries needs no module. */
		if (ctl < 0)
			ctl = ctl_try_open();
		if (ctl < 0) {
			ret = 1;
			break;
		}
		if (attach_entry(ctl, e, verbose, &index, &before)) {
			if (e->nofail)
				fprintf(stderr, QEDCTL_NAME ": %s: not attached (nofail)\n", e->image);
			else
				ret = 1;
			continue;
		}
		if (before) {
			if (verbose)
				fprintf(stderr, "%s: attached already as /dev/qed%u\n", e->image, index);
		} else if (!quiet) {
			printf("/dev/qed%u ", index);
			qedtab_print_escaped(stdout, e->image);
			putchar('\n');
		}
	}
	if (ctl >= 0)
		close(ctl);
	qedtab_free(&t);
	return ret;
}

int qedtab_attach_entry(const char *path, const char *image, bool verbose, bool quiet)
{
	const struct qedtab_entry *e;
	struct qedtab t;
	uint32_t index;
	bool before;
	int ctl, ret = 1;

	if (qedtab_read(path, &t))
		return 1;
	/* Other lines are the generator's to report: this is one unit's start. */
	e = qedtab_find(&t, image);
	if (!e) {
		errmsg("%s: not listed in %s", image, t.path);
	} else if (e->error) {
		errmsg("%s:%u: %s", t.path, e->line, e->error);
	} else if ((ctl = ctl_try_open()) >= 0) {
		if (!attach_entry(ctl, e, verbose, &index, &before)) {
			if (before)
				fprintf(stderr, QEDCTL_NAME ": %s: attached already\n", e->image);
			if (!quiet)
				printf("/dev/qed%u\n", index);
			ret = 0;
		}
		close(ctl);
	}
	qedtab_free(&t);
	return ret;
}

/* By device and inode; by the name given at attach when the file is gone. */
static bool is_image(const struct qedblk_info *info, const struct stat *st, const char *name)
{
	return name ? !strcmp(info->path, name) : info_is_file(info, st);
}

/*
 * Lazily: at shutdown a file system on the device may still be mounted
 * when this runs, if units were ordered wrong; the device then goes with
 * its last close, after the unmount, and no write is lost.
 */
int qedtab_detach_entry(const char *image)
{
	struct qedblk_info info;
	struct stat st;
	char *want = NULL, name[32];
	uint32_t n, i, *idx;
	int ctl, ret = 0;

	ctl = ctl_open(true);
	if (ctl < 0)
		return 0;	/* no module: nothing attached */
	if (stat(image, &st)) {
		want = strdup(image);
		if (!want)
			die("out of memory");
		path_normalize(want);
	}
	idx = list_indices(ctl, &n);
	for (i = 0; i < n; i++) {
		if (device_info(ctl, idx[i], &info) || !is_image(&info, &st, want))
			continue;
		snprintf(name, sizeof(name), "/dev/qed%u", idx[i]);
		if (detach_one(ctl, idx[i], name, QEDBLK_DETACH_DEFERRED, true)) {
			ret = 1;
			continue;
		}
		if (!device_info(ctl, idx[i], &info) && is_image(&info, &st, want))
			fprintf(stderr, QEDCTL_NAME ": %s: in use; it detaches at its last close\n",
				name);
	}
	free(idx);
	free(want);
	close(ctl);
	return ret;
}
