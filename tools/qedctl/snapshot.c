// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl snapshot DEV OVERLAY: a live external snapshot, as QEMU's
 * blockdev-snapshot-sync.  A new, empty QED image is created over the
 * device's image, and the kernel (QEDBLK_CTL_SNAPSHOT) switches the device
 * to it between two requests: new writes go to OVERLAY, and the old image
 * becomes its read-only backing file, a point-in-time copy.
 *
 * The kernel flushes and marks the old image clean; what it cannot see is
 * a file system's own state, so the file systems mounted from the device
 * are frozen (FIFREEZE) across the switch, as fsfreeze(8) would, and the
 * old image holds them as after a clean sync, not as after a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>
#include <libmount.h>

#include "qedctl.h"

/* The file systems frozen, to thaw: open descriptors on their mount points. */
struct frozen {
	unsigned int n, room;
	int *fd;
	char **dir;
	dev_t *dev;
};

static void usage_snapshot(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " snapshot [--no-freeze] [-q] DEVICE OVERLAY\n"
		   "Take a live snapshot of an attached read-write DEVICE (/dev/qedN, qedN or N):\n"
		   "create OVERLAY, a new QED image whose backing file is DEVICE's image, and\n"
		   "switch DEVICE to it while in use.  New writes go to OVERLAY; the old image\n"
		   "is left clean and read-only, to be copied or attached read-only elsewhere.\n"
		   "The file systems mounted from DEVICE are frozen across the switch.\n\n"
		   "  -n, --no-freeze   do not freeze them (they are as after a crash in the\n"
		   "                    old image, unless frozen by other means)\n"
		   "  -q, --quiet       print nothing on success\n"
		   "  -h, --help        this text\n");
}

/*
 * @target relative to the directory @dir, both absolute and canonical
 * (realpath()): "base.qed", "../c/base.qed".  -1 when the two share no
 * directory but '/': an absolute name says more than "../../../srv/x".
 */
