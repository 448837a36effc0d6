// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/qed-control ioctl ABI: attach, detach, info and list, with every
 * error path an attacher can reach, and how the argument structs grow.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/qedblk.h>

#include "qed_format.h"
#include "../kselftest_harness.h"

#define IMG_SIZE	(64ull << 20)

static char scratch[128];

static void mkimage(const char *path, const struct qedblk_geom *g, uint64_t file_size)
{
	unsigned char hdr[QED_HEADER_BYTES];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, (off_t)file_size))
		abort();
	qedblk_header_encode(g, hdr);
	if (pwrite(fd, hdr, sizeof(hdr), 0) != sizeof(hdr))
		abort();
	close(fd);
}

static void good_geom(struct qedblk_geom *g)
{
	if (qedblk_geom_init(g, 65536, 4, IMG_SIZE))
		abort();
}

static uint64_t good_file_size(const struct qedblk_geom *g)
{
	return g->l1_table_offset + g->table_bytes;
}

static int ctl_fd(void)
{
	return open(QEDBLK_CTL_DEVICE, O_RDWR | O_CLOEXEC);
}

static void init_attach(struct qedblk_attach *a, int fd, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->fd = fd;
	snprintf(a->path, sizeof(a->path), "%.200s", path);
}

/* Attach @path (opened with @oflags) with @flags: 0 and the index, or -errno. */
static int try_attach(int ctl, const char *path, int oflags, uint32_t flags, uint32_t *index)
{
	struct qedblk_attach a;
	int fd = open(path, oflags | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1000 - errno;
	init_attach(&a, fd, path);
	a.flags = flags;
	ret = ioctl(ctl, QEDBLK_CTL_ATTACH, &a);
	ret = ret < 0 ? -errno : 0;
	close(fd);
	if (!ret && index)
		*index = a.index;
	return ret;
}

static int detach(int ctl, uint32_t index, uint32_t flags)
{
	struct qedblk_detach d = { .size = sizeof(d), .index = index, .flags = flags };

	return ioctl(ctl, QEDBLK_CTL_DETACH, &d) < 0 ? -errno : 0;
}

static int get_info(int ctl, uint32_t index, struct qedblk_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->index = index;
	return ioctl(ctl, QEDBLK_CTL_INFO, info) < 0 ? -errno : 0;
}

/*
 * A device detached at its last close goes soon after it; a slow or loaded
 * machine gets this long.
 */
#define GONE_SECS	60

/* get_info() on @index until it fails or GONE_SECS have passed: its last result. */
static int wait_gone(int ctl, uint32_t index)
{
	struct qedblk_info info;
	struct timespec now, end;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += GONE_SECS;
	while ((ret = get_info(ctl, index, &info)) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		usleep(100000);
	}
	return ret;
}

FIXTURE(ctl) {
	int ctl;
	char img[200];
	struct qedblk_geom g;
};

FIXTURE_SETUP(ctl)
{
	self->ctl = ctl_fd();
	ASSERT_LE(0, self->ctl) TH_LOG("cannot open %s: %s", QEDBLK_CTL_DEVICE, strerror(errno));
	snprintf(self->img, sizeof(self->img), "%s/ctl-%d.qed", scratch, getpid());
	good_geom(&self->g);
	mkimage(self->img, &self->g, good_file_size(&self->g));
}

FIXTURE_TEARDOWN(ctl)
{
	unlink(self->img);
	close(self->ctl);
}

TEST_F(ctl, attach_info_list_detach)
{
	struct qedblk_info info;
	struct qedblk_list l;
	uint32_t idx, found[64];
	unsigned int i;
	bool listed = false;
	char dev[64];
	struct stat st;

	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDWR, 0, &idx));
	ASSERT_EQ(0, get_info(self->ctl, idx, &info));
	EXPECT_EQ(IMG_SIZE, info.image_size);
	EXPECT_EQ(65536, info.cluster_size);
	EXPECT_EQ(4, info.table_size);
	EXPECT_EQ(1, info.header_size);
	EXPECT_EQ(0, info.dev_flags);
	EXPECT_STREQ(self->img, info.path);

	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.count = 64;
	l.indices = (uintptr_t)found;
	ASSERT_EQ(0, ioctl(self->ctl, QEDBLK_CTL_LIST, &l));
	for (i = 0; i < l.count && i < 64; i++)
		listed |= found[i] == idx;
	EXPECT_TRUE(listed);

	snprintf(dev, sizeof(dev), "/dev/qed%u", idx);
	ASSERT_EQ(0, stat(dev, &st));
	EXPECT_TRUE(S_ISBLK(st.st_mode));
	EXPECT_EQ(0, st.st_mode & 0002) TH_LOG("%s is world-writable", dev);

	ASSERT_EQ(0, detach(self->ctl, idx, 0));
	EXPECT_EQ(-ENXIO, detach(self->ctl, idx, 0));
	EXPECT_EQ(-ENXIO, get_info(self->ctl, idx, &info));
}

TEST_F(ctl, bad_fd)
{
	struct qedblk_attach a;

	init_attach(&a, 9999, "nothing");
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_ATTACH, &a));
	EXPECT_EQ(EBADF, errno);
}

TEST_F(ctl, directory_fd)
{
	EXPECT_EQ(-EISDIR, try_attach(self->ctl, scratch, O_RDONLY | O_DIRECTORY,
				      QEDBLK_ATTACH_READ_ONLY, NULL));
}

TEST_F(ctl, not_qed)
{
	char junk[4096];
	int fd = open(self->img, O_WRONLY | O_TRUNC);

	ASSERT_LE(0, fd);
	memset(junk, 'x', sizeof(junk));
	ASSERT_EQ(sizeof(junk), write(fd, junk, sizeof(junk)));
	close(fd);
	EXPECT_EQ(-EINVAL, try_attach(self->ctl, self->img, O_RDWR, 0, NULL));
}

