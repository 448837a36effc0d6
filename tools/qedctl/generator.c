// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl generate-units: the systemd generator behind qedblk-generator
 * (systemd.generator(7)), as systemd-cryptsetup-generator is crypttab's.
 * For each qedtab entry it orders an instance of the static template
 * qed-attach@.service (which attaches and detaches the image) with a
 * drop-in, and hangs it below local-fs.target or remote-fs.target.
 *
 * The instance name is the image path escaped as systemd-escape -p does,
 * so that %f in the template gives the path back.  Nothing here touches
 * the image or its file system: generators run before anything is
 * mounted, and must not wait on storage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <libmount.h>

#include "qedctl.h"

#ifndef SYSTEMD_UNIT_DIR
#define SYSTEMD_UNIT_DIR "/lib/systemd/system"
#endif
#define TEMPLATE "qed-attach@.service"
/* Where 60-qedblk.rules links a device by its image's path. */
#define BY_IMAGE "/dev/disk/by-qed-image"
/* systemd's UNIT_NAME_MAX, less the NUL. */
#define UNIT_NAME_LEN 255

static bool unit_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '_' || c == '.';
}

/*
 * systemd's unit_name_path_escape() (systemd-escape -p) of a normalized
 * absolute path: "/var/lib/a-b.qed" is "var-lib-a\x2db.qed".  NULL when
 * "@PREFIX@NAME.SUFFIX" would be longer than a unit name may be.
 */
static char *unit_name(const char *prefix, const char *path, const char *suffix)
{
	size_t len = strlen(prefix) + strlen(suffix);
	char *name, *w;
	const char *p;

	while (*path == '/')
		path++;
	name = malloc(len + 4 * strlen(path) + 2);
	if (!name)
		die("out of memory");
	w = name + sprintf(name, "%s", prefix);
	if (!*path)
		*w++ = '-';
	for (p = path; *p; p++) {
		if (*p == '/')
			*w++ = '-';
		/* No leading '.': a hidden unit file. */
		else if (unit_char(*p) && !(p == path && *p == '.'))
			*w++ = *p;
		else
			w += sprintf(w, "\\x%02x", (unsigned char)*p);
	}
	strcpy(w, suffix);
	if (strlen(name) > UNIT_NAME_LEN) {
		free(name);
		return NULL;
	}
	return name;
}

/*
 * The link 60-qedblk.rules makes for @image: udev (udev_replace_chars(),
 * string_escape=replace) keeps ASCII letters and digits, "#+-.:=@_/",
 * "\x" and well-formed UTF-8, and makes '_' of all else; it drops
 * trailing blanks of a sysfs value.
 */
static char *udev_link(const char *image)
{
	unsigned char *p, *s;
	size_t n, len;
	char *link;

	if (asprintf(&link, BY_IMAGE "%s", image) < 0)
		die("out of memory");
	len = strlen(link);
	while (len && strchr(" \t\n\v\f\r", link[len - 1]))
		link[--len] = '\0';
	s = (unsigned char *)link + strlen(BY_IMAGE);
	for (p = s; *p; ) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("#+-.:=@_/", *p)) {
			p++;
		} else if (*p == '\\' && p[1] == 'x') {
			p += 2;
		} else {
			n = utf8_len(p);
			if (n > 1) {
				p += n;
			} else {
				*p++ = '_';
			}
		}
	}
	return link;
}

/*
 * Is @image below a mount point of fstab other than '/'?  Then its unit
 * waits for that mount, which waits for local-fs-pre.target (or the
 * network): the unit cannot also come before local-fs-pre.target, or the
 * boot would have an ordering cycle.  *@remote says the mount is a
 * network file system.
 */
static bool on_separate_mount(struct libmnt_table *fstab, const char *image, bool *remote)
{
	struct libmnt_iter *itr = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs;
	size_t best = 0, len;
	char *target;

	if (!itr)
		die("out of memory");
	*remote = false;
	while (fstab && mnt_table_next_fs(fstab, itr, &fs) == 0) {
		if (mnt_fs_is_swaparea(fs) || !mnt_fs_get_target(fs) ||
		    mnt_fs_get_target(fs)[0] != '/')
			continue;
		target = strdup(mnt_fs_get_target(fs));
		if (!target)
			die("out of memory");
		path_normalize(target);
		len = strlen(target);
		/* systemd keeps /usr mounted throughout, as '/': no ordering to keep. */
		if (!strcmp(target, "/usr"))
			len = 0;
		if (len > 1 && len > best && !strncmp(image, target, len) && image[len] == '/') {
			best = len;
			*remote = mnt_fs_is_netfs(fs) ||
				  mnt_fs_get_option(fs, "_netdev", NULL, NULL) == 0;
		}
		free(target);
	}
	mnt_free_iter(itr);
	return best > 0;
}

static int mkdir_in(const char *dir, const char *name)
{
	char *path;
	int ret = 0;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		die("out of memory");
	if (mkdir(path, 0755) && errno != EEXIST) {
		errmsg("%s: %s", path, strerror(errno));
		ret = -1;
	}
	free(path);
	return ret;
}

/* "Wants=" and "Before=" a blockdev@ target, as cryptsetup units have. */
static void blockdev_deps(FILE *f, const char *dev)
{
	char *target = unit_name("blockdev@", dev, ".target");

	/*
	 * Mounts of @dev come after blockdev@<dev>.target (systemd adds it),
	 * so at shutdown they are unmounted before this unit detaches.
	 */
	if (target)
		fprintf(f, "Wants=%s\nBefore=%s\n", target, target);
	free(target);
}