static int relative_name(const char *dir, const char *target, char *out, size_t len)
{
	size_t i, common = 0, up = 0, dlen = strlen(dir);
	const char *p;
	char *o = out;

	/* The longest common prefix ending at a component boundary. */
	for (i = 0; dir[i] && dir[i] == target[i]; i++)
		if (dir[i] == '/')
			common = i + 1;
	if (!dir[i] && target[i] == '/')
		common = i + 1;
	if (!target[common])
		return -1;	/* @target is @dir or above it */
	/* The components of @dir below the common prefix, each a "..". */
	for (p = dir + (common < dlen ? common : dlen); *p; p++)
		if (p[0] != '/' && (p == dir || p[-1] == '/'))
			up++;
	if (common == 1 && up)
		return -1;
	if (up * 3 + strlen(target + common) >= len)
		return -1;
	for (i = 0; i < up; i++, o += 3)
		memcpy(o, "../", 3);
	strcpy(o, target + common);
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * The name the overlay's header gives its backing file @base (the
 * device's image, of @st), as seen from the overlay @ovl in @ovl_dir, both
 * canonical: relative when @base is reachable so (the two may then be
 * moved together, as qemu-img users do), else @base as it is.
 */
static void backing_name(const char *ovl, const char *ovl_dir, const char *base,
			 const struct stat *st, char *out, size_t len)
{
	char resolved[PATH_MAX];
	struct stat rst;

	if (!relative_name(ovl_dir, base, out, len)) {
		chain_resolve(ovl, out, resolved, sizeof(resolved));
		if (!stat(resolved, &rst) && same_file(&rst, st))
			return;
	}
	snprintf(out, len, "%s", base);
}

static int frozen_add(struct frozen *fz, int fd, const char *dir, dev_t dev)
{
	if (fz->n == fz->room) {
		unsigned int room = fz->room ? fz->room * 2 : 8;
		int *fds = realloc(fz->fd, room * sizeof(*fds));
		char **dirs;
		dev_t *devs;

		if (fds)
			fz->fd = fds;
		dirs = fds ? realloc(fz->dir, room * sizeof(*dirs)) : NULL;
		if (dirs)
			fz->dir = dirs;
		devs = dirs ? realloc(fz->dev, room * sizeof(*devs)) : NULL;
		if (!devs)
			return -ENOMEM;
		fz->dev = devs;
		fz->room = room;
	}
	fz->dir[fz->n] = strdup(dir);
	if (!fz->dir[fz->n])
		return -ENOMEM;
	fz->fd[fz->n] = fd;
	fz->dev[fz->n] = dev;
	fz->n++;
	return 0;
}

static bool frozen_has(const struct frozen *fz, dev_t dev)
{
	unsigned int i;

	for (i = 0; i < fz->n; i++)
		if (fz->dev[i] == dev)
			return true;
	return false;
}

/* Thaw every file system frozen, the last first: -1 if any stayed frozen. */
static int thaw_all(struct frozen *fz)
{
	int ret = 0;

	while (fz->n) {
		unsigned int i = --fz->n;

		if (fz->fd[i] >= 0 && ioctl(fz->fd[i], FITHAW, 0) < 0) {
			errmsg("%s: thawing the file system failed: %s; it is still frozen"
			       " (fsfreeze -u %s)", fz->dir[i], strerror(errno), fz->dir[i]);
			ret = -1;
		}
		if (fz->fd[i] >= 0)
			close(fz->fd[i]);
		free(fz->dir[i]);
	}
	free(fz->fd);
	free(fz->dir);
	free(fz->dev);
	memset(fz, 0, sizeof(*fz));
	return ret;
}

/*
 * Freeze each file system mounted from /dev/qed@index or one of its
 * partitions, once per file system (bind mounts share one): 0, or -1
 * after saying why, with those frozen so far in @fz for thaw_all().
 * Never die()s: a file system must not be left frozen.
 */
static int freeze_device(uint32_t index, struct frozen *fz)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_iter *itr = mnt_new_iter(MNT_ITER_FORWARD);
	struct libmnt_fs *fs, *top;
	const char *dir, *type;
	uint32_t other;
	int fd, ret = 0;

	if (!tb || !itr) {
		errmsg("/proc/self/mountinfo: cannot read it (give --no-freeze to snapshot"
		       " without freezing)");
		ret = -1;
	}
	while (!ret && mnt_table_next_fs(tb, itr, &fs) == 0) {
		dev_t dev = mnt_fs_get_devno(fs);
		const char *src = mnt_fs_get_srcpath(fs);
		struct stat st;
		bool ours;

		/*
		 * By its device number, or for btrfs and the like, whose
		 * mountinfo has an anonymous one, by the device it names.
		 */
		ours = !qed_index_of(dev, &other) && other == index;
		if (!ours && !major(dev) && src && !stat(src, &st) && S_ISBLK(st.st_mode))
			ours = !qed_index_of(st.st_rdev, &other) && other == index;
		if (!ours || frozen_has(fz, dev))
			continue;
		dir = mnt_fs_get_target(fs);
		type = mnt_fs_get_fstype(fs) ? mnt_fs_get_fstype(fs) : "?";
		if (!dir)
			continue;
		/* Its directory must lead to it, not to a file system mounted over it. */
		top = mnt_table_find_target(tb, dir, MNT_ITER_BACKWARD);
		if (top && mnt_fs_get_devno(top) != dev) {
			errmsg("%s: another file system is mounted over this mount of %s, which"
			       " cannot be frozen through it (freeze it with fsfreeze and give"
			       " --no-freeze)", dir, mnt_fs_get_source(fs));
			ret = -1;
			break;
		}
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			errmsg("%s: %s", dir, strerror(errno));
			ret = -1;
			break;
		}
		if (ioctl(fd, FIFREEZE, 0) < 0) {
			int err = errno;

			if (err == EOPNOTSUPP || err == ENOTTY) {
				fprintf(stderr, QEDCTL_NAME ": %s: %s cannot be frozen; its snapshot"
					" is as after a crash\n", dir, type);
				close(fd);
				/* Noted, with no descriptor, so that its other mounts are skipped. */
				fd = -1;
			} else {
				errmsg("%s: freezing the file system failed: %s%s", dir, strerror(err),
				       err == EBUSY ? " (it is frozen already: thaw it, or give"
				       " --no-freeze to snapshot it as it is)" : "");
				close(fd);
				ret = -1;
				break;
			}
		}
		if (frozen_add(fz, fd, dir, dev)) {
			errmsg("out of memory");
			if (fd >= 0) {
				if (ioctl(fd, FITHAW, 0) < 0)
					errmsg("%s: thawing the file system failed: %s; it is still"
					       " frozen (fsfreeze -u %s)", dir, strerror(errno), dir);
				close(fd);
			}
			ret = -1;
		}
	}
	mnt_free_iter(itr);
	mnt_unref_table(tb);
	return ret;
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* A word more for the errors the kernel leaves no doubt about. */
static const char *snapshot_why(int err)
{
	switch (err) {
	case EROFS:
		return " (the device is read-only)";
	case ELOOP:
		return " (its backing chain would be deeper than the " STR(QEDBLK_MAX_CHAIN)
		       " backing files a device may have)";
	case EBUSY:
		return " (QEMU or another device uses the overlay)";
	case EINVAL:
		return " (the kernel refused the overlay or the image: see the kernel log"
		       " for why)";
	case ENXIO:
		return " (not attached)";
	default:
		return "";
	}
}

