// SPDX-License-Identifier: GPL-2.0
/*
 * qedblk: QED (QEMU Enhanced Disk) images as block devices.
 *
 * Module setup and /dev/qed-control, whose ioctls attach and detach images
 * (see include/uapi/linux/qed.h and Documentation/qed.rst).
 */
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

unsigned int qed_l2_cache_chunks = 1024;
module_param_named(l2_cache_pages, qed_l2_cache_chunks, uint, 0644);
MODULE_PARM_DESC(l2_cache_pages,
		 "L2 table pages (4 KiB, 512 entries each) cached per image file, read at attach (default 1024)");

/* Serialises attach, detach, info and list: the device index and lifetimes. */
DEFINE_MUTEX(qed_ctl_mutex);
int qed_major;
struct workqueue_struct *qed_ctl_wq;

/*
 * Copy in an argument struct that begins with its own size: older, shorter
 * versions are accepted, longer ones only if the part we do not know is
 * zero (copy_struct_from_user()).
 */
static int qed_copy_arg(void *karg, size_t ksize, size_t min, void __user *uarg)
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

static int qed_copy_out(void __user *uarg, const void *karg, size_t ksize)
{
	u32 usize;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (copy_to_user(uarg, karg, min_t(size_t, usize, ksize)))
		return -EFAULT;
	return 0;
}

static bool qed_all_zero(const void *p, size_t n)
{
	return !memchr_inv(p, 0, n);
}

static long qed_ctl_attach(void __user *uarg)
{
	s32 fds[QED_MAX_CHAIN];
	struct qed_attach a;
	int ret;

	ret = qed_copy_arg(&a, sizeof(a), sizeof(a), uarg);
	if (ret)
		return ret;
	if ((a.flags & ~QED_ATTACH_FLAGS_ALL) || !qed_all_zero(a.reserved, sizeof(a.reserved)))
		return -EINVAL;
	/* As loop_validate_block_size(), but no larger than losetup offers. */
	if (!a.block_size)
		a.block_size = SECTOR_SIZE;
	if (blk_validate_block_size(a.block_size) || a.block_size > SZ_4K)
		return -EINVAL;
	if (a.nr_backing > QED_MAX_CHAIN)
		return -ELOOP;
	if (!a.nr_backing && a.backing_fds)
		return -EINVAL;
	if (a.nr_backing && copy_from_user(fds, u64_to_user_ptr(a.backing_fds),
					   a.nr_backing * sizeof(fds[0])))
		return -EFAULT;
	if (!memchr(a.path, '\0', sizeof(a.path)))
		return -ENAMETOOLONG;
	ret = qed_attach(&a, fds);
	if (ret)
		return ret;
	return qed_copy_out(uarg, &a, sizeof(a));
}

static long qed_ctl_detach(void __user *uarg)
{
	struct qed_detach d;
	int ret;

	ret = qed_copy_arg(&d, sizeof(d), sizeof(d), uarg);
	if (ret)
		return ret;
	if ((d.flags & ~QED_DETACH_FLAGS_ALL) || !qed_all_zero(d.reserved, sizeof(d.reserved)))
		return -EINVAL;
	return qed_detach(d.index, d.flags);
}

static long qed_ctl_info(void __user *uarg)
{
	struct qed_info info;
	u32 index;
	int ret;

	ret = qed_copy_arg(&info, sizeof(info), sizeof(info), uarg);
	if (ret)
		return ret;
	index = info.index;
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.index = index;
	ret = qed_get_info(&info);
	if (ret)
		return ret;
	return qed_copy_out(uarg, &info, sizeof(info));
}

static long qed_ctl_resize(void __user *uarg)
{
	struct qed_resize r;
	int ret;

	ret = qed_copy_arg(&r, sizeof(r), sizeof(r), uarg);
	if (ret)
		return ret;
	if (!qed_all_zero(r.reserved, sizeof(r.reserved)))
		return -EINVAL;
	return qed_resize(r.index, r.new_size);
}

static long qed_ctl_set(void __user *uarg)
{
	struct qed_set s;
	int ret;

	ret = qed_copy_arg(&s, sizeof(s), sizeof(s), uarg);
	if (ret)
		return ret;
	if ((s.mask & ~QED_SET_FLAGS_ALL) || (s.flags & ~s.mask) ||
	    !qed_all_zero(s.reserved, sizeof(s.reserved)))
		return -EINVAL;
	return qed_set_flags(s.index, s.mask, s.flags);
}

