// SPDX-License-Identifier: GPL-2.0
/*
 * Commands that talk to the module through /dev/qed-control.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "qedctl.h"

/*
 * The control device, or -1 without a message when @quiet and the module is
 * not loaded (as losetup -a then lists nothing).
 */
int ctl_open(bool quiet)
{
	int fd = open(QEDBLK_CTL_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0 && quiet && errno == ENOENT)
		return -1;
	if (fd < 0)
		die("%s: %s%s", QEDBLK_CTL_DEVICE, strerror(errno),
		    errno == ENOENT ? " (is the qedblk module loaded?)" : "");
	return fd;
}

int ctl_try_open(void)
{
	int fd = open(QEDBLK_CTL_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		errmsg("%s: %s%s", QEDBLK_CTL_DEVICE, strerror(errno),
		       errno == ENOENT ? " (is the qedblk module loaded?)" : "");
	return fd;
}

/*
 * "/dev/qed3", "qed3" or "3"; a path is resolved first, so that symlinks
 * such as /dev/disk/by-id/... name their device as they do for losetup.
 */
int parse_device(const char *s, uint32_t *index)
{
	char real[PATH_MAX];
	unsigned long v;
	char *end;

	if (strchr(s, '/') && realpath(s, real))
		s = real;
	if (!strncmp(s, "/dev/", 5))
		s += 5;
	if (!strncmp(s, "qed", 3))
		s += 3;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*index = (uint32_t)v;
	return 0;
}

int device_info(int ctl, uint32_t index, struct qedblk_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->index = index;
	return ioctl(ctl, QEDBLK_CTL_INFO, info) < 0 ? -errno : 0;
}

int ctl_features(int ctl, struct qedblk_features *f)
{
	memset(f, 0, sizeof(*f));
	f->size = sizeof(*f);
	return ioctl(ctl, QEDBLK_CTL_GET_FEATURES, f) < 0 ? -errno : 0;
}

/*
 * The option asking for a flag of @flags that the loaded module does not
 * take, to say so rather than a bare EINVAL; NULL if it takes them all, or
 * cannot tell (a module from before QEDBLK_CTL_GET_FEATURES).
 */
static const char *attach_flag_missing(int ctl, uint32_t flags)
{
	static const struct {
		uint32_t flag;
		const char *option;
	} opts[] = {
		{ QEDBLK_ATTACH_READ_ONLY, "--read-only" },
		{ QEDBLK_ATTACH_AUTOCLEAR, "--autoclear" },
		{ QEDBLK_ATTACH_WANT_INDEX, "--index" },
		{ QEDBLK_ATTACH_DIRECT_IO, "--direct-io" },
		{ QEDBLK_ATTACH_NO_PARTSCAN, "--no-partscan" },
		{ QEDBLK_ATTACH_COPY_ON_READ, "--copy-on-read" },
	};
	struct qedblk_features f;
	size_t i;

	if (ctl_features(ctl, &f))
		return NULL;
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (flags & opts[i].flag & ~f.attach_flags)
			return opts[i].option;
	return NULL;
}

bool info_is_file(const struct qedblk_info *info, const struct stat *st)
{
	struct stat img;

	if (info->image_ino)
		return info->image_ino == st->st_ino && info->image_dev == st->st_dev;
	/* A kernel from before image_ino: the name given at attach. */
	return stat(info->path, &img) == 0 && img.st_ino == st->st_ino &&
	       img.st_dev == st->st_dev;
}

int find_attached(int ctl, const struct stat *st, uint32_t *index)
{
	struct qedblk_info info;
	uint32_t n, i, *idx;
	int found = 0;

	idx = list_indices(ctl, &n);
	for (i = 0; i < n && !found; i++) {
		if (device_info(ctl, idx[i], &info))
			continue;	/* detached meanwhile */
		if (info_is_file(&info, st)) {
			*index = idx[i];
			found = 1;
		}
	}
	free(idx);
	return found;
}

static void usage_attach(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " attach [OPTIONS] IMAGE\n"
		   "       " QEDCTL_NAME " attach --all [--qedtab FILE] [-v] [-q]\n"
		   "       " QEDCTL_NAME " attach --qedtab-entry [--qedtab FILE] [-v] [-q] IMAGE\n"
		   "Attach IMAGE (and its backing chain) as the first free /dev/qedN and print\n"
		   "the device.  --all attaches every entry of " QEDTAB_PATH " (but noauto ones)\n"
		   "that is not attached yet; --qedtab-entry attaches IMAGE's entry, as its\n"
		   "boot unit does (see '" QEDCTL_NAME " qedtab --help' for the file).\n\n"
		   "  -r, --read-only        a read-only device (default: read-write, or\n"
		   "                         read-only when IMAGE may not be written)\n"
		   "      --autoclear        detach by itself at the last close\n"
		   "      --direct-io[=on|off]  O_DIRECT I/O on the image file (default: off)\n"
		   "  -b, --sector-size N    logical block size: 512 (default), 1024, 2048, 4096;\n"
		   "                         with --direct-io, at least the image file system's\n"
		   "                         direct I/O size (the default then)\n"
		   "  -P, --partscan         look for partitions (the default)\n"
		   "      --no-partscan      do not look for partitions\n"
		   "      --copy-on-read     copy what is read from the backing chain into\n"
		   "                         IMAGE, as QEMU's copy-on-read=on\n"
		   "      --index N          use /dev/qedN, or fail if it is taken\n"
		   "      --show             print the device (the default; for losetup users)\n"
		   "  -v, --verbose          print the backing chain resolved\n"
		   "  -q, --quiet            do not print the device\n"
		   "      --all              every qedtab entry not attached (prints DEVICE IMAGE\n"
		   "                         for each it attached)\n"
		   "      --qedtab-entry     IMAGE's qedtab entry (prints its device, attached\n"
		   "                         now or before)\n"
		   "      --qedtab FILE      read FILE, not " QEDTAB_PATH "\n"
		   "  -h, --help             this text\n");
}

