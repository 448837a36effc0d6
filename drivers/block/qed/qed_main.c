// SPDX-License-Identifier: GPL-2.0
/*
 * qedblk: QED (QEMU Enhanced Disk) images as block devices.
 *
 * Module setup and /dev/qed-control, whose ioctls (qed_ctl.c) attach and
 * detach images (see include/uapi/linux/qedblk.h and Documentation/qed.rst).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>

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
