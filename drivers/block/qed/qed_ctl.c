// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/qed-control's ioctls: the argument structs copied in and checked,
 * then handed to qed_dev.c.  How the structs may grow, and what this file
 * therefore accepts, is the comment at the top of
 * include/uapi/linux/qedblk.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/build_bug.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/nospec.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "qed.h"

/*
 * The kernel's copy of any request's argument, as the table below sizes it;
 * every struct begins with its size, which .size reads and writes.
 */
union qedblk_ctl_arg {
	u32 size;
	struct qedblk_attach attach;
	struct qedblk_detach detach;
	struct qedblk_info info;
	struct qedblk_list list;
	struct qedblk_resize resize;
	struct qedblk_set set;
	struct qedblk_features features;
	struct qedblk_snapshot snapshot;
};

/* The uapi header's names for the on-disk bits are the format's own. */
static_assert(QEDBLK_F_BACKING_FILE == QED_F_BACKING_FILE);
static_assert(QEDBLK_F_NEED_CHECK == QED_F_NEED_CHECK);
static_assert(QEDBLK_F_BACKING_FORMAT_NO_PROBE == QED_F_BACKING_FORMAT_NO_PROBE);
static_assert((QEDBLK_F_BACKING_FILE | QEDBLK_F_NEED_CHECK |
	       QEDBLK_F_BACKING_FORMAT_NO_PROBE) == QED_FEATURE_MASK);

static bool qedblk_all_zero(const void *p, size_t n)
{
	return !memchr_inv(p, 0, n);
}

static long qedblk_ctl_attach(union qedblk_ctl_arg *arg)
{
	struct qedblk_attach *a = &arg->attach;
	s32 fds[QEDBLK_MAX_CHAIN];

	if ((a->flags & ~QEDBLK_ATTACH_FLAGS_ALL) ||
	    !qedblk_all_zero(a->reserved, sizeof(a->reserved)))
		return -EINVAL;
	/* Copying into the image writes it, as QEMU refuses for a read-only node. */
	if ((a->flags & QEDBLK_ATTACH_COPY_ON_READ) && (a->flags & QEDBLK_ATTACH_READ_ONLY))
		return -EINVAL;
	/*
	 * As loop_validate_block_size(), but no larger than losetup offers.
	 * 0 is left for the attach to choose (qedblk_decide_dio()).
	 */
	if (a->block_size &&
	    (blk_validate_block_size(a->block_size) || a->block_size > SZ_4K))
		return -EINVAL;
	if (a->nr_backing > QEDBLK_MAX_CHAIN)
		return -ELOOP;
	if (!a->nr_backing && a->backing_fds)
		return -EINVAL;
	if (a->nr_backing && copy_from_user(fds, u64_to_user_ptr(a->backing_fds),
					    a->nr_backing * sizeof(fds[0])))
		return -EFAULT;
	if (!memchr(a->path, '\0', sizeof(a->path)))
		return -ENAMETOOLONG;
	return qedblk_attach(a, fds);
}

static long qedblk_ctl_detach(union qedblk_ctl_arg *arg)
{
	struct qedblk_detach *d = &arg->detach;

	if ((d->flags & ~QEDBLK_DETACH_FLAGS_ALL) ||
	    !qedblk_all_zero(d->reserved, sizeof(d->reserved)))
		return -EINVAL;
	return qedblk_detach(d->index, d->flags);
}

/* Only the index is read: every other field is an answer. */
static long qedblk_ctl_info(union qedblk_ctl_arg *arg)
{
	struct qedblk_info *info = &arg->info;
	u32 index = info->index;

	memset(info, 0, sizeof(*info));
	info->index = index;
	return qedblk_get_info(info);
}

static long qedblk_ctl_list(union qedblk_ctl_arg *arg)
{
	struct qedblk_list *l = &arg->list;
	u32 *indices = NULL;
	u32 room, count;
	int ret;

	if (!qedblk_all_zero(l->reserved, sizeof(l->reserved)))
		return -EINVAL;
	room = min_t(u32, l->count, 1 << MINORBITS);
	if (room) {
		indices = kcalloc(room, sizeof(*indices), GFP_KERNEL);
		if (!indices)
			return -ENOMEM;
	}
	qedblk_list(indices, room, &count);
	ret = 0;
	if (room && copy_to_user(u64_to_user_ptr(l->indices), indices,
				 min(room, count) * sizeof(*indices)))
		ret = -EFAULT;
	kfree(indices);
	l->count = count;
	return ret;
}

