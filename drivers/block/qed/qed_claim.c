// SPDX-License-Identifier: GPL-2.0
/*
 * The claim of a device on its files: its entry in the device index,
 * under qedblk_ctl_mutex ("Locking" in qed.h), is what keeps a second
 * device from writing an image that another one reads or writes.  An
 * attach claims its files after reading them and before writing them, a
 * detach gives them up last.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/pagemap.h>

#include "qed.h"

/* The device index: every device from its claim to its unclaim. */
DEFINE_IDR(qedblk_index_idr);

#define QED_MAX_DEVICES		(BIT(MINORBITS) / QED_MINORS)

/*
 * Is @inode one of @qed's files (@rw_only: one it writes: its image,
 * attached read-write, or the overlay of a snapshot under way)?
 */
static bool qedblk_uses_inode(struct qedblk_device *qed, const struct inode *inode,
			      bool rw_only)
{
	bool found = false;
	unsigned int i;

	/* The index holds qed and its files while we look... */
	lockdep_assert_held(&qedblk_ctl_mutex);
	/* ...and a snapshot changes them under files_lock alone. */
	spin_lock(&qed->files_lock);
	if (file_inode(qed->top.file) == inode &&
	    (!rw_only || !(READ_ONCE(qed->flags) & QEDBLK_ATTACH_READ_ONLY)))
		found = true;
	if (qed->snap_file && file_inode(qed->snap_file) == inode)
		found = true;
	for (i = 0; !rw_only && i < qed->nr_backing; i++)
		if (file_inode(qed->chain[i].file) == inode)
			found = true;
	spin_unlock(&qed->files_lock);
	return found;
}

/**
 * qedblk_wait_rundown() - wait for the detaches of an image to finish
 * @inode: the image file's inode
 *
 * Wait until no device on its way out (RUNDOWN) holds @inode any more: an
 * attach right after a detach of the same image, lazy or from the
 * autoclear work, must not meet the old device's claim or locks.  Waits
 * for that device alone, killably; a stuck detach of another image never
 * holds it up.
 *
 * Context: process context, no lock of the driver held; sleeps.
 * Return: 0, or -ERESTARTSYS on a fatal signal.
 */
int qedblk_wait_rundown(const struct inode *inode)
{
	struct qedblk_device *qed, *found;
	int id, ret;

	for (;;) {
		found = NULL;
		mutex_lock(&qedblk_ctl_mutex);
		idr_for_each_entry(&qedblk_index_idr, qed, id) {
			if (READ_ONCE(qed->state) == QED_RUNDOWN &&
			    qedblk_uses_inode(qed, inode, false)) {
				found = qed;
				get_device(disk_to_dev(found->disk));
				break;
			}
		}
		mutex_unlock(&qedblk_ctl_mutex);
		if (!found)
			return 0;
		ret = wait_for_completion_killable(&found->unclaimed);
		put_device(disk_to_dev(found->disk));
		if (ret)
			return ret;
	}
}

/*
 * Two devices writing one image would allocate the same clusters twice,
 * and a device writing an image that another reads as a backing file would
 * change data under it: refuse both, as QEMU's image locking does (and
 * qedblk_lock_image() does against QEMU).
 */
static int qedblk_find_conflicts(struct qedblk_device *new)
{
	bool rw = !(new->flags & QEDBLK_ATTACH_READ_ONLY);
	struct qedblk_device *qed;
	unsigned int i;
	int id;

	lockdep_assert_held(&qedblk_ctl_mutex);
	/* ATTACHING and RUNDOWN devices hold their files too. */
	idr_for_each_entry(&qedblk_index_idr, qed, id) {
		if (qedblk_uses_inode(qed, file_inode(new->top.file), !rw))
			goto busy;
		for (i = 0; i < new->nr_backing; i++)
			if (qedblk_uses_inode(qed, file_inode(new->chain[i].file), true))
				goto busy;
	}
	return 0;
busy:
	qedblk_err(&new->top, "in use by qed%d, which %s it", qed->index,
		   (READ_ONCE(qed->flags) & QEDBLK_ATTACH_READ_ONLY) ? "reads" : "writes");
	return -EBUSY;
}

/*
 * Another device in the index with the same image file (read-only both:
 * a snapshot, which changes o's image, is of a read-write one).
 */
static struct qedblk_device *qedblk_mapping_sharer(const struct qedblk_device *qed)
{
	struct qedblk_device *o;
	int id;

	lockdep_assert_held(&qedblk_ctl_mutex);
	idr_for_each_entry(&qedblk_index_idr, o, id)
		if (o != qed && file_inode(o->top.file) == file_inode(qed->top.file))
			return o;
	return NULL;
}

/*
 * Page cache allocations for the image must not recurse into the file
 * system or block layer above us, as loop_configure() does.  Devices that
 * share an image file share the mask it had before the first of them.
 */
static void qedblk_strip_gfp(struct qedblk_device *qed)
{
	struct address_space *mapping = qed->top.file->f_mapping;
	struct qedblk_device *sharer;

	/* A sharer's old_gfp_mask, and the mapping's mask, change under it. */
	lockdep_assert_held(&qedblk_ctl_mutex);
	sharer = qedblk_mapping_sharer(qed);
	qed->old_gfp_mask = sharer ? sharer->old_gfp_mask : mapping_gfp_mask(mapping);
	mapping_set_gfp_mask(mapping, qed->old_gfp_mask & ~(__GFP_IO | __GFP_FS));
}

