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

static int ctl_open(void)
{
	int fd = open(QED_CTL_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("%s: %s%s", QED_CTL_DEVICE, strerror(errno),
		    errno == ENOENT ? " (is the qedblk module loaded?)" : "");
	return fd;
}

/* "/dev/qed3", "qed3" or "3" */
static int parse_device(const char *s, uint32_t *index)
{
	unsigned long v;
	char *end;

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

static void usage_attach(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " attach [-r|--read-only] [--autoclear] [--direct-io]"
		   " [--index N] IMAGE\n");
}

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "read-only", no_argument, NULL, 'r' },
		{ "autoclear", no_argument, NULL, 'a' },
		{ "direct-io", no_argument, NULL, 'd' },
		{ "index", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int32_t fds[QED_MAX_CHAIN];
	struct qed_attach a;
	struct image img;
	struct chain chain;
	const char *path, *path_why = NULL, *fwhy;
	char abs[PATH_MAX], why[PATH_MAX + 256];
	unsigned int i;
	int c, fd, ctl;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	while ((c = getopt_long(argc, argv, "rh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			a.flags |= QED_ATTACH_READ_ONLY;
			break;
		case 'a':
			a.flags |= QED_ATTACH_AUTOCLEAR;
			break;
		case 'd':
			a.flags |= QED_ATTACH_DIRECT_IO;
			break;
		case 'i':
			if (parse_device(optarg, &a.index))
				die("invalid index '%s'", optarg);
			a.flags |= QED_ATTACH_WANT_INDEX;
			break;
		case 'h':
			usage_attach(stdout);
			return 0;
		default:
			usage_attach(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage_attach(stderr);
		return 1;
	}
	path = argv[optind];

	/* Direct I/O is the kernel's choice per kiocb: open buffered. */
	fd = open_regular(path, (a.flags & QED_ATTACH_READ_ONLY) ? O_RDONLY : O_RDWR, &fwhy);
	if (fd < 0 && !(a.flags & QED_ATTACH_READ_ONLY) && (errno == EROFS || errno == EACCES)) {
		/* As losetup does: a file we may not write is attached read-only. */
		fd = open_regular(path, O_RDONLY, &fwhy);
		if (fd >= 0) {
			fprintf(stderr, QEDCTL_NAME ": %s: write access denied, attaching read-only\n",
				path);
			a.flags |= QED_ATTACH_READ_ONLY;
		}
	}
	if (fd < 0)
		die("%s: %s", path, fwhy);
	a.fd = fd;

	/*
	 * The backing chain is resolved here, by name; the kernel only ever
	 * sees the descriptors.  It validates the headers again itself.
	 */
	memset(&chain, 0, sizeof(chain));
	if (!image_open(path, &img, &path_why)) {
		if (chain_open(path, &img, &chain, why, sizeof(why)))
			die("%s: %s", path, why);
		image_close(&img);
	}
	/* else: no chain to resolve; the kernel says what is wrong. */
	for (i = 0; i < chain.n; i++)
		fds[i] = chain.f[i].img.fd;
	a.nr_backing = chain.n;
	if (chain.n)
		a.backing_fds = (uintptr_t)fds;

	if (!realpath(path, abs))
		snprintf(abs, sizeof(abs), "%s", path);
	/* Kept for display only: a long path is cut, never refused. */
	memcpy(a.path, abs, strnlen(abs, sizeof(a.path) - 1));

	ctl = ctl_open();
	if (ioctl(ctl, QED_CTL_ATTACH, &a) < 0) {
		int err = errno;
		bool explained = err == EINVAL || err == EOPNOTSUPP || err == EFBIG ||
				 err == ENAMETOOLONG || err == ELOOP;

		if (err == EBUSY) {
			image_holder_words(fd, path, why, sizeof(why));
			die("%s: attach failed: %s: %s", path, strerror(err), why);
		}
		/* What the kernel logs, userspace read from the same header. */
		if (explained && path_why)
			die("%s: attach failed: %s: %s", path, strerror(err), path_why);
		die("%s: attach failed: %s%s", path, strerror(err),
		    explained ? " (see the kernel log for why)" : "");
	}
	close(ctl);
	close(fd);
	chain_close(&chain);
	printf("/dev/qed%u\n", a.index);
	return 0;
}

static void detach_one(int ctl, uint32_t index, const char *name, uint32_t flags)
{
	struct qed_detach d;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.index = index;
	d.flags = flags;
	if (ioctl(ctl, QED_CTL_DETACH, &d) < 0)
		die("%s: detach failed: %s", name, strerror(errno));
}

static uint32_t *list_indices(int ctl, uint32_t *count)
{
	struct qed_list l;
	uint32_t *idx = NULL;
	uint32_t room = 0;

	/* The list may grow between the two calls: retry until it fits. */
	for (;;) {
		memset(&l, 0, sizeof(l));
		l.size = sizeof(l);
		l.count = room;
		l.indices = (uintptr_t)idx;
		if (ioctl(ctl, QED_CTL_LIST, &l) < 0)
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
		   "  --lazy  a busy device detaches itself at its last close\n");
}

int cmd_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "lazy", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t flags = 0;
	bool all = false;
	uint32_t index, n, i, *idx;
	char name[32];
	int c, ctl;

	while ((c = getopt_long(argc, argv, "ah", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'l':
			flags |= QED_DETACH_DEFERRED;
			break;
		case 'h':
			usage_detach(stdout);
			return 0;
		default:
			usage_detach(stderr);
			return 1;
		}
	}
	if (all == (optind < argc)) {
		usage_detach(stderr);
		return 1;
	}
	ctl = ctl_open();
	if (all) {
		idx = list_indices(ctl, &n);
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "/dev/qed%u", idx[i]);
			detach_one(ctl, idx[i], name, flags);
		}
		free(idx);
	}
	for (; optind < argc; optind++) {
		if (parse_device(argv[optind], &index))
			die("%s: not a qed device", argv[optind]);
		detach_one(ctl, index, argv[optind], flags);
	}
	close(ctl);
	return 0;
}

static void usage_list(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " list [--json]\n");
}