TEST_F(ctl, empty_file)
{
	ASSERT_EQ(0, truncate(self->img, 0));
	EXPECT_EQ(-EINVAL, try_attach(self->ctl, self->img, O_RDWR, 0, NULL));
}

/* Each malformed header and the errno its refusal must give. */
static const struct {
	const char *what;
	int err;
} malformed[] = {
	{ "magic", EINVAL },
	{ "cluster size not a power of two", EINVAL },
	{ "cluster size too small", EINVAL },
	{ "cluster size too large", EINVAL },
	{ "table size 0", EINVAL },
	{ "table size 32", EINVAL },
	{ "table size 3", EINVAL },
	{ "header size 0", EINVAL },
	{ "header size overflows", EINVAL },
	{ "unknown incompatible feature", EOPNOTSUPP },
	{ "image size not a multiple of 512", EFBIG },
	{ "image size above the maximum", EFBIG },
	{ "L1 table misaligned", EINVAL },
	{ "L1 table in the header", EINVAL },
	{ "L1 table past the end of the file", EINVAL },
	{ "backing name outside the header", ENAMETOOLONG },
	{ "no-probe flag without backing file", EINVAL },
};

static void damage(struct qedblk_geom *g, unsigned int i, uint64_t *file_size)
{
	switch (i) {
	case 0: break;	/* handled by the caller */
	case 1: g->cluster_size = 65536 + 4096; break;
	case 2: g->cluster_size = 2048; break;
	case 3: g->cluster_size = 128u << 20; break;
	case 4: g->table_size = 0; break;
	case 5: g->table_size = 32; break;
	case 6: g->table_size = 3; break;
	case 7: g->header_size = 0; break;
	case 8: g->header_size = 0x10000; break;
	case 9: g->features |= 1ull << 40; break;
	case 10: g->image_size += 100; break;
	case 11: g->image_size = qedblk_max_image_size(g->cluster_size, g->table_size) + 512; break;
	case 12: g->l1_table_offset += 512; break;
	case 13: g->l1_table_offset = 0; break;
	case 14: *file_size = g->l1_table_offset + g->table_bytes - g->cluster_size; break;
	case 15:
		g->features |= QED_F_BACKING_FILE;
		g->backing_name_offset = 65000;
		g->backing_name_size = 1000;
		break;
	case 16: g->features |= QED_F_BACKING_FORMAT_NO_PROBE; break;
	}
}

TEST_F(ctl, malformed_headers)
{
	unsigned int i;

	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		struct qedblk_geom g = self->g;
		uint64_t file_size = good_file_size(&g);

		damage(&g, i, &file_size);
		mkimage(self->img, &g, file_size);
		if (i == 0) {
			int fd = open(self->img, O_WRONLY);

			ASSERT_EQ(4, pwrite(fd, "QEE", 4, 0));
			close(fd);
		}
		EXPECT_EQ(-malformed[i].err, try_attach(self->ctl, self->img, O_RDWR, 0, NULL))
			TH_LOG("header with %s", malformed[i].what);
	}
}

/* Make self->img an overlay naming "base" (no probe flag when @raw). */
static void make_overlay(const char *path, struct qedblk_geom *g, bool raw)
{
	int fd;

	g->features |= QED_F_BACKING_FILE | (raw ? QED_F_BACKING_FORMAT_NO_PROBE : 0);
	g->backing_name_offset = QED_HEADER_BYTES;
	g->backing_name_size = 4;
	mkimage(path, g, good_file_size(g));
	fd = open(path, O_WRONLY);
	if (fd < 0 || pwrite(fd, "base", 4, QED_HEADER_BYTES) != 4)
		abort();
	close(fd);
}

/* Attach self->img over the @nr descriptors @fds: 0 or -errno. */
static int attach_chain(int ctl, const char *img, const int32_t *fds, uint32_t nr,
			uint32_t *index)
{
	struct qedblk_attach a;
	int fd = open(img, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1000 - errno;
	init_attach(&a, fd, img);
	a.flags = QEDBLK_ATTACH_READ_ONLY;
	a.nr_backing = nr;
	a.backing_fds = (uintptr_t)fds;
	ret = ioctl(ctl, QEDBLK_CTL_ATTACH, &a) < 0 ? -errno : 0;
	close(fd);
	if (!ret && index)
		*index = a.index;
	return ret;
}

/*
 * The kernel checks the chain it is handed on its own, whatever qedctl
 * did: each refusal with its errno.
 */
TEST_F(ctl, backing_chain_refusals)
{
	char base[240], qcow[240];
	struct qedblk_geom g = self->g, bg = self->g;
	struct qedblk_info info;
	int32_t fds[QEDBLK_MAX_CHAIN + 1];
	uint32_t idx;
	unsigned int i;
	int bfd, qfd, self_fd;

	snprintf(base, sizeof(base), "%s.base", self->img);
	snprintf(qcow, sizeof(qcow), "%s.qcow2", self->img);
	make_overlay(self->img, &g, true);
	mkimage(base, &bg, good_file_size(&bg));
	bfd = open(base, O_RDONLY);
	ASSERT_LE(0, bfd);
	qfd = open(qcow, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, qfd);
	ASSERT_EQ(8, pwrite(qfd, "QFI\xfb\0\0\0\3", 8, 0));
	ASSERT_EQ(0, ftruncate(qfd, 1 << 20));
	self_fd = open(self->img, O_RDONLY);
	ASSERT_LE(0, self_fd);

	/* A backing file named in the header but none given. */
	EXPECT_EQ(-EINVAL, attach_chain(self->ctl, self->img, NULL, 0, NULL));
	/* A pointer without a count. */
	EXPECT_EQ(-EINVAL, attach_chain(self->ctl, self->img, (int32_t *)8, 0, NULL));
	/* Deeper than the limit. */
	for (i = 0; i <= QEDBLK_MAX_CHAIN; i++)
		fds[i] = bfd;
	EXPECT_EQ(-ELOOP, attach_chain(self->ctl, self->img, fds, QEDBLK_MAX_CHAIN + 1, NULL));
	/* The image as its own backing file. */
	fds[0] = self_fd;
	EXPECT_EQ(-ELOOP, attach_chain(self->ctl, self->img, fds, 1, NULL));
	/* A bad descriptor. */
	fds[0] = 9999;
	EXPECT_EQ(-EBADF, attach_chain(self->ctl, self->img, fds, 1, NULL));
	/* A raw backing file with more after it. */
	fds[0] = bfd;
	fds[1] = bfd;
	EXPECT_EQ(-EINVAL, attach_chain(self->ctl, self->img, fds, 2, NULL));
	/* A "regular file" of a pseudo file system is no image: its bytes are state. */
	fds[0] = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fds[0]);
	EXPECT_EQ(-EINVAL, attach_chain(self->ctl, self->img, fds, 1, NULL));
	close(fds[0]);

	/* Probed: a qcow2 backing file is refused, a QED one is used. */
	g.features &= ~QED_F_BACKING_FORMAT_NO_PROBE;
	make_overlay(self->img, &g, false);
	fds[0] = qfd;
	EXPECT_EQ(-EOPNOTSUPP, attach_chain(self->ctl, self->img, fds, 1, NULL));
	/* A QED backing file with a bad header: the shared header check. */
	bg.table_size = 3;
	mkimage(base, &bg, 1 << 20);
	fds[0] = bfd;
	EXPECT_EQ(-EINVAL, attach_chain(self->ctl, self->img, fds, 1, NULL));
	/* And a good one. */
	bg = self->g;
	mkimage(base, &bg, good_file_size(&bg));
	ASSERT_EQ(0, attach_chain(self->ctl, self->img, fds, 1, &idx));
	ASSERT_EQ(0, get_info(self->ctl, idx, &info));
	EXPECT_EQ(1, info.nr_backing);
	/* A backing file in use is nobody's to write. */
	EXPECT_EQ(-EBUSY, try_attach(self->ctl, base, O_RDWR, 0, NULL));
	EXPECT_EQ(0, detach(self->ctl, idx, 0));

	close(self_fd);
	close(qfd);
	close(bfd);
	unlink(qcow);
	unlink(base);
}

