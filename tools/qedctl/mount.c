// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl mount IMAGE DIR and qedctl umount DIR|DEV: mount -o loop for QED
 * images.  The mount itself is libmount's (mnt_context, as mount(8) and
 * umount(8) use it): file system type detection, -o options, helpers
 * (/sbin/mount.TYPE), utab, the read-only retry and the messages are
 * mount(8)'s own, and no second program is run.
 *
 * The device goes with the file system, as libmount's loop devices do with
 * LO_FLAGS_AUTOCLEAR: it is attached, opened, marked to detach at its last
 * close, mounted, and closed; the mount then holds the last reference.
 * Marking it only once it is open matters: udev opens every new disk to
 * probe it, and an autoclear device would detach at udev's close, before
 * the mount.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <libmount.h>

#include "qedctl.h"

/* How long a device marked autoclear may take to go after its last close. */
#define DETACH_WAIT_MS 10000

/*
 * Wait until @index no longer holds the image @ino (detached, or taken by
 * another): true when gone.
 */
static bool wait_detached(int ctl, uint32_t index, uint64_t ino)
{
	const struct timespec tick = { .tv_nsec = 50 * 1000 * 1000 };
	struct qedblk_info info;
	int ms;

	for (ms = 0; ms <= DETACH_WAIT_MS; ms += 50) {
		if (device_info(ctl, index, &info) || info.image_ino != ino)
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

/* Detach @index at its last close, which is now when nobody has it open. */
static void detach_quietly(int ctl, uint32_t index, uint64_t ino)
{
	struct qedblk_detach d = { .size = sizeof(d), .index = index, .flags = QEDBLK_DETACH_DEFERRED };

	if (ioctl(ctl, QEDBLK_CTL_DETACH, &d) && errno != ENXIO)
		errmsg("/dev/qed%u: detach failed: %s", index, strerror(errno));
	else if (!wait_detached(ctl, index, ino))
		errmsg("/dev/qed%u: still open; it detaches at its last close", index);
}

static void usage_mount(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " mount [-r] [-t FSTYPE] [-o OPTIONS] IMAGE DIR\n"
		   "Attach IMAGE and mount its file system on DIR, as mount -o loop does with\n"
		   "a file; print the device.  The device detaches by itself when the file\n"
		   "system is unmounted (by umount or '" QEDCTL_NAME " umount'); if the mount\n"
		   "fails, it is detached at once.  Exit status: 0, 1 when IMAGE could not be\n"
		   "attached, or mount(8)'s (32: the mount failed).\n\n"
		   "  -r, --read-only       a read-only device and mount (also -o ro)\n"
		   "  -t, --types FSTYPE    the file system type (default: probed, as mount)\n"
		   "  -o, --options OPTS    mount options, as mount -o\n"
		   "      --direct-io       O_DIRECT I/O on the image file\n"
		   "  -v, --verbose         print the backing chain resolved\n"
		   "  -h, --help            this text\n");
}

int cmd_mount(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "read-only", no_argument, NULL, 'r' },
		{ "types", required_argument, NULL, 't' },
		{ "options", required_argument, NULL, 'o' },
		{ "direct-io", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *fstype = NULL, *options = NULL, *image, *dir;
	struct libmnt_context *cxt;
	struct qedblk_attach a;
	struct qedblk_info info;
	unsigned long mflags = 0;
	char dev[32], msg[BUFSIZ];
	bool ro = false, verbose = false;
	struct stat st;
	int c, rc, ex, ctl, fd;

	memset(&a, 0, sizeof(a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "rt:o:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			ro = true;
			break;
		case 't':
			fstype = optarg;
			break;
		case 'o':
			options = optarg;
			break;
		case 'd':
			a.flags |= QEDBLK_ATTACH_DIRECT_IO;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage_mount(stdout);
			return 0;
		default:
			usage_mount(stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, QEDCTL_NAME ": mount: %s\n", argc - optind < 2 ?
			"missing IMAGE or DIR" : "one IMAGE and one DIR");
		usage_mount(stderr);
		return 1;
	}
	image = argv[optind];
	dir = argv[optind + 1];
	if (options && (!mnt_optstr_get_option(options, "loop", NULL, NULL) ||
			!mnt_optstr_get_option(options, "offset", NULL, NULL) ||
			!mnt_optstr_get_option(options, "sizelimit", NULL, NULL)))
		die("mount: -o loop, offset and sizelimit are loop device options; the image is"
		    " attached whole, as /dev/qedN");
	/* Before attaching: a typo must not leave a device to clean up. */
	if (stat(dir, &st))
		die("%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		die("%s: not a directory", dir);

	if (options && mnt_optstr_get_flags(options, &mflags,
					    mnt_get_builtin_optmap(MNT_LINUX_MAP)))
		die("mount: invalid -o '%s'", options);
	if (ro || (mflags & MS_RDONLY))
		a.flags |= QEDBLK_ATTACH_READ_ONLY;
	/* As mount -o loop: the file system is the whole device. */
	a.flags |= QEDBLK_ATTACH_NO_PARTSCAN;
	if (attach_image(image, &a, verbose, false))
		return 1;
	snprintf(dev, sizeof(dev), "/dev/qed%u", a.index);
	ctl = ctl_open(false);
	if (device_info(ctl, a.index, &info))
		info.image_ino = 0;
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		errmsg("%s: %s", dev, strerror(errno));
	/* Held open, it is marked, not detached. */
	if (fd < 0 || detach_one(ctl, a.index, dev, QEDBLK_DETACH_DEFERRED, false)) {
		if (fd >= 0)
			close(fd);
		detach_quietly(ctl, a.index, info.image_ino);
		close(ctl);
		return 1;
	}

	mnt_init_debug(0);
	cxt = mnt_new_context();
	if (!cxt)
		die("out of memory");
	mnt_context_set_target(cxt, dir);
	mnt_context_set_source(cxt, dev);
	if (options)
		mnt_context_set_options(cxt, options);
	if (fstype)
		mnt_context_set_fstype(cxt, fstype);
	/* -r, or attached read-only as the file could not be written. */
	if ((a.flags & QEDBLK_ATTACH_READ_ONLY) && !(mflags & MS_RDONLY))
		mnt_context_append_options(cxt, "ro");
	rc = mnt_context_mount(cxt);
	ex = mnt_context_get_excode(cxt, rc, msg, sizeof(msg));
	if (*msg)
		fprintf(stderr, QEDCTL_NAME ": mount: %s\n", msg);
	mnt_free_context(cxt);
	/* The last close, when the mount failed. */
	close(fd);
	if (ex != MNT_EX_SUCCESS) {
		if (!wait_detached(ctl, a.index, info.image_ino))
			errmsg("%s: still open; it detaches at its last close", dev);
		close(ctl);
		return ex;
	}
	close(ctl);
	printf("%s\n", dev);
	return 0;
}

/* The qed device under the mount of @devno (a partition's disk): 0, or -1. */
int qed_index_of(dev_t devno, uint32_t *index)
{
	char sys[64], link[PATH_MAX], *end;
	const char *p;
	unsigned long v;
	ssize_t len;

	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(devno), minor(devno));
	len = readlink(sys, link, sizeof(link) - 1);
	if (len < 0)
		return -1;
	link[len] = '\0';
	/* ".../block/qed3" or, for a partition, ".../block/qed3/qed3p1". */
	p = strstr(link, "/block/qed");
	if (!p || p[10] < '0' || p[10] > '9')
		return -1;
	errno = 0;
	v = strtoul(p + 10, &end, 10);
	if (errno || v > UINT32_MAX || (*end && *end != '/'))
		return -1;
	*index = (uint32_t)v;
	return 0;
}

/* Is anything else of /dev/qed@index (a partition, the disk) mounted? */
static bool still_mounted(uint32_t index)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_iter *itr = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs;
	uint32_t other;
	bool found = false;

	while (tb && itr && !found && mnt_table_next_fs(tb, itr, &fs) == 0)
		found = !qed_index_of(mnt_fs_get_devno(fs), &other) && other == index;
	mnt_free_iter(itr);
	mnt_unref_table(tb);
	return found;
}

static void usage_umount(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " umount DIR|DEVICE\n"
		   "Unmount the file system of a qed device (mounted on DIR, or DEVICE's) and\n"
		   "detach the device: a device attached by '" QEDCTL_NAME " mount' detaches by\n"
		   "itself, any other is detached here, at its last close if another mount\n"
		   "still holds it.  Exit status: 0, 1 on a usage error or when DIR is no\n"
		   "qed device's mount, or umount(8)'s (32: the unmount failed).\n\n"
		   "  -h, --help   this text\n");
}