static long qedblk_ctl_resize(union qedblk_ctl_arg *arg)
{
	struct qedblk_resize *r = &arg->resize;

	if (!qedblk_all_zero(r->reserved, sizeof(r->reserved)))
		return -EINVAL;
	return qedblk_resize(r->index, r->new_size);
}

static long qedblk_ctl_set(union qedblk_ctl_arg *arg)
{
	struct qedblk_set *s = &arg->set;

	if ((s->mask & ~QEDBLK_SET_FLAGS_ALL) || (s->flags & ~s->mask) ||
	    !qedblk_all_zero(s->reserved, sizeof(s->reserved)))
		return -EINVAL;
	return qedblk_set_flags(s->index, s->mask, s->flags);
}

static long qedblk_ctl_snapshot(union qedblk_ctl_arg *arg)
{
	struct qedblk_snapshot *s = &arg->snapshot;

	if ((s->flags & ~QEDBLK_SNAPSHOT_FLAGS_ALL) || s->reserved0 ||
	    !qedblk_all_zero(s->reserved, sizeof(s->reserved)))
		return -EINVAL;
	if (!memchr(s->path, '\0', sizeof(s->path)))
		return -ENAMETOOLONG;
	return qedblk_snapshot(s);
}

static long qedblk_ctl_get_features(union qedblk_ctl_arg *arg);

struct qedblk_ctl_cmd {
	long (*fn)(union qedblk_ctl_arg *arg);
	u16 size;		/* the kernel's sizeof() */
	u16 size_ver0;		/* the least a caller may pass */
	bool answers;		/* copied back on success */
};

/*
 * Indexed by _IOC_NR(): the command's other bits are an older or newer
 * header's, and its size bits in particular need not be ours.
 */
#define QEDBLK_CTL_CMD(cmd, handler, type, ver0, out)				\
	[_IOC_NR(cmd)] = {							\
		.fn = handler,							\
		.size = sizeof(type),						\
		.size_ver0 = ver0,						\
		.answers = out,							\
	}

/* A struct only grows: its first version fits in the kernel's. */
static_assert(sizeof(struct qedblk_attach) >= QEDBLK_ATTACH_SIZE_VER0);
static_assert(sizeof(struct qedblk_detach) >= QEDBLK_DETACH_SIZE_VER0);
static_assert(sizeof(struct qedblk_info) >= QEDBLK_INFO_SIZE_VER0);
static_assert(sizeof(struct qedblk_list) >= QEDBLK_LIST_SIZE_VER0);
static_assert(sizeof(struct qedblk_resize) >= QEDBLK_RESIZE_SIZE_VER0);
static_assert(sizeof(struct qedblk_set) >= QEDBLK_SET_SIZE_VER0);
static_assert(sizeof(struct qedblk_snapshot) >= QEDBLK_SNAPSHOT_SIZE_VER0);

static const struct qedblk_ctl_cmd qedblk_ctl_cmds[] = {
	QEDBLK_CTL_CMD(QEDBLK_CTL_ATTACH, qedblk_ctl_attach, struct qedblk_attach,
		       QEDBLK_ATTACH_SIZE_VER0, true),
	QEDBLK_CTL_CMD(QEDBLK_CTL_DETACH, qedblk_ctl_detach, struct qedblk_detach,
		       QEDBLK_DETACH_SIZE_VER0, false),
	QEDBLK_CTL_CMD(QEDBLK_CTL_INFO, qedblk_ctl_info, struct qedblk_info,
		       QEDBLK_INFO_SIZE_VER0, true),
	QEDBLK_CTL_CMD(QEDBLK_CTL_LIST, qedblk_ctl_list, struct qedblk_list,
		       QEDBLK_LIST_SIZE_VER0, true),
	QEDBLK_CTL_CMD(QEDBLK_CTL_RESIZE, qedblk_ctl_resize, struct qedblk_resize,
		       QEDBLK_RESIZE_SIZE_VER0, false),
	QEDBLK_CTL_CMD(QEDBLK_CTL_SET, qedblk_ctl_set, struct qedblk_set,
		       QEDBLK_SET_SIZE_VER0, false),
	QEDBLK_CTL_CMD(QEDBLK_CTL_GET_FEATURES, qedblk_ctl_get_features,
		       struct qedblk_features, QEDBLK_FEATURES_SIZE_VER0, true),
	QEDBLK_CTL_CMD(QEDBLK_CTL_SNAPSHOT, qedblk_ctl_snapshot, struct qedblk_snapshot,
		       QEDBLK_SNAPSHOT_SIZE_VER0, false),
};