TEST_F(ctl, resize_abi)
{
	struct qedblk_resize r = { .size = sizeof(r) };
	struct qedblk_info info;
	uint32_t idx;

	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDWR, 0, &idx));
	r.index = idx;
	r.new_size = IMG_SIZE * 2;
	r.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_RESIZE, &r));
	EXPECT_EQ(EINVAL, errno);
	r.reserved[1] = 0;
	r.new_size = IMG_SIZE - 512;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_RESIZE, &r));
	EXPECT_EQ(EINVAL, errno);
	r.new_size = IMG_SIZE * 2 + 1;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_RESIZE, &r));
	EXPECT_EQ(EINVAL, errno);
	r.new_size = IMG_SIZE * 2;
	EXPECT_EQ(0, ioctl(self->ctl, QEDBLK_CTL_RESIZE, &r));
	ASSERT_EQ(0, get_info(self->ctl, idx, &info));
	EXPECT_EQ(IMG_SIZE * 2, info.image_size);
	r.index = idx + 1000;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_RESIZE, &r));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(0, detach(self->ctl, idx, 0));
}

/* What the ABI gained after its first version: block_size, QEDBLK_CTL_SET. */
TEST_F(ctl, block_size_and_set_abi)
{
	struct qedblk_set st = { .size = sizeof(st) };
	struct qedblk_info info;
	struct qedblk_attach a;
	struct stat sb;
	uint32_t bad[] = { 256, 768, 8192 };
	unsigned int i;
	int fd = open(self->img, O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &sb));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		init_attach(&a, fd, self->img);
		a.block_size = bad[i];
		EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_ATTACH, &a));
		EXPECT_EQ(EINVAL, errno);
	}
	init_attach(&a, fd, self->img);
	a.block_size = 4096;
	a.flags = QEDBLK_ATTACH_NO_PARTSCAN;
	ASSERT_EQ(0, ioctl(self->ctl, QEDBLK_CTL_ATTACH, &a));
	ASSERT_EQ(0, get_info(self->ctl, a.index, &info));
	EXPECT_EQ(4096, info.block_size);
	EXPECT_TRUE(info.dev_flags & QEDBLK_INFO_NO_PARTSCAN);
	/* As loop_info64's lo_device and lo_inode: the file, whatever its name. */
	EXPECT_EQ(sb.st_ino, info.image_ino);
	EXPECT_EQ(sb.st_dev, info.image_dev);

	st.index = a.index;
	st.mask = QEDBLK_ATTACH_AUTOCLEAR;		/* not changeable */
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_SET, &st));
	EXPECT_EQ(EINVAL, errno);
	st.mask = QEDBLK_ATTACH_DIRECT_IO;
	st.flags = QEDBLK_ATTACH_DIRECT_IO | QEDBLK_ATTACH_READ_ONLY;	/* outside the mask */
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_SET, &st));
	EXPECT_EQ(EINVAL, errno);
	st.flags = QEDBLK_ATTACH_DIRECT_IO;
	st.reserved[2] = 1;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_SET, &st));
	EXPECT_EQ(EINVAL, errno);
	st.reserved[2] = 0;
	EXPECT_EQ(0, ioctl(self->ctl, QEDBLK_CTL_SET, &st));
	ASSERT_EQ(0, get_info(self->ctl, a.index, &info));
	EXPECT_TRUE(info.dev_flags & QEDBLK_INFO_DIRECT_IO);
	st.flags = 0;
	EXPECT_EQ(0, ioctl(self->ctl, QEDBLK_CTL_SET, &st));
	ASSERT_EQ(0, get_info(self->ctl, a.index, &info));
	EXPECT_FALSE(info.dev_flags & QEDBLK_INFO_DIRECT_IO);
	EXPECT_EQ(0, detach(self->ctl, a.index, 0));
	st.index = a.index;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_SET, &st));
	EXPECT_EQ(ENXIO, errno);
	close(fd);
}