/**
 * qedblk_claim() - enter a device being attached into the index
 * @qed: the device, its image and chain open and loaded
 * @a: the attach request: the index asked for, if any
 *
 * Enter @qed into the index as ATTACHING once no other device uses its
 * files: from here on a second attach of them gets EBUSY, so nothing is
 * written to an image before the device owns it.  Sets @qed->index and
 * strips the image mapping's gfp mask (qedblk_strip_gfp()).
 *
 * Context: process context, no lock of the driver held; takes
 * qedblk_ctl_mutex killably.
 * Return: 0; -EBUSY when another device uses the files; -EINVAL for an
 * index beyond the last minor; -EEXIST when the index asked for is taken,
 * -ENOSPC when every one is; -ENOMEM; -EINTR on a fatal signal.
 */
int qedblk_claim(struct qedblk_device *qed, struct qedblk_attach *a)
{
	int ret, idx;

	ret = mutex_lock_killable(&qedblk_ctl_mutex);
	if (ret)
		return ret;
	ret = qedblk_find_conflicts(qed);
	if (ret)
		goto out;
	if (a->flags & QEDBLK_ATTACH_WANT_INDEX) {
		if (a->index >= QED_MAX_DEVICES) {
			ret = -EINVAL;
			goto out;
		}
		idx = idr_alloc(&qedblk_index_idr, qed, a->index, a->index + 1, GFP_KERNEL);
		if (idx == -ENOSPC)
			idx = -EEXIST;
	} else {
		idx = idr_alloc(&qedblk_index_idr, qed, 0, QED_MAX_DEVICES, GFP_KERNEL);
	}
	if (idx < 0) {
		ret = idx;
		goto out;
	}
	qed->index = idx;
	qed->state = QED_ATTACHING;
	qedblk_strip_gfp(qed);
out:
	mutex_unlock(&qedblk_ctl_mutex);
	return ret;
}

/**
 * qedblk_unclaim() - give up the index entry and the files' locks
 * @qed: a device that qedblk_claim() entered into the index
 *
 * Leave the index, the last step of a detach or of a failed attach.  The
 * image locks go first, so that the next attach of the image does not
 * meet them on a file whose last fput() is still to come.  Restores the
 * mapping's gfp mask when no other device shares the image, and wakes
 * qedblk_wait_rundown().
 *
 * Context: process context, qedblk_ctl_mutex not held; sleeps.
 */
void qedblk_unclaim(struct qedblk_device *qed)
{
	unsigned int i;

	qedblk_unlock_image(&qed->top);
	for (i = 0; i < qed->nr_backing; i++)
		qedblk_unlock_image(&qed->chain[i]);
	mutex_lock(&qedblk_ctl_mutex);
	if (!qedblk_mapping_sharer(qed))
		mapping_set_gfp_mask(qed->top.file->f_mapping, qed->old_gfp_mask);
	idr_remove(&qedblk_index_idr, qed->index);
	mutex_unlock(&qedblk_ctl_mutex);
	complete_all(&qed->unclaimed);
}

/**
 * qedblk_claim_overlay() - claim the overlay of a snapshot for a device
 * @qed: the device, its lock held, its queue still running
 * @file: the overlay's file
 * @old_gfp: set to the overlay mapping's gfp mask, for qedblk_unclaim_overlay()
 *
 * Before the queue is drained, not in there: qedblk_ctl_mutex is held
 * across allocations (qedblk_claim()), which may wait for the requests a
 * drain holds back.  From here on the overlay is the device's
 * (qedblk_uses_inode()), and its mapping loses __GFP_IO and __GFP_FS
 * (qedblk_strip_gfp()), as the image's will.
 *
 * Context: process context; takes qedblk_ctl_mutex.
 * Return: 0, or -EBUSY, with a message, when another device uses @file.
 */
int qedblk_claim_overlay(struct qedblk_device *qed, struct file *file, gfp_t *old_gfp)
{
	struct address_space *mapping = file->f_mapping;
	struct qedblk_device *o;
	int id;

	lockdep_assert_held(&qed->lock);
	mutex_lock(&qedblk_ctl_mutex);
	idr_for_each_entry(&qedblk_index_idr, o, id) {
		if (o != qed && qedblk_uses_inode(o, file_inode(file), false)) {
			mutex_unlock(&qedblk_ctl_mutex);
			qedblk_err(&qed->top, "snapshot: the overlay %pD is in use by qed%d",
				   file, o->index);
			return -EBUSY;
		}
	}
	spin_lock(&qed->files_lock);
	qed->snap_file = file;
	spin_unlock(&qed->files_lock);
	*old_gfp = mapping_gfp_mask(mapping);
	mapping_set_gfp_mask(mapping, *old_gfp & ~(__GFP_IO | __GFP_FS));
	mutex_unlock(&qedblk_ctl_mutex);
	return 0;
}

/**
 * qedblk_unclaim_overlay() - the end of a snapshot, taken or not
 * @qed: the device, its lock held
 * @taken: the overlay is the device's image now, and @old its backing file
 * @old: the file that was the image
 * @old_gfp: what qedblk_claim_overlay() returned
 *
 * Taken, the old image's mapping gets its gfp mask back, and the
 * overlay's is the one the device restores at detach; not taken, the
 * overlay's gets it back.
 *
 * Context: process context; takes qedblk_ctl_mutex.
 */
void qedblk_unclaim_overlay(struct qedblk_device *qed, bool taken, struct file *old,
			    gfp_t old_gfp)
{
	lockdep_assert_held(&qed->lock);
	mutex_lock(&qedblk_ctl_mutex);
	if (taken) {
		/* An image written by one device is shared by none. */
		mapping_set_gfp_mask(old->f_mapping, qed->old_gfp_mask);
		qed->old_gfp_mask = old_gfp;
	} else {
		mapping_set_gfp_mask(qed->snap_file->f_mapping, old_gfp);
	}
	spin_lock(&qed->files_lock);
	qed->snap_file = NULL;
	spin_unlock(&qed->files_lock);
	mutex_unlock(&qedblk_ctl_mutex);
}