/* losetup's --direct-io[=on|off]: no argument means on. */
static int parse_on_off(const char *arg, bool *on)
{
	if (!arg || !strcmp(arg, "on") || !strcmp(arg, "1")) {
		*on = true;
		return 0;
	}
	if (!strcmp(arg, "off") || !strcmp(arg, "0")) {
		*on = false;
		return 0;
	}
	return -EINVAL;
}

/*
 * Attach @path with @a's flags, index and block size: 0 with a->index set,
 * or -1 after saying why (on stderr), so that one of several attaches may
 * fail and the others go on.  A file that cannot be written is attached
 * read-only, as by losetup, unless @rw_or_fail: a qedtab entry asked for
 * read-write means it (an early boot's read-only '/' must not make it a
 * read-only device, whose dirty image would not even be repaired).
 */
int attach_image(const char *path, struct qedblk_attach *a, bool verbose, bool rw_or_fail)
{
	int32_t fds[QEDBLK_MAX_CHAIN];
	struct image img;
	struct chain chain;
	const char *path_why = NULL, *fwhy;
	char abs[PATH_MAX], why[PATH_MAX + 256];
	unsigned int i;
	int fd, ctl, ret = 0;

	a->size = sizeof(*a);
	/* Direct I/O is the kernel's choice per kiocb: open buffered. */
	fd = open_regular(path, (a->flags & QEDBLK_ATTACH_READ_ONLY) ? O_RDONLY : O_RDWR, &fwhy);
	/* Not with copy-on-read, which writes the image. */
	if (fd < 0 && !rw_or_fail &&
	    !(a->flags & (QEDBLK_ATTACH_READ_ONLY | QEDBLK_ATTACH_COPY_ON_READ)) &&
	    (errno == EROFS || errno == EACCES)) {
		/* As losetup does: a file we may not write is attached read-only. */
		fd = open_regular(path, O_RDONLY, &fwhy);
		if (fd >= 0) {
			fprintf(stderr, QEDCTL_NAME ": %s: write access denied, attaching read-only\n",
				path);
			a->flags |= QEDBLK_ATTACH_READ_ONLY;
		}
	}
	if (fd < 0) {
		errmsg("%s: %s", path, fwhy);
		return -1;
	}
	a->fd = fd;

	/*
	 * The backing chain is resolved here, by name; the kernel only ever
	 * sees the descriptors.  It validates the headers again itself.
	 */
	memset(&chain, 0, sizeof(chain));
	if (!image_open(path, &img, &path_why)) {
		if (chain_open(path, &img, &chain, why, sizeof(why))) {
			errmsg("%s: %s", path, why);
			ret = -1;
		} else if (a->block_size && img.geom.image_size % a->block_size) {
			errmsg("%s: the image size (%llu bytes) is not a multiple of the %u-byte sector size",
			       path, (unsigned long long)img.geom.image_size, a->block_size);
			ret = -1;
		}
		image_close(&img);
		if (ret)
			goto out;
	}
	/* else: no chain to resolve; the kernel says what is wrong. */
	for (i = 0; i < chain.n; i++) {
		fds[i] = chain.f[i].img.fd;
		if (verbose)
			fprintf(stderr, "%s: backing file %u: %s (%s)\n", path, i + 1,
				chain.f[i].path, chain_format_name(chain.f[i].format));
	}
	a->nr_backing = chain.n;
	if (chain.n)
		a->backing_fds = (uintptr_t)fds;

	if (!realpath(path, abs))
		snprintf(abs, sizeof(abs), "%s", path);
	/* Kept for display only: a long path is cut, never refused. */
	memset(a->path, 0, sizeof(a->path));
	memcpy(a->path, abs, strnlen(abs, sizeof(a->path) - 1));

	ctl = ctl_try_open();
	if (ctl < 0) {
		ret = -1;
		goto out;
	}
	if (ioctl(ctl, QEDBLK_CTL_ATTACH, a) < 0) {
		int err = errno;
		bool explained = err == EINVAL || err == EOPNOTSUPP || err == EFBIG ||
				 err == ENAMETOOLONG || err == ELOOP;
		const char *missing = err == EINVAL ? attach_flag_missing(ctl, a->flags) : NULL;

		ret = -1;
		if (missing) {
			errmsg("%s: attach failed: the loaded qedblk module has no %s"
			       " (it is older than this " QEDCTL_NAME ")", path, missing);
		} else if (err == EBUSY) {
			image_holder_words(fd, path, why, sizeof(why));
			errmsg("%s: attach failed: %s: %s", path, strerror(err), why);
		} else if (err == EEXIST && (a->flags & QEDBLK_ATTACH_WANT_INDEX)) {
			errmsg("%s: attach failed: /dev/qed%u is taken", path, a->index);
		} else if (explained && path_why) {
			/* What the kernel logs, userspace read from the same header. */
			errmsg("%s: attach failed: %s: %s", path, strerror(err), path_why);
		} else {
			errmsg("%s: attach failed: %s%s", path, strerror(err),
			       explained ? " (see the kernel log for why)" : "");
		}
	}
	close(ctl);
out:
	close(fd);
	chain_close(&chain);
	return ret;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "read-only", no_argument, NULL, 'r' },
		{ "autoclear", no_argument, NULL, 'a' },
		{ "direct-io", optional_argument, NULL, 'd' },
		{ "index", required_argument, NULL, 'i' },
		{ "sector-size", required_argument, NULL, 'b' },
		{ "partscan", no_argument, NULL, 'P' },
		{ "no-partscan", no_argument, NULL, 'N' },
		{ "copy-on-read", no_argument, NULL, 'C' },
		{ "show", no_argument, NULL, 's' },
		{ "find", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "all", no_argument, NULL, 'A' },
		{ "qedtab", required_argument, NULL, 'T' },
		{ "qedtab-entry", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct qedblk_attach a;
	const char *qedtab = NULL;
	uint64_t bs;
	bool on, verbose = false, quiet = false, all = false, entry = false, other = false;
	int c;

	memset(&a, 0, sizeof(a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "rb:Pfvqh", opts, NULL)) != -1) {
		/* qedtab's entries bring their own settings. */
		other |= !strchr("sfvqATEh", c);
		switch (c) {
		case 'r':
			a.flags |= QEDBLK_ATTACH_READ_ONLY;
			break;
		case 'a':
			a.flags |= QEDBLK_ATTACH_AUTOCLEAR;
			break;
		case 'd':
			if (parse_on_off(optarg, &on))
				die("--direct-io: '%s' is neither on nor off", optarg);
			a.flags = on ? a.flags | QEDBLK_ATTACH_DIRECT_IO : a.flags & ~QEDBLK_ATTACH_DIRECT_IO;
			break;
		case 'b':
			if (parse_size(optarg, &bs) || bs < 512 || bs > 4096 || (bs & (bs - 1)))
				die("--sector-size: '%s' is not 512, 1024, 2048 or 4096", optarg);
			a.block_size = (uint32_t)bs;
			break;
		case 'P':
			a.flags &= ~QEDBLK_ATTACH_NO_PARTSCAN;
			break;
		case 'N':
			a.flags |= QEDBLK_ATTACH_NO_PARTSCAN;
			break;
		case 'C':
			a.flags |= QEDBLK_ATTACH_COPY_ON_READ;
			break;
		case 's':
		case 'f':
			break;	/* what attach does anyway */
		case 'v':
			verbose = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'i':
			if (parse_device(optarg, &a.index))
				die("invalid index '%s'", optarg);
			a.flags |= QEDBLK_ATTACH_WANT_INDEX;
			break;
		case 'A':
			all = true;
			break;
		case 'T':
			qedtab = optarg;
			break;
		case 'E':
			entry = true;
			break;
		case 'h':
			usage_attach(stdout);
			return 0;
		default:
			usage_attach(stderr);
			return 1;
		}
	}
	if (all || entry || qedtab) {
		const char *why = all && entry ? "--all and --qedtab-entry exclude each other" :
				  other ? "the options of a qedtab entry come from the qedtab" :
				  !all && !entry ? "--qedtab goes with --all or --qedtab-entry" :
				  all && optind != argc ? "--all takes no IMAGE" :
				  entry && optind != argc - 1 ? "--qedtab-entry takes one IMAGE" : NULL;

		if (why) {
			fprintf(stderr, QEDCTL_NAME ": attach: %s\n", why);
			usage_attach(stderr);
			return 1;
		}
		return all ? qedtab_attach_all(qedtab, verbose, quiet) :
			     qedtab_attach_entry(qedtab, argv[optind], verbose, quiet);
	}
	if ((a.flags & QEDBLK_ATTACH_COPY_ON_READ) && (a.flags & QEDBLK_ATTACH_READ_ONLY))
		die("--copy-on-read writes the image: not with --read-only");
	if (optind != argc - 1) {
		fprintf(stderr, QEDCTL_NAME ": attach: %s\n",
			optind == argc ? "missing IMAGE" : "one IMAGE at a time");
		usage_attach(stderr);
		return 1;
	}
	if (attach_image(argv[optind], &a, verbose, false))
		return 1;
	if (!quiet)
		printf("/dev/qed%u\n", a.index);
	return 0;
}