TEST_F(ctl, unknown_flag_and_reserved)
{
	struct qedblk_attach a;
	int fd = open(self->img, O_RDWR);

	ASSERT_LE(0, fd);
	init_attach(&a, fd, self->img);
	a.flags = 1u << 31;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);

	init_attach(&a, fd, self->img);
	a.reserved[3] = 1;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);

	init_attach(&a, fd, self->img);
	a.size = 8;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_ATTACH, &a));
	EXPECT_EQ(EINVAL, errno);

	init_attach(&a, fd, self->img);
	memset(a.path, 'p', sizeof(a.path));
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_ATTACH, &a));
	EXPECT_EQ(ENAMETOOLONG, errno);

	EXPECT_EQ(-1, ioctl(self->ctl, _IO(QEDBLK_CTL_MAGIC, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST_F(ctl, read_only_fd)
{
	struct qedblk_info info;
	uint32_t idx;
	int ro = 0, dfd;
	char dev[64];

	/* A read-only descriptor cannot make a writable device. */
	EXPECT_EQ(-EBADF, try_attach(self->ctl, self->img, O_RDONLY, 0, NULL));
	ASSERT_EQ(0, chmod(self->img, 0444));
	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDONLY, QEDBLK_ATTACH_READ_ONLY, &idx));
	ASSERT_EQ(0, get_info(self->ctl, idx, &info));
	EXPECT_TRUE(info.dev_flags & QEDBLK_INFO_READ_ONLY);
	snprintf(dev, sizeof(dev), "/dev/qed%u", idx);
	dfd = open(dev, O_RDONLY);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, ioctl(dfd, BLKROGET, &ro));
	EXPECT_EQ(1, ro);
	close(dfd);
	EXPECT_EQ(0, detach(self->ctl, idx, 0));
}

/* Two waits of up to GONE_SECS: more than the harness's default 30 s. */
TEST_F_TIMEOUT(ctl, busy_and_autoclear, 2 * GONE_SECS + 30)
{
	struct qedblk_info info;
	uint32_t idx;
	char dev[64];
	int dfd;

	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDWR, 0, &idx));
	snprintf(dev, sizeof(dev), "/dev/qed%u", idx);
	dfd = open(dev, O_RDONLY);
	ASSERT_LE(0, dfd);
	EXPECT_EQ(-EBUSY, detach(self->ctl, idx, 0));
	/* A deferred detach happens at last close, as loop's autoclear. */
	EXPECT_EQ(0, detach(self->ctl, idx, QEDBLK_DETACH_DEFERRED));
	ASSERT_EQ(0, get_info(self->ctl, idx, &info));
	EXPECT_TRUE(info.dev_flags & QEDBLK_INFO_AUTOCLEAR);
	close(dfd);
	EXPECT_EQ(-ENXIO, wait_gone(self->ctl, idx));

	/*
	 * The same with autoclear asked for at attach: the device stays until
	 * it has been opened and closed.
	 */
	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDWR, QEDBLK_ATTACH_AUTOCLEAR, &idx));
	snprintf(dev, sizeof(dev), "/dev/qed%u", idx);
	usleep(300000);
	ASSERT_EQ(0, get_info(self->ctl, idx, &info));
	dfd = open(dev, O_RDONLY);
	ASSERT_LE(0, dfd) TH_LOG("open %s: %s", dev, strerror(errno));
	ASSERT_EQ(0, get_info(self->ctl, idx, &info));
	close(dfd);
	EXPECT_EQ(-ENXIO, wait_gone(self->ctl, idx));
}

TEST_F(ctl, wanted_index)
{
	char other[240];
	uint32_t idx, idx2;
	struct qedblk_attach a;
	int fd;

	snprintf(other, sizeof(other), "%s.2", self->img);
	mkimage(other, &self->g, good_file_size(&self->g));
	fd = open(self->img, O_RDWR);
	ASSERT_LE(0, fd);
	init_attach(&a, fd, self->img);
	a.flags = QEDBLK_ATTACH_WANT_INDEX;
	a.index = 7;
	ASSERT_EQ(0, ioctl(self->ctl, QEDBLK_CTL_ATTACH, &a));
	idx = a.index;
	EXPECT_EQ(7, idx);
	close(fd);
	fd = open(other, O_RDONLY);
	ASSERT_LE(0, fd);
	init_attach(&a, fd, other);
	a.flags = QEDBLK_ATTACH_WANT_INDEX | QEDBLK_ATTACH_READ_ONLY;
	a.index = 7;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_ATTACH, &a));
	EXPECT_EQ(EEXIST, errno);
	close(fd);
	ASSERT_EQ(0, try_attach(self->ctl, other, O_RDONLY, QEDBLK_ATTACH_READ_ONLY, &idx2));
	EXPECT_NE(idx, idx2);
	EXPECT_EQ(0, detach(self->ctl, idx2, 0));
	EXPECT_EQ(0, detach(self->ctl, idx, 0));
	unlink(other);
}

/* One writer per image: a second device on it would allocate twice. */
TEST_F(ctl, same_image_twice)
{
	uint32_t a, b;

	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDWR, 0, &a));
	EXPECT_EQ(-EBUSY, try_attach(self->ctl, self->img, O_RDWR, 0, NULL));
	EXPECT_EQ(-EBUSY, try_attach(self->ctl, self->img, O_RDONLY, QEDBLK_ATTACH_READ_ONLY, NULL));
	EXPECT_EQ(0, detach(self->ctl, a, 0));
	/* Readers share. */
	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDONLY, QEDBLK_ATTACH_READ_ONLY, &a));
	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDONLY, QEDBLK_ATTACH_READ_ONLY, &b));
	EXPECT_EQ(-EBUSY, try_attach(self->ctl, self->img, O_RDWR, 0, NULL));
	EXPECT_EQ(0, detach(self->ctl, b, 0));
	EXPECT_EQ(0, detach(self->ctl, a, 0));
}