static int write_dropin(const char *dir, const char *unit, const struct qedtab *t,
			const struct qedtab_entry *e, bool netdev, bool separate)
{
	char *path, *link, dev[32];
	int fd, ret = 0;
	FILE *f;

	if (asprintf(&path, "%s.d", unit) < 0)
		die("out of memory");
	if (mkdir_in(dir, path)) {
		free(path);
		return -1;
	}
	free(path);
	if (asprintf(&path, "%s/%s.d/50-qedtab.conf", dir, unit) < 0)
		die("out of memory");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		errmsg("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return -1;
	}
	fprintf(f, "# Automatically generated by qedblk-generator from %s:%u\n\n[Unit]\n"
		   "SourcePath=%s\n", t->path, e->line, t->path);
	if (netdev) {
		/* As fstab's _netdev mounts and crypttab's _netdev volumes. */
		fprintf(f, "After=remote-fs-pre.target network-online.target\n"
			   "Wants=network-online.target\n");
		if (!e->nofail)
			fprintf(f, "Before=remote-fs.target\n");
	} else if (e->nofail) {
		/*
		 * As fstab's nofail: the boot does not wait for it (a hung
		 * server, a long repair); only mounts of its device do, by
		 * the blockdev@ targets below.
		 */
	} else if (separate) {
		fprintf(f, "Before=local-fs.target\n");
	} else {
		/*
		 * Before every local mount, so that at shutdown every one of
		 * them is unmounted before the image is detached.
		 */
		fprintf(f, "Wants=local-fs-pre.target\nBefore=local-fs-pre.target local-fs.target\n");
	}
	link = udev_link(e->image);
	blockdev_deps(f, link);
	free(link);
	if (e->attach.flags & QEDBLK_ATTACH_WANT_INDEX) {
		snprintf(dev, sizeof(dev), "/dev/qed%u", e->attach.index);
		blockdev_deps(f, dev);
	}
	if (fclose(f)) {
		errmsg("%s: %s", path, strerror(errno));
		ret = -1;
	}
	free(path);
	return ret;
}

static int add_symlink(const char *dir, const char *target, const char *kind, const char *unit)
{
	char *deps, *path;
	int ret = 0;

	if (asprintf(&deps, "%s.%s", target, kind) < 0)
		die("out of memory");
	if (mkdir_in(dir, deps)) {
		free(deps);
		return -1;
	}
	if (asprintf(&path, "%s/%s/%s", dir, deps, unit) < 0)
		die("out of memory");
	/* As systemctl enable links an instance: to its template. */
	if (symlink(SYSTEMD_UNIT_DIR "/" TEMPLATE, path)) {
		errmsg("%s: %s", path, strerror(errno));
		ret = -1;
	}
	free(path);
	free(deps);
	return ret;
}

static int generate(const char *dir, const struct qedtab *t, const struct qedtab_entry *e,
		    struct libmnt_table *fstab)
{
	bool remote, separate = on_separate_mount(fstab, e->image, &remote);
	bool netdev = e->netdev || (separate && remote);
	char *unit = unit_name("qed-attach@", e->image, ".service");
	int ret;

	if (!unit) {
		errmsg("%s:%u: IMAGE is too long for a systemd unit name (%d characters, escaped)",
		       t->path, e->line, UNIT_NAME_LEN);
		return -1;
	}
	ret = write_dropin(dir, unit, t, e, netdev, separate);
	if (!ret && !e->noauto)
		ret = add_symlink(dir, netdev ? "remote-fs.target" : "local-fs.target",
				  e->nofail ? "wants" : "requires", unit);
	free(unit);
	return ret;
}

static void usage_generate(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " generate-units NORMAL-DIR [EARLY-DIR LATE-DIR]\n"
		   "The systemd generator of " QEDTAB_PATH " (qedblk-generator runs it): for\n"
		   "each entry, a drop-in of " TEMPLATE " that orders the entry's instance\n"
		   "qed-attach@IMAGE.service (IMAGE escaped by systemd-escape -p), and a link\n"
		   "from local-fs.target (remote-fs.target for _netdev), in NORMAL-DIR.\n"
		   "Bad lines are named, the others still get their units; the exit status\n"
		   "is then 1.  QEDCTL_QEDTAB and LIBMOUNT_FSTAB name other files to read.\n");
}

int cmd_generate_units(int argc, char **argv)
{
	struct libmnt_table *fstab;
	struct qedtab t;
	int ret;
	size_t i;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage_generate(stdout);
		return 0;
	}
	/* systemd passes three directories; one alone stands for all three. */
	if ((argc != 2 && argc != 4) || argv[1][0] == '-') {
		usage_generate(stderr);
		return 1;
	}
	if (qedtab_read(NULL, &t))
		return 1;
	qedtab_report(&t);
	ret = t.bad ? 1 : 0;
	fstab = mnt_new_table();
	if (!fstab)
		die("out of memory");
	/* No fstab, or a bad one: every image is taken to be on '/'. */
	mnt_table_parse_fstab(fstab, NULL);
	for (i = 0; i < t.n; i++)
		if (!t.e[i].error && generate(argv[1], &t, &t.e[i], fstab))
			ret = 1;
	mnt_unref_table(fstab);
	qedtab_free(&t);
	return ret;
}