/*
 * 0, or 1 after saying why @name could not be detached.  With @gone_ok, a
 * device detached meanwhile (ENXIO) is no failure: --all races with others.
 */
int detach_one(int ctl, uint32_t index, const char *name, uint32_t flags, bool gone_ok)
{
	struct qedblk_detach d;
	int err;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.index = index;
	d.flags = flags;
	if (ioctl(ctl, QEDBLK_CTL_DETACH, &d) == 0)
		return 0;
	err = errno;
	if (err == ENXIO && gone_ok)
		return 0;
	fprintf(stderr, QEDCTL_NAME ": %s: detach failed: %s%s\n", name, strerror(err),
		err == EBUSY ? " (in use; --lazy detaches it at its last close)" :
		err == ENXIO ? " (not attached)" : "");
	return 1;
}

uint32_t *list_indices(int ctl, uint32_t *count)
{
	struct qedblk_list l;
	uint32_t *idx = NULL;
	uint32_t room = 0;

	/* The list may grow between the two calls: retry until it fits. */
	for (;;) {
		memset(&l, 0, sizeof(l));
		l.size = sizeof(l);
		l.count = room;
		l.indices = (uintptr_t)idx;
		if (ioctl(ctl, QEDBLK_CTL_LIST, &l) < 0)
			die("listing devices failed: %s", strerror(errno));
		if (l.count <= room)
			break;
		room = l.count + 8;
		free(idx);
		idx = calloc(room, sizeof(*idx));
		if (!idx)
			die("out of memory");
	}
	*count = l.count;
	return idx;
}