/*
 * How the structs grow (the top of <linux/qedblk.h>): binaries built
 * against an older header and a newer one, each with its own command
 * numbers, since those encode the struct's size.
 */

/* The command @cmd as a binary whose struct is @size bytes has it. */
static unsigned long cmd_sized(unsigned long cmd, size_t size)
{
	return _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size);
}

static const struct {
	unsigned long cmd;
	uint32_t ver0;
	const char *name;
} requests[] = {
	{ QEDBLK_CTL_ATTACH, QEDBLK_ATTACH_SIZE_VER0, "ATTACH" },
	{ QEDBLK_CTL_DETACH, QEDBLK_DETACH_SIZE_VER0, "DETACH" },
	{ QEDBLK_CTL_INFO, QEDBLK_INFO_SIZE_VER0, "INFO" },
	{ QEDBLK_CTL_LIST, QEDBLK_LIST_SIZE_VER0, "LIST" },
	{ QEDBLK_CTL_RESIZE, QEDBLK_RESIZE_SIZE_VER0, "RESIZE" },
	{ QEDBLK_CTL_SET, QEDBLK_SET_SIZE_VER0, "SET" },
	{ QEDBLK_CTL_GET_FEATURES, QEDBLK_FEATURES_SIZE_VER0, "GET_FEATURES" },
	{ QEDBLK_CTL_SNAPSHOT, QEDBLK_SNAPSHOT_SIZE_VER0, "SNAPSHOT" },
};

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * @size zeroed bytes that end where an unmapped page begins: a kernel that
 * read or wrote past a caller's size would fault (EFAULT).  Freed with
 * unguard().
 */
static void *guarded(size_t size)
{
	size_t pg = page_size();
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + pg, pg, PROT_NONE))
		abort();
	return p + pg - size;
}

static void unguard(void *p)
{
	size_t pg = page_size();

	munmap((void *)((uintptr_t)p & ~(pg - 1)), 2 * pg);
}

/*
 * A binary of the first version: every struct exactly VER0 bytes (only
 * VER0's fields are touched), command numbers built with that size.
 */
TEST_F(ctl, abi_old_caller)
{
	struct qedblk_attach *a = guarded(QEDBLK_ATTACH_SIZE_VER0);
	struct qedblk_info *info = guarded(QEDBLK_INFO_SIZE_VER0);
	struct qedblk_list *l = guarded(QEDBLK_LIST_SIZE_VER0);
	struct qedblk_detach *d = guarded(QEDBLK_DETACH_SIZE_VER0);
	struct qedblk_resize *r = guarded(QEDBLK_RESIZE_SIZE_VER0);
	struct qedblk_set *st = guarded(QEDBLK_SET_SIZE_VER0);
	struct qedblk_features *f = guarded(QEDBLK_FEATURES_SIZE_VER0);
	uint32_t found[64], i;
	bool listed = false;
	int fd = open(self->img, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	a->size = QEDBLK_ATTACH_SIZE_VER0;
	a->fd = fd;
	snprintf(a->path, sizeof(a->path), "%s", "old caller");
	ASSERT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_ATTACH, QEDBLK_ATTACH_SIZE_VER0), a))
		TH_LOG("ATTACH: %s", strerror(errno));
	/* Never more than the caller's size back, and that is what size says. */
	EXPECT_EQ(QEDBLK_ATTACH_SIZE_VER0, a->size);
	close(fd);

	info->size = QEDBLK_INFO_SIZE_VER0;
	info->index = a->index;
	ASSERT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_INFO, QEDBLK_INFO_SIZE_VER0), info))
		TH_LOG("INFO: %s", strerror(errno));
	EXPECT_EQ(QEDBLK_INFO_SIZE_VER0, info->size);
	EXPECT_EQ(IMG_SIZE, info->image_size);
	EXPECT_EQ(65536, info->cluster_size);
	EXPECT_EQ(512, info->block_size);
	EXPECT_STREQ("old caller", info->path);

	l->size = QEDBLK_LIST_SIZE_VER0;
	l->count = 64;
	l->indices = (uintptr_t)found;
	ASSERT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_LIST, QEDBLK_LIST_SIZE_VER0), l));
	EXPECT_EQ(QEDBLK_LIST_SIZE_VER0, l->size);
	for (i = 0; i < l->count && i < 64; i++)
		listed |= found[i] == a->index;
	EXPECT_TRUE(listed);

	r->size = QEDBLK_RESIZE_SIZE_VER0;
	r->index = a->index;
	r->new_size = IMG_SIZE * 2;
	EXPECT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_RESIZE, QEDBLK_RESIZE_SIZE_VER0), r));

	st->size = QEDBLK_SET_SIZE_VER0;
	st->index = a->index;
	st->mask = QEDBLK_ATTACH_DIRECT_IO;
	EXPECT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_SET, QEDBLK_SET_SIZE_VER0), st));

	f->size = QEDBLK_FEATURES_SIZE_VER0;
	EXPECT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_GET_FEATURES,
						 QEDBLK_FEATURES_SIZE_VER0), f));
	EXPECT_EQ(QEDBLK_FEATURES_SIZE_VER0, f->size);
	EXPECT_NE(0, f->attach_flags);

	d->size = QEDBLK_DETACH_SIZE_VER0;
	d->index = a->index;
	EXPECT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_DETACH, QEDBLK_DETACH_SIZE_VER0), d))
		TH_LOG("DETACH: %s", strerror(errno));

	unguard(a);
	unguard(info);
	unguard(l);
	unguard(d);
	unguard(r);
	unguard(st);
	unguard(f);
}

/*
 * A binary of a later version: every struct a page long (longer than any
 * the kernel knows), its tail zero, command numbers built with that size.
 * Each answer comes back with the kernel's size.
 */