static long qed_ctl_list(void __user *uarg)
{
	struct qed_list l;
	u32 *indices = NULL;
	u32 room, count;
	int ret;

	ret = qed_copy_arg(&l, sizeof(l), sizeof(l), uarg);
	if (ret)
		return ret;
	if (!qed_all_zero(l.reserved, sizeof(l.reserved)))
		return -EINVAL;
	room = min_t(u32, l.count, 1 << MINORBITS);
	if (room) {
		indices = kcalloc(room, sizeof(*indices), GFP_KERNEL);
		if (!indices)
			return -ENOMEM;
	}
	qed_list(indices, room, &count);
	ret = 0;
	if (room && copy_to_user(u64_to_user_ptr(l.indices), indices,
				 min(room, count) * sizeof(*indices)))
		ret = -EFAULT;
	kfree(indices);
	if (ret)
		return ret;
	l.count = count;
	return qed_copy_out(uarg, &l, sizeof(l));
}

static long qed_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case QED_CTL_ATTACH:
		return qed_ctl_attach(uarg);
	case QED_CTL_DETACH:
		return qed_ctl_detach(uarg);
	case QED_CTL_INFO:
		return qed_ctl_info(uarg);
	case QED_CTL_LIST:
		return qed_ctl_list(uarg);
	case QED_CTL_RESIZE:
		return qed_ctl_resize(uarg);
	case QED_CTL_SET:
		return qed_ctl_set(uarg);
	}
	return -ENOTTY;
}

static const struct file_operations qed_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= qed_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/*
 * A fixed minor, as loop-control's LOOP_CTRL_MINOR, so that kmod can create
 * /dev/qed-control at boot (the devname alias below) and its first open
 * loads the module.  244-254 are reserved for local use in devices.txt.
 */
#define QED_CTRL_MINOR	249

static struct miscdevice qed_misc = {
	.minor		= QED_CTRL_MINOR,
	.name		= "qed-control",
	.nodename	= "qed-control",
	.mode		= 0600,
	.fops		= &qed_ctl_fops,
};

static int __init qed_init(void)
{
	int ret;

	ret = qed_l2cache_init();
	if (ret)
		return ret;
	/* Unbound: since 7.x a workqueue must say so, or it warns. */
	qed_ctl_wq = alloc_workqueue("qed_ctl", WQ_UNBOUND, 0);
	if (!qed_ctl_wq) {
		ret = -ENOMEM;
		goto err_cache;
	}
	qed_major = register_blkdev(0, "qed");
	if (qed_major < 0) {
		ret = qed_major;
		goto err_wq;
	}
	/*
	 * No dynamic fallback: kmod's node /dev/qed-control is 10:249 from
	 * boot on, and would name the other driver's device.
	 */
	ret = misc_register(&qed_misc);
	if (ret) {
		pr_err("qed: cannot register /dev/qed-control as misc minor %d: %d\n",
		       QED_CTRL_MINOR, ret);
		goto err_blkdev;
	}
	pr_info("qed: QED image block driver loaded\n");
	return 0;

err_blkdev:
	unregister_blkdev(qed_major, "qed");
err_wq:
	destroy_workqueue(qed_ctl_wq);
err_cache:
	qed_l2cache_exit();
	return ret;
}

static void __exit qed_exit(void)
{
	misc_deregister(&qed_misc);
	qed_dev_exit();
	/* Runs what qed_release() queued: each drops its disk reference. */
	destroy_workqueue(qed_ctl_wq);
	unregister_blkdev(qed_major, "qed");
	qed_l2cache_exit();
}

module_init(qed_init);
module_exit(qed_exit);

MODULE_DESCRIPTION("QED (QEMU Enhanced Disk) image block devices");
MODULE_AUTHOR("The qed maintainers");
MODULE_LICENSE("GPL");
MODULE_VERSION(QED_VERSION);
MODULE_ALIAS_MISCDEV(QED_CTRL_MINOR);
MODULE_ALIAS("devname:qed-control");
