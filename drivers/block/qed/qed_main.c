// SPDX-License-Identifier: GPL-2.0
/*
 * qedblk: QED (QEMU Enhanced Disk) images as block devices.
 *
 * Module setup and /dev/qed-control, whose ioctls attach and detach images
 * (see include/uapi/linux/qedblk.h and Documentation/qed.rst).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/slab.h>
#include <linux/blkdev.h>
#include <linux/sizes.h>

#include "qed.h"
#include "qed_version.h"

unsigned int qedblk_l2_cache_chunks = 1024;
module_param_named(l2_cache_pages, qedblk_l2_cache_chunks, uint, 0644);
MODULE_PARM_DESC(l2_cache_pages,
		 "L2 table pages (4 KiB, 512 entries each) cached per image file, read at attach (default 1024)");

/* Serialises attach, detach, info and list: the device index and lifetimes. */
DEFINE_MUTEX(qedblk_ctl_mutex);
int qedblk_major;
struct workqueue_struct *qedblk_ctl_wq;

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

static long qedblk_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
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

static const struct file_operations qedblk_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= qedblk_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/*
 * A fixed minor, as loop-control's LOOP_CTRL_MINOR, so that kmod can create
 * /dev/qed-control at boot (the devname alias below) and its first open
 * loads the module.  244-254 are reserved for local use in devices.txt.
 */
#define QED_CTRL_MINOR	249

static struct miscdevice qedblk_misc = {
	.minor		= QED_CTRL_MINOR,
	.name		= "qed-control",
	.nodename	= "qed-control",
	.mode		= 0600,
	.fops		= &qedblk_ctl_fops,
};

static int __init qedblk_init(void)
{
	int ret;

	ret = qedblk_l2cache_init();
	if (ret)
		return ret;
	/* Unbound: since 7.x a workqueue must say so, or it warns. */
	qedblk_ctl_wq = alloc_workqueue("qedblk_ctl", WQ_UNBOUND, 0);
	if (!qedblk_ctl_wq) {
		ret = -ENOMEM;
		goto err_cache;
	}
	qedblk_major = register_blkdev(0, "qed");
	if (qedblk_major < 0) {
		ret = qedblk_major;
		goto err_wq;
	}
	/*
	 * No dynamic fallback: kmod's node /dev/qed-control is 10:249 from
	 * boot on, and would name the other driver's device.
	 */
	ret = misc_register(&qedblk_misc);
	if (ret) {
		pr_err("cannot register /dev/qed-control as misc minor %d: %d\n",
		       QED_CTRL_MINOR, ret);
		goto err_blkdev;
	}
	pr_info("QED image block driver loaded\n");
	return 0;

err_blkdev:
	unregister_blkdev(qedblk_major, "qed");
err_wq:
	destroy_workqueue(qedblk_ctl_wq);
err_cache:
	qedblk_l2cache_exit();
	return ret;
}

static void __exit qedblk_exit(void)
{
	misc_deregister(&qedblk_misc);
	qedblk_dev_exit();
	/* Runs what qedblk_release() queued: each drops its disk reference. */
	destroy_workqueue(qedblk_ctl_wq);
	unregister_blkdev(qedblk_major, "qed");
	qedblk_l2cache_exit();
}

module_init(qedblk_init);
module_exit(qedblk_exit);

MODULE_DESCRIPTION("QED (QEMU Enhanced Disk) image block devices");
MODULE_AUTHOR("The qed maintainers");
MODULE_LICENSE("GPL");
MODULE_VERSION(QED_VERSION);
MODULE_ALIAS_MISCDEV(QED_CTRL_MINOR);
MODULE_ALIAS("devname:qed-control");