TEST_F(ctl, abi_new_caller)
{
	size_t pg = page_size();
	char *buf = calloc(8, pg);
	struct qedblk_attach *a = (void *)buf;
	struct qedblk_info *info = (void *)(buf + pg);
	struct qedblk_list *l = (void *)(buf + 2 * pg);
	struct qedblk_detach *d = (void *)(buf + 3 * pg);
	struct qedblk_resize *r = (void *)(buf + 4 * pg);
	struct qedblk_set *st = (void *)(buf + 5 * pg);
	struct qedblk_features *f = (void *)(buf + 6 * pg);
	uint32_t found[64], index;
	int fd = open(self->img, O_RDWR | O_CLOEXEC);

	ASSERT_NE(NULL, buf);
	ASSERT_LE(0, fd);
	a->size = pg;
	a->fd = fd;
	snprintf(a->path, sizeof(a->path), "%s", "new caller");
	ASSERT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_ATTACH, pg), a))
		TH_LOG("ATTACH: %s", strerror(errno));
	/* The module is built from this tree: its sizes are this header's. */
	EXPECT_EQ(sizeof(*a), a->size);
	index = a->index;
	close(fd);

	info->size = pg;
	info->index = index;
	ASSERT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_INFO, pg), info))
		TH_LOG("INFO: %s", strerror(errno));
	EXPECT_EQ(sizeof(*info), info->size);
	EXPECT_EQ(IMG_SIZE, info->image_size);
	EXPECT_STREQ("new caller", info->path);

	l->size = pg;
	l->count = 64;
	l->indices = (uintptr_t)found;
	EXPECT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_LIST, pg), l));
	EXPECT_EQ(sizeof(*l), l->size);
	EXPECT_LE(1, l->count);

	r->size = pg;
	r->index = index;
	r->new_size = IMG_SIZE * 2;
	EXPECT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_RESIZE, pg), r));

	st->size = pg;
	st->index = index;
	st->mask = QEDBLK_ATTACH_DIRECT_IO;
	EXPECT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_SET, pg), st));

	f->size = pg;
	EXPECT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_GET_FEATURES, pg), f));
	EXPECT_EQ(sizeof(*f), f->size);

	d->size = pg;
	d->index = index;
	EXPECT_EQ(0, ioctl(self->ctl, cmd_sized(QEDBLK_CTL_DETACH, pg), d))
		TH_LOG("DETACH: %s", strerror(errno));
	free(buf);
}

/*
 * A later binary that sets a field this kernel does not know is refused,
 * not half-served: EINVAL, as for a reserved field.  The same past a page.
 */
TEST_F(ctl, abi_unknown_tail_refused)
{
	size_t pg = page_size();
	char *buf = calloc(1, pg);
	unsigned int i;

	ASSERT_NE(NULL, buf);
	for (i = 0; i < ARRAY_SIZE(requests); i++) {
		memset(buf, 0, pg);
		*(uint32_t *)buf = pg;
		buf[pg - 1] = 1;
		EXPECT_EQ(-1, ioctl(self->ctl, cmd_sized(requests[i].cmd, pg), buf))
			TH_LOG("%s with a non-zero byte at %zu", requests[i].name, pg - 1);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", requests[i].name);

		buf[pg - 1] = 0;
		*(uint32_t *)buf = pg + 8;
		EXPECT_EQ(-1, ioctl(self->ctl, requests[i].cmd, buf))
			TH_LOG("%s of a page and more", requests[i].name);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", requests[i].name);
	}
	free(buf);
}

/* Nothing shorter than a struct's first version. */
TEST_F(ctl, abi_short_size_refused)
{
	size_t pg = page_size();
	char *buf = calloc(1, pg);
	unsigned int i, j;

	ASSERT_NE(NULL, buf);
	for (i = 0; i < ARRAY_SIZE(requests); i++) {
		uint32_t sizes[] = { 0, 4, requests[i].ver0 - 8, requests[i].ver0 - 1 };

		for (j = 0; j < ARRAY_SIZE(sizes); j++) {
			memset(buf, 0, pg);
			*(uint32_t *)buf = sizes[j];
			EXPECT_EQ(-1, ioctl(self->ctl, cmd_sized(requests[i].cmd, sizes[j]), buf))
				TH_LOG("%s of %u bytes", requests[i].name, sizes[j]);
			EXPECT_EQ(EINVAL, errno) TH_LOG("%s of %u bytes", requests[i].name, sizes[j]);
		}
	}
	/* Another driver's type with one of our numbers is not ours. */
	EXPECT_EQ(-1, ioctl(self->ctl, _IOWR(QEDBLK_CTL_MAGIC + 1, _IOC_NR(QEDBLK_CTL_INFO),
					     struct qedblk_info), buf));
	EXPECT_EQ(ENOTTY, errno);
	free(buf);
}

/*
 * An overlay for a snapshot of the fixture's image: @size bytes of guest,
 * a backing file named in the header unless @no_backing, and with
 * @allocated an L2 table in L1 entry 0.  The kernel never reads the name:
 * qedctl resolves it, and the request carries the file it names.
 */
static void mkoverlay(const char *path, uint64_t size, bool no_backing, bool allocated)
{
	struct qedblk_geom g;
	uint64_t l2, end;
	int fd;

	if (qedblk_geom_init(&g, 65536, 4, size))
		abort();
	end = good_file_size(&g);
	if (!no_backing) {
		g.features |= QED_F_BACKING_FILE;
		g.backing_name_offset = QED_HEADER_BYTES;
		g.backing_name_size = 8;
	}
	mkimage(path, &g, end + (allocated ? g.table_bytes : 0));
	fd = open(path, O_RDWR);
	if (fd < 0)
		abort();
	if (!no_backing && pwrite(fd, "base.qed", 8, QED_HEADER_BYTES) != 8)
		abort();
	l2 = htole64(end);
	if (allocated && pwrite(fd, &l2, 8, (off_t)g.l1_table_offset) != 8)
		abort();
	close(fd);
}

