// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/qed-control ioctl ABI: attach, detach, info and list, with every
 * error path an attacher can reach.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
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

TEST_F(ctl, busy_and_autoclear)
{
	struct qedblk_info info;
	uint32_t idx;
	char dev[64];
	int dfd, i;

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
	for (i = 0; i < 50 && get_info(self->ctl, idx, &info) == 0; i++)
		usleep(100000);
	EXPECT_EQ(-ENXIO, get_info(self->ctl, idx, &info));

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
	for (i = 0; i < 50 && get_info(self->ctl, idx, &info) == 0; i++)
		usleep(100000);
	EXPECT_EQ(-ENXIO, get_info(self->ctl, idx, &info));
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