static void usage_detach(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " detach [--lazy] DEVICE... | --all\n"
		   "       " QEDCTL_NAME " detach --qedtab-entry IMAGE\n"
		   "Detach each DEVICE (/dev/qedN, qedN, N or a symlink to one), going on\n"
		   "past a failure; the exit status is 1 if any failed.\n\n"
		   "  -a, --all           every attached device\n"
		   "  -l, --lazy          a busy device detaches itself at its last close\n"
		   "      --qedtab-entry  the devices of IMAGE (a qedtab entry's image, or any),\n"
		   "                      lazily, as its boot unit does at shutdown; none\n"
		   "                      attached is no error\n"
		   "  -h, --help          this text\n");
}

int cmd_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "detach-all", no_argument, NULL, 'a' },
		{ "lazy", no_argument, NULL, 'l' },
		{ "qedtab-entry", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t flags = 0;
	bool all = false, entry = false;
	uint32_t index, n, i, *idx;
	char name[32];
	int c, ctl, ret = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "aDlh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
		case 'D':
			all = true;
			break;
		case 'l':
			flags |= QEDBLK_DETACH_DEFERRED;
			break;
		case 'E':
			entry = true;
			break;
		case 'h':
			usage_detach(stdout);
			return 0;
		default:
			usage_detach(stderr);
			return 1;
		}
	}
	if (entry) {
		if (all || optind != argc - 1) {
			fprintf(stderr, QEDCTL_NAME ": detach: --qedtab-entry takes one IMAGE%s\n",
				all ? ", not --all" : "");
			usage_detach(stderr);
			return 1;
		}
		return qedtab_detach_entry(argv[optind]);
	}
	if (all == (optind < argc)) {
		fprintf(stderr, QEDCTL_NAME ": detach: %s\n",
			all ? "--all takes no DEVICE" : "missing DEVICE");
		usage_detach(stderr);
		return 1;
	}
	if (all) {
		ctl = ctl_open(true);
		if (ctl < 0)
			return 0;	/* no module, nothing attached */
		idx = list_indices(ctl, &n);
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "/dev/qed%u", idx[i]);
			ret |= detach_one(ctl, idx[i], name, flags, true);
		}
		free(idx);
		close(ctl);
		return ret;
	}
	ctl = ctl_open(false);
	/* As losetup -d: every device is tried, and any failure counts. */
	for (; optind < argc; optind++) {
		if (parse_device(argv[optind], &index)) {
			fprintf(stderr, QEDCTL_NAME ": %s: not a qed device\n", argv[optind]);
			ret = 1;
			continue;
		}
		ret |= detach_one(ctl, index, argv[optind], flags, false);
	}
	close(ctl);
	return ret;
}