/* QEDBLK_CTL_SNAPSHOT of @index to @ovl over @backing: 0 or -errno. */
static int snapshot(int ctl, uint32_t index, const char *ovl, const char *backing,
		    uint32_t reserved0)
{
	struct qedblk_snapshot s = { .size = sizeof(s), .index = index, .reserved0 = reserved0 };
	int ret;

	s.fd = open(ovl, O_RDWR | O_CLOEXEC);
	s.backing_fd = open(backing, O_RDONLY | O_CLOEXEC);
	if (s.fd < 0 || s.backing_fd < 0)
		abort();
	snprintf(s.path, sizeof(s.path), "%s", ovl);
	ret = ioctl(ctl, QEDBLK_CTL_SNAPSHOT, &s) < 0 ? -errno : 0;
	close(s.fd);
	close(s.backing_fd);
	return ret;
}

/*
 * What a live snapshot refuses, each with the device left on its image:
 * then one that is taken, after which the old image is backing file 1.
 */
TEST_F(ctl, snapshot_refusals)
{
	struct qedblk_info info;
	char ovl[220], other[220];
	uint32_t idx, ro;

	snprintf(ovl, sizeof(ovl), "%s.ovl", self->img);
	snprintf(other, sizeof(other), "%s.other", self->img);
	mkimage(other, &self->g, good_file_size(&self->g));
	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDWR, 0, &idx));

	mkoverlay(ovl, IMG_SIZE, false, false);
	EXPECT_EQ(-EINVAL, snapshot(self->ctl, idx, ovl, self->img, 1));
	EXPECT_EQ(-ENXIO, snapshot(self->ctl, idx + 1, ovl, self->img, 0));
	/* Its header names a backing file, but the request's is another. */
	EXPECT_EQ(-EINVAL, snapshot(self->ctl, idx, ovl, other, 0));
	/* The device's own image as the overlay. */
	EXPECT_EQ(-EINVAL, snapshot(self->ctl, idx, self->img, self->img, 0));
	mkoverlay(ovl, IMG_SIZE, true, false);
	EXPECT_EQ(-EINVAL, snapshot(self->ctl, idx, ovl, self->img, 0));
	mkoverlay(ovl, 2 * IMG_SIZE, false, false);
	EXPECT_EQ(-EINVAL, snapshot(self->ctl, idx, ovl, self->img, 0));
	mkoverlay(ovl, IMG_SIZE, false, true);
	EXPECT_EQ(-EINVAL, snapshot(self->ctl, idx, ovl, self->img, 0));
	ASSERT_EQ(0, get_info(self->ctl, idx, &info));
	EXPECT_EQ(0, info.nr_backing);
	EXPECT_STREQ(self->img, info.path);

	/* A read-only device has nothing to snapshot away from. */
	ASSERT_EQ(0, try_attach(self->ctl, other, O_RDONLY, QEDBLK_ATTACH_READ_ONLY, &ro));
	mkoverlay(ovl, IMG_SIZE, false, false);
	EXPECT_EQ(-EROFS, snapshot(self->ctl, ro, ovl, other, 0));
	EXPECT_EQ(0, detach(self->ctl, ro, 0));

	EXPECT_EQ(0, snapshot(self->ctl, idx, ovl, self->img, 0));
	ASSERT_EQ(0, get_info(self->ctl, idx, &info));
	EXPECT_EQ(1, info.nr_backing);
	EXPECT_STREQ(ovl, info.path);
	/* The overlay is the device's image now: not its own overlay. */
	EXPECT_EQ(-EINVAL, snapshot(self->ctl, idx, ovl, ovl, 0));
	/* The old image is only read: a read-only attach of it is allowed. */
	EXPECT_EQ(0, try_attach(self->ctl, self->img, O_RDONLY, QEDBLK_ATTACH_READ_ONLY, &ro));
	EXPECT_EQ(0, detach(self->ctl, ro, 0));
	EXPECT_EQ(-EBUSY, try_attach(self->ctl, self->img, O_RDWR, 0, NULL));
	EXPECT_EQ(0, detach(self->ctl, idx, 0));
	unlink(ovl);
	unlink(other);
}

/* Copy-on-read writes the image: refused on a read-only device. */
TEST_F(ctl, copy_on_read_not_read_only)
{
	struct qedblk_info info;
	uint32_t idx;

	EXPECT_EQ(-EINVAL, try_attach(self->ctl, self->img, O_RDONLY,
				      QEDBLK_ATTACH_READ_ONLY | QEDBLK_ATTACH_COPY_ON_READ, NULL));
	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDWR, QEDBLK_ATTACH_COPY_ON_READ, &idx));
	ASSERT_EQ(0, get_info(self->ctl, idx, &info));
	EXPECT_TRUE(info.dev_flags & QEDBLK_INFO_COPY_ON_READ);
	EXPECT_EQ(0, detach(self->ctl, idx, 0));
}

