// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/qed-control's ioctls: the argument structs copied in and checked,
 * then handed to qed_dev.c (see include/uapi/linux/qedblk.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "qed.h"

/*
 * Copy in an argument struct that begins with its own size: older, shorter
 * versions are accepted, longer ones only if the part we do not know is
 * zero (copy_struct_from_user()).
 */
static int qedblk_copy_arg(void *karg, size_t ksize, size_t min, void __user *uarg)
{
	u32 usize;
	int ret;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < min || usize > PAGE_SIZE)
		return -EINVAL;
	ret = copy_struct_from_user(karg, ksize, uarg, usize);
	if (ret == -E2BIG)
		return -EINVAL;
	return ret;
}

static int qedblk_copy_out(void __user *uarg, const void *karg, size_t ksize)
{
	u32 usize;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (copy_to_user(uarg, karg, min_t(size_t, usize, ksize)))
		return -EFAULT;
	return 0;
}

static bool qedblk_all_zero(const void *p, size_t n)
{
	return !memchr_inv(p, 0, n);
}

static long qedblk_ctl_attach(void __user *uarg)
{
	s32 fds[QEDBLK_MAX_CHAIN];
	struct qedblk_attach a;
	int ret;

	ret = qedblk_copy_arg(&a, sizeof(a), sizeof(a), uarg);
	if (ret)
		return ret;
	if ((a.flags & ~QEDBLK_ATTACH_FLAGS_ALL) ||
	    !qedblk_all_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	/* As loop_validate_block_size(), but no larger than losetup offers. */
	if (!a.block_size)
		a.block_size = SECTOR_SIZE;
	if (blk_validate_block_size(a.block_size) || a.block_size > SZ_4K)
		return -EINVAL;
	if (a.nr_backing > QEDBLK_MAX_CHAIN)
		return -ELOOP;
	if (!a.nr_backing && a.backing_fds)
		return -EINVAL;
	if (a.nr_backing && copy_from_user(fds, u64_to_user_ptr(a.backing_fds),
					   a.nr_backing * sizeof(fds[0])))
		return -EFAULT;
	if (!memchr(a.path, '\0', sizeof(a.path)))
		return -ENAMETOOLONG;
	ret = qedblk_attach(&a, fds);
	if (ret)
		return ret;
	return qedblk_copy_out(uarg, &a, sizeof(a));
}

static long qedblk_ctl_detach(void __user *uarg)
{
	struct qedblk_detach d;
	int ret;

	ret = qedblk_copy_arg(&d, sizeof(d), sizeof(d), uarg);
	if (ret)
		return ret;
	if ((d.flags & ~QEDBLK_DETACH_FLAGS_ALL) ||
	    !qedblk_all_zero(d.reserved, sizeof(d.reserved)))
		return -EINVAL;
	return qedblk_detach(d.index, d.flags);
}

static long qedblk_ctl_info(void __user *uarg)
{
	struct qedblk_info info;
	u32 index;
	int ret;

	ret = qedblk_copy_arg(&info, sizeof(info), sizeof(info), uarg);
	if (ret)
		return ret;
	index = info.index;
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.index = index;
	ret = qedblk_get_info(&info);
	if (ret)
		return ret;
	return qedblk_copy_out(uarg, &info, sizeof(info));
}

static long qedblk_ctl_resize(void __user *uarg)
{
	struct qedblk_resize r;
	int ret;

	ret = qedblk_copy_arg(&r, sizeof(r), sizeof(r), uarg);
	if (ret)
		return ret;
	if (!qedblk_all_zero(r.reserved, sizeof(r.reserved)))
		return -EINVAL;
	return qedblk_resize(r.index, r.new_size);
}

static long qedblk_ctl_set(void __user *uarg)
{
	struct qedblk_set s;
	int ret;

	ret = qedblk_copy_arg(&s, sizeof(s), sizeof(s), uarg);
	if (ret)
		return ret;
	if ((s.mask & ~QEDBLK_SET_FLAGS_ALL) || (s.flags & ~s.mask) ||
	    !qedblk_all_zero(s.reserved, sizeof(s.reserved)))
		return -EINVAL;
	return qedblk_set_flags(s.index, s.mask, s.flags);
}

static long qedblk_ctl_list(void __user *uarg)
{
	struct qedblk_list l;
	u32 *indices = NULL;
	u32 room, count;
	int ret;

	ret = qedblk_copy_arg(&l, sizeof(l), sizeof(l), uarg);
	if (ret)
		return ret;
	if (!qedblk_all_zero(l.reserved, sizeof(l.reserved)))
		return -EINVAL;
	room = min_t(u32, l.count, 1 << MINORBITS);
	if (room) {
		indices = kcalloc(room, sizeof(*indices), GFP_KERNEL);
		if (!indices)
			return -ENOMEM;
	}
	qedblk_list(indices, room, &count);
	ret = 0;
	if (room && copy_to_user(u64_to_user_ptr(l.indices), indices,
				 min(room, count) * sizeof(*indices)))
		ret = -EFAULT;
	kfree(indices);
	if (ret)
		return ret;
	l.count = count;
	return qedblk_copy_out(uarg, &l, sizeof(l));
}

/**
 * qedblk_ctl_ioctl() - the ioctls of /dev/qed-control
 * @file: the open control device
 * @cmd: a QEDBLK_CTL_* request
 * @arg: user pointer to the request's argument struct
 *
 * Return: 0 or a value the request defines, or a negative errno.
 */
long qedblk_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case QEDBLK_CTL_ATTACH:
		return qedblk_ctl_attach(uarg);
	case QEDBLK_CTL_DETACH:
		return qedblk_ctl_detach(uarg);
	case QEDBLK_CTL_INFO:
		return qedblk_ctl_info(uarg);
	case QEDBLK_CTL_LIST:
		return qedblk_ctl_list(uarg);
	case QEDBLK_CTL_RESIZE:
		return qedblk_ctl_resize(uarg);
	case QEDBLK_CTL_SET:
		return qedblk_ctl_set(uarg);
	}
	return -ENOTTY;
}