int cmd_list(int argc, char **argv)
{
	struct qed_info info;
	bool json;
	uint32_t n, i, *idx;
	char sz[32], flags[64];
	int ctl, ret, shown = 0;

	ret = parse_json_args(argc, argv, 0, usage_list, &json, NULL);
	if (ret >= 0)
		return ret;
	ctl = ctl_open();
	idx = list_indices(ctl, &n);
	if (json)
		printf("[");
	else
		printf("%-12s %12s %8s %-16s %s\n", "DEVICE", "SIZE", "CLUSTER", "FLAGS", "IMAGE");
	for (i = 0; i < n; i++) {
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		info.index = idx[i];
		if (ioctl(ctl, QED_CTL_INFO, &info) < 0) {
			if (errno == ENXIO)
				continue;	/* detached meanwhile */
			die("/dev/qed%u: %s", idx[i], strerror(errno));
		}
		snprintf(flags, sizeof(flags), "%s%s%s%s",
			 (info.dev_flags & QED_INFO_READ_ONLY) ? "ro," : "rw,",
			 (info.dev_flags & QED_INFO_AUTOCLEAR) ? "autoclear," : "",
			 (info.dev_flags & QED_INFO_DIRECT_IO) ? "dio," : "",
			 (info.dev_flags & QED_INFO_DIRTY) ? "dirty," : "");
		flags[strlen(flags) - 1] = '\0';
		if (json) {
			printf("%s{\"device\": \"/dev/qed%u\", \"size\": %llu, \"cluster-size\": %u,"
			       " \"table-size\": %u, \"read-only\": %s, \"autoclear\": %s,"
			       " \"direct-io\": %s, \"dirty\": %s, \"image\": ",
			       shown ? ", " : "", info.index, (unsigned long long)info.image_size,
			       info.cluster_size, info.table_size,
			       (info.dev_flags & QED_INFO_READ_ONLY) ? "true" : "false",
			       (info.dev_flags & QED_INFO_AUTOCLEAR) ? "true" : "false",
			       (info.dev_flags & QED_INFO_DIRECT_IO) ? "true" : "false",
			       (info.dev_flags & QED_INFO_DIRTY) ? "true" : "false");
			json_string(info.path);
			printf("}");
		} else {
			format_size(info.image_size, sz, sizeof(sz));
			printf("/dev/qed%-3u %12s %8u %-16s %s\n", info.index, sz,
			       info.cluster_size, flags, info.path);
		}
		shown++;
	}
	if (json)
		printf("]\n");
	free(idx);
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
	struct qed_resize r;
	struct qed_info info;
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
	ctl = ctl_open();
	if (relative) {
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		info.index = r.index;
		if (ioctl(ctl, QED_CTL_INFO, &info) < 0)
			die("%s: %s", argv[1], strerror(errno));
		if (size > UINT64_MAX - info.image_size)
			die("invalid size '%s'", arg);
		size += info.image_size;
	}
	r.new_size = size;
	if (ioctl(ctl, QED_CTL_RESIZE, &r) < 0) {
		int err = errno;

		die("%s: resize to %llu bytes failed: %s%s", argv[1], (unsigned long long)size,
		    strerror(err),
		    err == EINVAL ? " (shrinking is refused; the size must be a multiple of 512)" :
		    err == EFBIG ? " (above the image's maximum size)" : "");
	}
	close(ctl);
	return 0;
}