/* The bitmap of struct qedblk_features.ioctls has room for 64. */
static_assert(ARRAY_SIZE(qedblk_ctl_cmds) <= 64);

/*
 * Nothing but size is read, and nothing else may be set: a later version
 * may give the request input, which this one must then refuse, not ignore.
 */
static long qedblk_ctl_get_features(union qedblk_ctl_arg *arg)
{
	struct qedblk_features *f = &arg->features;
	unsigned int nr;

	if (!qedblk_all_zero((u8 *)f + sizeof(f->size), sizeof(*f) - sizeof(f->size)))
		return -EINVAL;
	f->attach_flags = QEDBLK_ATTACH_FLAGS_ALL;
	f->detach_flags = QEDBLK_DETACH_FLAGS_ALL;
	f->set_flags = QEDBLK_SET_FLAGS_ALL;
	f->info_flags = QEDBLK_INFO_FLAGS_ALL;
	f->max_chain = QEDBLK_MAX_CHAIN;
	for (nr = 0; nr < ARRAY_SIZE(qedblk_ctl_cmds); nr++)
		if (qedblk_ctl_cmds[nr].fn)
			f->ioctls |= BIT_ULL(nr);
	f->image_features = QED_FEATURE_MASK;
	f->image_compat_features = QED_COMPAT_FEATURE_MASK;
	f->image_autoclear_features = QED_AUTOCLEAR_FEATURE_MASK;
	f->snapshot_flags = QEDBLK_SNAPSHOT_FLAGS_ALL;
	return 0;
}

/**
 * qedblk_ctl_ioctl() - the ioctls of /dev/qed-control
 * @file: the open control device
 * @cmd: a QEDBLK_CTL_* request, known by its type and number alone
 * @arg: user pointer to the request's argument struct, which begins with
 *	its own size
 *
 * The argument is copied in as copy_struct_from_user() does, from its
 * first version's size up to a page; on success, a request that answers
 * has min(caller's size, kernel's size) bytes copied back, with that size
 * in the size field.
 *
 * Return: 0, or a negative errno: -ENOTTY for a request this kernel does
 * not know, -EINVAL for a size it does not take or a non-zero byte past its
 * struct, else the request's own.
 */
long qedblk_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	const struct qedblk_ctl_cmd *c;
	union qedblk_ctl_arg karg;
	unsigned int nr = _IOC_NR(cmd);
	u32 usize;
	long ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (_IOC_TYPE(cmd) != QEDBLK_CTL_MAGIC || nr >= ARRAY_SIZE(qedblk_ctl_cmds))
		return -ENOTTY;
	c = &qedblk_ctl_cmds[array_index_nospec(nr, ARRAY_SIZE(qedblk_ctl_cmds))];
	if (!c->fn)
		return -ENOTTY;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < c->size_ver0 || usize > PAGE_SIZE)
		return -EINVAL;
	ret = copy_struct_from_user(&karg, c->size, uarg, usize);
	if (ret)
		return ret == -E2BIG ? -EINVAL : ret;

	ret = c->fn(&karg);
	if (ret || !c->answers)
		return ret;
	karg.size = min_t(u32, usize, c->size);
	if (copy_to_user(uarg, &karg, karg.size))
		return -EFAULT;
	return 0;
}