/* Everything this header defines, the module says it has. */
TEST_F(ctl, get_features)
{
	const uint64_t image_features = QEDBLK_F_BACKING_FILE | QEDBLK_F_NEED_CHECK |
					QEDBLK_F_BACKING_FORMAT_NO_PROBE;
	struct qedblk_features f;
	unsigned int i;

	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	ASSERT_EQ(0, ioctl(self->ctl, QEDBLK_CTL_GET_FEATURES, &f)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(sizeof(f), f.size);
	EXPECT_EQ(QEDBLK_ATTACH_FLAGS_ALL, f.attach_flags & QEDBLK_ATTACH_FLAGS_ALL);
	EXPECT_EQ(QEDBLK_DETACH_FLAGS_ALL, f.detach_flags & QEDBLK_DETACH_FLAGS_ALL);
	EXPECT_EQ(QEDBLK_SET_FLAGS_ALL, f.set_flags & QEDBLK_SET_FLAGS_ALL);
	EXPECT_EQ(QEDBLK_INFO_FLAGS_ALL, f.info_flags & QEDBLK_INFO_FLAGS_ALL);
	EXPECT_EQ(image_features, f.image_features & image_features);
	EXPECT_LE(QEDBLK_MAX_CHAIN, f.max_chain);
	EXPECT_EQ(QEDBLK_SNAPSHOT_FLAGS_ALL, f.snapshot_flags & QEDBLK_SNAPSHOT_FLAGS_ALL);
	EXPECT_EQ(0, f.reserved0);
	for (i = 0; i < ARRAY_SIZE(requests); i++)
		EXPECT_TRUE(f.ioctls & (1ull << _IOC_NR(requests[i].cmd)))
			TH_LOG("request 0x%02x missing from the bitmap",
			       (unsigned int)_IOC_NR(requests[i].cmd));
	/* What the bitmap denies is ENOTTY: one number past the highest. */
	for (i = 0; i < 64 && (f.ioctls >> i); i++)
		;
	EXPECT_EQ(-1, ioctl(self->ctl, _IO(QEDBLK_CTL_MAGIC, i), &f));
	EXPECT_EQ(ENOTTY, errno);
	/* And what the masks deny is refused. */
	if (~f.attach_flags) {
		struct qedblk_attach a;

		init_attach(&a, -1, self->img);
		a.flags = ~f.attach_flags & -~f.attach_flags;
		EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_ATTACH, &a));
		EXPECT_EQ(EINVAL, errno);
	}

	/* The request reads nothing but size, and takes nothing else. */
	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.reserved[6] = 1;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_GET_FEATURES, &f));
	EXPECT_EQ(EINVAL, errno);
	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.attach_flags = QEDBLK_ATTACH_READ_ONLY;
	EXPECT_EQ(-1, ioctl(self->ctl, QEDBLK_CTL_GET_FEATURES, &f));
	EXPECT_EQ(EINVAL, errno);
}

/* Every control ioctl needs CAP_SYS_ADMIN. */
TEST_F(ctl, needs_cap_sys_admin)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct d[2];
		struct qedblk_info info;
		struct qedblk_list l = { .size = sizeof(l) };
		struct qedblk_resize r = { .size = sizeof(r), .new_size = 1 << 30 };
		struct qedblk_features f = { .size = sizeof(f) };
		uint32_t idx;

		if (syscall(SYS_capget, &h, d))
			_exit(10);
		d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
		if (syscall(SYS_capset, &h, d))
			_exit(11);
		if (try_attach(self->ctl, self->img, O_RDWR, 0, &idx) != -EPERM)
			_exit(1);
		if (detach(self->ctl, 0, 0) != -EPERM)
			_exit(2);
		if (get_info(self->ctl, 0, &info) != -EPERM)
			_exit(3);
		if (ioctl(self->ctl, QEDBLK_CTL_LIST, &l) != -1 || errno != EPERM)
			_exit(4);
		if (ioctl(self->ctl, QEDBLK_CTL_RESIZE, &r) != -1 || errno != EPERM)
			_exit(5);
		if (ioctl(self->ctl, QEDBLK_CTL_GET_FEATURES, &f) != -1 || errno != EPERM)
			_exit(6);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * A descriptor opened with O_APPEND: the device must not inherit it, or
 * every table write lands at the end of the file and is gone at detach.
 */
TEST_F(ctl, append_fd_is_not_inherited)
{
	char dev[64], buf[4096], back[4096];
	uint32_t idx;
	struct stat before, after;
	int fd;

	ASSERT_EQ(0, stat(self->img, &before));
	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDWR | O_APPEND, 0, &idx));
	snprintf(dev, sizeof(dev), "/dev/qed%u", idx);
	memset(buf, 0x5a, sizeof(buf));
	fd = open(dev, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)sizeof(buf), pwrite(fd, buf, sizeof(buf), 1 << 20));
	EXPECT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, detach(self->ctl, idx, 0));

	/* The header is still at the start, and a fresh attach reads the data. */
	ASSERT_EQ(0, try_attach(self->ctl, self->img, O_RDWR, QEDBLK_ATTACH_READ_ONLY, &idx));
	snprintf(dev, sizeof(dev), "/dev/qed%u", idx);
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)sizeof(back), pread(fd, back, sizeof(back), 1 << 20));
	EXPECT_EQ(0, memcmp(buf, back, sizeof(buf))) TH_LOG("the data written through an O_APPEND descriptor is lost");
	close(fd);
	ASSERT_EQ(0, detach(self->ctl, idx, 0));
	ASSERT_EQ(0, stat(self->img, &after));
	EXPECT_LE(before.st_size + 65536, after.st_size);
}

/* An append-only inode attaches read-only, never read-write. */
TEST_F(ctl, append_only_inode)
{
	uint32_t idx;
	int fd, flags;

	fd = open(self->img, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, FS_IOC_GETFLAGS, &flags));
	flags |= FS_APPEND_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags)) {
		close(fd);
		SKIP(return, "the scratch file system has no append-only flag");
	}
	EXPECT_EQ(-EPERM, try_attach(self->ctl, self->img, O_RDWR | O_APPEND, 0, NULL));
	EXPECT_EQ(0, try_attach(self->ctl, self->img, O_RDONLY, QEDBLK_ATTACH_READ_ONLY, &idx));
	EXPECT_EQ(0, detach(self->ctl, idx, 0));
	flags &= ~FS_APPEND_FL;
	EXPECT_EQ(0, ioctl(fd, FS_IOC_SETFLAGS, &flags));
	close(fd);
}

int main(int argc, char **argv)
{
	const char *s = getenv("QED_SCRATCH");

	snprintf(scratch, sizeof(scratch), "%s", s ? s : "/tmp");
	if (access(QEDBLK_CTL_DEVICE, F_OK)) {
		ksft_print_header();
		ksft_exit_skip("%s is missing: load qedblk.ko first\n", QEDBLK_CTL_DEVICE);
	}
	return test_harness_run(argc, argv);
}