int cmd_umount(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct libmnt_context *cxt;
	struct libmnt_cache *cache;
	struct libmnt_table *tb;
	struct libmnt_fs *fs;
	struct qedblk_info info;
	char target[PATH_MAX], dev[32], msg[BUFSIZ];
	const char *arg;
	uint32_t index;
	int c, rc, ex, ctl;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage_umount(stdout);
			return 0;
		default:
			usage_umount(stderr);
			return 1;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, QEDCTL_NAME ": umount: %s\n", argc == optind ?
			"missing DIR or DEVICE" : "one DIR or DEVICE");
		usage_umount(stderr);
		return 1;
	}
	arg = argv[optind];
	mnt_init_debug(0);
	tb = mnt_new_table_from_file("/proc/self/mountinfo");
	cache = mnt_new_cache();
	if (!tb || !cache)
		die("/proc/self/mountinfo: cannot read it");
	/* Symlinks (/dev/disk/by-*) and DIR/ resolved, as umount(8) resolves them. */
	mnt_table_set_cache(tb, cache);
	mnt_unref_cache(cache);
	/* The last mount on DIR, or of DEVICE, as umount(8) picks it. */
	fs = mnt_table_find_target(tb, arg, MNT_ITER_BACKWARD);
	if (!fs)
		fs = mnt_table_find_srcpath(tb, arg, MNT_ITER_BACKWARD);
	if (!fs) {
		mnt_unref_table(tb);
		die("%s: not mounted", arg);
	}
	if (qed_index_of(mnt_fs_get_devno(fs), &index)) {
		errmsg("%s: not a qed device's file system (%s); umount(8) unmounts it", arg,
		       mnt_fs_get_source(fs) ? mnt_fs_get_source(fs) : "?");
		mnt_unref_table(tb);
		return 1;
	}
	/*
	 * The unmount goes by its directory, and unmounts the top mount
	 * there: refuse when that is another file system mounted over ours.
	 */
	if (mnt_table_find_target(tb, mnt_fs_get_target(fs), MNT_ITER_BACKWARD) != fs) {
		errmsg("%s: %s has another file system mounted over it; unmount that first",
		       arg, mnt_fs_get_target(fs));
		mnt_unref_table(tb);
		return 1;
	}
	snprintf(target, sizeof(target), "%s", mnt_fs_get_target(fs));
	mnt_unref_table(tb);
	snprintf(dev, sizeof(dev), "/dev/qed%u", index);

	ctl = ctl_open(false);
	rc = device_info(ctl, index, &info);
	if (rc)
		die("%s: %s", dev, strerror(-rc));
	cxt = mnt_new_context();
	if (!cxt)
		die("out of memory");
	mnt_context_set_target(cxt, target);
	rc = mnt_context_umount(cxt);
	ex = mnt_context_get_excode(cxt, rc, msg, sizeof(msg));
	if (*msg)
		fprintf(stderr, QEDCTL_NAME ": umount: %s\n", msg);
	mnt_free_context(cxt);
	if (ex != MNT_EX_SUCCESS) {
		close(ctl);
		return ex;
	}
	if (still_mounted(index)) {
		/* Its other mounts keep it; it goes with the last of them. */
		detach_one(ctl, index, dev, QEDBLK_DETACH_DEFERRED, true);
		fprintf(stderr, QEDCTL_NAME ": %s: mounted elsewhere too; it detaches when"
			" that is unmounted\n", dev);
	} else if (info.dev_flags & QEDBLK_INFO_AUTOCLEAR) {
		if (!wait_detached(ctl, index, info.image_ino))
			errmsg("%s: still open; it detaches at its last close", dev);
	} else {
		detach_quietly(ctl, index, info.image_ino);
	}
	close(ctl);
	return 0;
}