static void usage_set(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " set --direct-io[=on|off] DEVICE\n"
		   "Change an attached device, as losetup --direct-io on a loop device.\n\n"
		   "  --direct-io[=on|off]  O_DIRECT I/O on the image file (no value: on)\n"
		   "  -h, --help            this text\n");
}

int cmd_set(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "direct-io", optional_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct qedblk_features f;
	struct qedblk_set s;
	bool on;
	int c, ctl;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_on_off(optarg, &on))
				die("--direct-io: '%s' is neither on nor off", optarg);
			s.mask |= QEDBLK_ATTACH_DIRECT_IO;
			s.flags = on ? QEDBLK_ATTACH_DIRECT_IO : 0;
			break;
		case 'h':
			usage_set(stdout);
			return 0;
		default:
			usage_set(stderr);
			return 1;
		}
	}
	if (optind != argc - 1 || !s.mask) {
		fprintf(stderr, QEDCTL_NAME ": set: %s\n",
			!s.mask ? "nothing to change (--direct-io)" : "one DEVICE");
		usage_set(stderr);
		return 1;
	}
	if (parse_device(argv[optind], &s.index))
		die("%s: not a qed device", argv[optind]);
	ctl = ctl_open(false);
	if (!ctl_features(ctl, &f) && (s.mask & ~f.set_flags))
		die("%s: the loaded qedblk module cannot change direct I/O on an attached"
		    " device (it is older than this " QEDCTL_NAME ")", argv[optind]);
	if (ioctl(ctl, QEDBLK_CTL_SET, &s) < 0)
		die("%s: setting direct I/O %s failed: %s%s", argv[optind], on ? "on" : "off",
		    strerror(errno), errno == EINVAL && on ?
		    " (the image's file system does not do O_DIRECT, or not in blocks as"
		    " small as the device's: see the kernel log)" :
		    errno == ENOTTY ? " (the module is older than this qedctl)" : "");
	close(ctl);
	return 0;
}