/*
 * The module's answer to QEDBLK_CTL_GET_FEATURES: does it know
 * QEDBLK_CTL_SNAPSHOT?  One from before GET_FEATURES surely does not.
 */
static bool ctl_has_snapshot(int ctl)
{
	struct qedblk_features f;
	int ret = ctl_features(ctl, &f);

	if (ret == -ENOTTY || ret == -EINVAL)
		return false;
	/* Cannot tell: the request itself will say. */
	if (ret)
		return true;
	return f.ioctls & (1ULL << _IOC_NR(QEDBLK_CTL_SNAPSHOT));
}

/* The overlay we created at @path, and nothing else there since. */
static void unlink_ours(const char *path, const struct stat *ours)
{
	struct stat st;

	if (!lstat(path, &st) && same_file(&st, ours) && unlink(path) < 0)
		errmsg("%s: removing it failed: %s", path, strerror(errno));
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-freeze", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char dev[32], ovl_dir[PATH_MAX], ovl[PATH_MAX], tmp[PATH_MAX];
	char name[QED_MAX_BACKING_NAME + 1], bpath[PATH_MAX], base[PATH_MAX];
	struct qedblk_snapshot s;
	struct qedblk_info info;
	struct frozen fz = { 0 };
	struct create_args ca;
	struct qedblk_geom g;
	struct stat base_st, ovl_st, st;
	sigset_t block, old;
	const char *arg, *leaf, *why;
	bool freeze = true, quiet = false;
	uint32_t index;
	int c, ctl, ret, err = 0;
	char *slash;

	optind = 1;
	while ((c = getopt_long(argc, argv, "nqh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			freeze = false;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage_snapshot(stdout);
			return 0;
		default:
			usage_snapshot(stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, QEDCTL_NAME ": snapshot: %s\n", argc - optind < 2 ?
			"missing DEVICE or OVERLAY" : "one DEVICE and one OVERLAY");
		usage_snapshot(stderr);
		return 1;
	}
	arg = argv[optind + 1];
	if (parse_device(argv[optind], &index))
		die("%s: not a qed device", argv[optind]);
	snprintf(dev, sizeof(dev), "/dev/qed%u", index);

	/* Everything that can be refused is, before OVERLAY is created. */
	ctl = ctl_open(false);
	if (!ctl_has_snapshot(ctl))
		die("%s: the loaded qedblk module cannot take snapshots (it is older than"
		    " this " QEDCTL_NAME ")", dev);
	ret = device_info(ctl, index, &info);
	if (ret)
		die("%s: %s%s", dev, strerror(-ret), ret == -ENXIO ? " (not attached)" : "");
	if (info.dev_flags & QEDBLK_INFO_READ_ONLY)
		die("%s: the device is read-only: only a read-write device takes a snapshot"
		    " (a read-only one's image can be copied as it is)", dev);
	info.path[sizeof(info.path) - 1] = '\0';
	/*
	 * The overlay names its backing file by path, the kernel checks only
	 * the descriptor: the name must lead to the image the device has.  (A
	 * path cut at QEDBLK_NAME_SIZE fails here too.)
	 */
	if (info.path[0] != '/' || !realpath(info.path, base) || stat(base, &base_st) ||
	    !S_ISREG(base_st.st_mode) || !info_is_file(&info, &base_st))
		die("%s: the device's image is no longer at %s", dev, info.path);

	/* OVERLAY's directory, canonical: the base is named from there. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s", arg) >= sizeof(tmp))
		die("%s: %s", arg, strerror(ENAMETOOLONG));
	slash = strrchr(tmp, '/');
	leaf = arg + (slash ? slash + 1 - tmp : 0);
	if (!*leaf || !strcmp(leaf, ".") || !strcmp(leaf, ".."))
		die("%s: not a file name", arg);
	if (slash)
		slash[slash == tmp] = '\0';	/* "/x": the directory is "/" */
	else
		strcpy(tmp, ".");
	if (!realpath(tmp, ovl_dir))
		die("%s: %s", tmp, strerror(errno));
	if ((size_t)snprintf(ovl, sizeof(ovl), "%s%s%s", ovl_dir,
			     strcmp(ovl_dir, "/") ? "/" : "", leaf) >= sizeof(ovl))
		die("%s: %s", arg, strerror(ENAMETOOLONG));
	if (!lstat(ovl, &st))
		die("%s: it exists; a snapshot never overwrites a file", arg);
	backing_name(ovl, ovl_dir, base, &base_st, name, sizeof(name));

	/* The device's geometry: the kernel takes no other. */
	memset(&ca, 0, sizeof(ca));
	ca.cluster = info.cluster_size;
	ca.table = info.table_size;
	create_geom(&ca, info.image_size, &g);
	if (QED_HEADER_BYTES + strlen(name) > g.cluster_size)
		die("%s: the backing file name '%s' does not fit in the header of an image"
		    " with %u-byte clusters", arg, name, g.cluster_size);
	/* What qemu-img create -f qed -b BASE -F qed writes. */
	g.features |= QED_F_BACKING_FILE;
	g.backing_name_offset = QED_HEADER_BYTES;
	g.backing_name_size = (uint32_t)strlen(name);

	/*
	 * From here on, an interrupt must not leave a file system frozen or
	 * a half-made overlay behind: SIGINT, SIGTERM and SIGHUP wait until
	 * all is thawed and cleaned up.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);

	ret = create_image_file(ovl, false, &g, name);
	if (ret) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		die("%s: %s%s", arg, strerror(-ret),
		    ret == -EEXIST ? "; a snapshot never overwrites a file" : "");
	}
	/* Ours, to remove if the snapshot fails: only while it is this file. */
	memset(&ovl_st, 0, sizeof(ovl_st));
	lstat(ovl, &ovl_st);
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.index = index;
	s.backing_fd = -1;
	s.fd = open_regular(ovl, O_RDWR, &why);
	if (s.fd < 0 || fstat(s.fd, &st) < 0 || !same_file(&st, &ovl_st)) {
		errmsg("%s: %s", arg, s.fd < 0 ? why : "replaced while it was created");
		err = -1;
		goto out;
	}
	/* As the kernel and QEMU will find it: through the overlay's header. */
	chain_resolve(ovl, name, bpath, sizeof(bpath));
	s.backing_fd = open_regular(bpath, O_RDONLY, &why);
	if (s.backing_fd < 0 || fstat(s.backing_fd, &st) < 0 || !info_is_file(&info, &st)) {
		errmsg("%s: backing file %s: %s", arg, bpath,
		       s.backing_fd < 0 ? why : "no longer the device's image");
		err = -1;
		goto out;
	}
	/* Kept for display only: a long path is cut, never refused. */
	memcpy(s.path, ovl, strnlen(ovl, sizeof(s.path) - 1));

	if (freeze && freeze_device(index, &fz)) {
		err = -1;
		goto out;
	}
	if (ioctl(ctl, QEDBLK_CTL_SNAPSHOT, &s) < 0) {
		err = errno;
		thaw_all(&fz);
		errmsg("%s: snapshot failed: %s%s", dev, strerror(err), snapshot_why(err));
		err = -1;
		goto out;
	}
	if (thaw_all(&fz))
		err = 1;	/* taken all the same: not undone */
out:
	if (s.backing_fd >= 0)
		close(s.backing_fd);
	if (s.fd >= 0)
		close(s.fd);
	if (err < 0) {
		thaw_all(&fz);
		unlink_ours(ovl, &ovl_st);
	}
	close(ctl);
	/* Said before a signal held back can end us: the switch is done. */
	if (err >= 0 && !quiet) {
		printf("%s: now writes to %s; %s is its read-only backing file\n", dev, ovl,
		       base);
		fflush(stdout);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return err < 0 ? 1 : err;
}