static void usage_resize(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " resize [--shrink] DEVICE|IMAGE [+]SIZE\n"
		   "  grow an attached image (DEVICE: /dev/qedN, qedN or N) or an image file\n"
		   "  (IMAGE, as qemu-img resize; never one in use) to SIZE, or by SIZE with '+';\n"
		   "  SIZE a multiple of 512, up to the geometry's maximum\n"
		   "  --shrink: accepted as by qemu-img, but QED images cannot shrink: refused\n"
		   "  -U, --force-share: refused; a resize needs the image to itself\n");
}

int cmd_resize(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "shrink", no_argument, NULL, 's' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct qedblk_resize r;
	struct qedblk_info info;
	const char *arg;
	bool relative, shrink = false;
	struct stat st;
	uint64_t size;
	int c, ctl;

	/* "-1M" is a size (a shrink), not an option. */
	while ((c = getopt_long(argc, argv, "+Uh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			shrink = true;
			break;
		case 'U':
			die("--force-share (-U) cannot go with resize: a resize needs the image"
			    " to itself");
		case 'h':
			usage_resize(stdout);
			return 0;
		default:
			usage_resize(stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		usage_resize(stderr);
		die(argc - optind < 2 ? "missing %s" : "too many arguments",
		    argc == optind ? "DEVICE|IMAGE and SIZE" : "SIZE");
	}
	argv += optind - 1;
	/* A regular file is an image; anything else names a device. */
	if (!stat(argv[1], &st) && S_ISREG(st.st_mode))
		return image_resize(argv[1], argv[2], shrink);
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	if (parse_device(argv[1], &r.index))
		die("'%s' is neither an image file nor a device (/dev/qedN, qedN, N)", argv[1]);
	arg = argv[2];
	relative = arg[0] == '+';
	if (parse_size(arg + relative, &size))
		die("invalid size '%s'", arg);
	ctl = ctl_open(false);
	if (relative) {
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		info.index = r.index;
		if (ioctl(ctl, QEDBLK_CTL_INFO, &info) < 0)
			die("%s: %s", argv[1], strerror(errno));
		if (size > UINT64_MAX - info.image_size)
			die("invalid size '%s'", arg);
		size += info.image_size;
	}
	r.new_size = size;
	if (ioctl(ctl, QEDBLK_CTL_RESIZE, &r) < 0) {
		int err = errno;

		die("%s: resize to %llu bytes failed: %s%s", argv[1], (unsigned long long)size,
		    strerror(err),
		    err == EINVAL ? " (shrinking is refused; the size must be a multiple of 512)" :
		    err == EFBIG ? " (above the image's maximum size)" : "");
	}
	close(ctl);
	return 0;
}
