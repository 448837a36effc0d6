// SPDX-License-Identifier: GPL-2.0
/*
 * Live snapshots, QEMU's blockdev-snapshot-sync for a device in use: the
 * overlay qedctl created becomes the device's image, and the image the
 * first file of the overlay's backing chain, between two requests.
 *
 * As loop_change_fd() swaps a loop device's file: with no request in the
 * driver (drained rather than frozen: qedblk_drain()), so that none
 * sees half a switch, and the old file released once the new one is in
 * place.  Unlike loop_change_fd(), which wants the two
 * files to hold the same data, the old image is made durable and marked
 * clean first, and from then on only read: it is a point-in-time copy
 * that can be copied, checked or attached read-only elsewhere.
 *
 * Everything that can fail is done before the switch: opening, locking
 * and loading the overlay; loading the new chain; flushing and marking
 * the old image clean; handing its locks to a read-only file.  The switch
 * itself only moves pointers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blk-mq.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "qed.h"

/* What a snapshot builds before the switch, and drops if it fails. */
struct qedblk_snap {
	struct qedblk_device *qed;
	const char *path;		/* the overlay, for messages */
	struct qedblk_image *ovl;	/* loaded; its file, L1 and geometry become the top's */
	struct qedblk_image *chain;	/* the old image read-only, then the old chain */
	unsigned int nr;		/* files in @chain set up */
	gfp_t ovl_gfp;			/* the overlay mapping's mask, claimed */
};

static __printf(2, 3) void qedblk_snap_err(const struct qedblk_snap *s, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("qed%d: %s: snapshot to %s refused: %pV\n", s->qed->index, s->qed->path,
	       s->path, &vaf);
	va_end(args);
}

/* The overlay, locked and loaded, or an error said. */
static int qedblk_snap_open_overlay(struct qedblk_snap *s, s32 fd)
{
	struct qedblk_device *qed = s->qed;
	struct file *user, *file;
	unsigned int i;
	int ret;

	user = fget(fd);
	if (!user)
		return -EBADF;
	ret = qedblk_validate_user_file(user, true);
	/* As an attach: not while a device on its way out holds it. */
	if (!ret)
		ret = qedblk_wait_rundown(file_inode(user));
	file = ret ? ERR_PTR(ret) : qedblk_file_reopen(user, true, s->path);
	fput(user);
	if (IS_ERR(file))
		return PTR_ERR(file);
	/* Before its locks, which would meet our own. */
	for (i = 0; i <= qed->nr_backing; i++) {
		struct qedblk_image *img = i ? &qed->chain[i - 1] : &qed->top;

		if (file_inode(file) == file_inode(img->file)) {
			qedblk_snap_err(s, "it is the device's %s", i ? "backing file" : "image");
			fput(file);
			return -EINVAL;
		}
	}
	s->ovl = kzalloc(sizeof(*s->ovl), GFP_KERNEL);
	if (!s->ovl) {
		fput(file);
		return -ENOMEM;
	}
	qedblk_image_init(s->ovl, qed, file, 0);
	/* As an attach: the locks before the first read. */
	ret = qedblk_lock_image(s->ovl, true);
	if (ret)
		return ret;
	return qedblk_image_load(s->ovl);
}

/*
 * An overlay the device can switch to: a QED image over the device's
 * image, as large, with its clusters, and nothing in it yet.
 */
static int qedblk_snap_check_overlay(struct qedblk_snap *s, s32 backing_fd)
{
	const struct qedblk_geom *g = &s->ovl->geom, *top = &s->qed->top.geom;
	struct file *backing;
	unsigned int mem_align;
	bool same;
	u32 i;

	backing = fget(backing_fd);
	if (!backing)
		return -EBADF;
	same = file_inode(backing) == file_inode(s->qed->top.file);
	fput(backing);
	if (!(g->features & QED_F_BACKING_FILE) || !same) {
		qedblk_snap_err(s, "its backing file is not the device's image");
		return -EINVAL;
	}
	if (g->features & (QED_F_BACKING_FORMAT_NO_PROBE | QED_F_NEED_CHECK)) {
		qedblk_snap_err(s, "its header says %s",
				(g->features & QED_F_NEED_CHECK) ? "it needs a check" :
				"its backing file is raw");
		return -EINVAL;
	}
	/* An attach would clear them, writing the header: a new overlay has none. */
	if (g->autoclear_features & ~QED_AUTOCLEAR_FEATURE_MASK) {
		qedblk_snap_err(s, "its header has autoclear feature bits this driver does not know");
		return -EINVAL;
	}
	if (g->image_size != top->image_size || g->cluster_size != top->cluster_size) {
		qedblk_snap_err(s, "it has %llu bytes in clusters of %u, the device %llu in clusters of %u",
				g->image_size, g->cluster_size, top->image_size,
				top->cluster_size);
		return -EINVAL;
	}
	for (i = 0; i < s->ovl->l1_bytes / 8; i++) {
		if (s->ovl->l1[i]) {
			qedblk_snap_err(s, "it is not empty");
			return -EINVAL;
		}
	}
	if (!qedblk_direct(s->qed))
		return 0;
	if (!(s->ovl->file->f_mode & FMODE_CAN_ODIRECT) ||
	    qedblk_min_dio_size(s->ovl->file, &mem_align) > s->qed->block_size ||
	    mem_align > queue_dma_alignment(s->qed->disk->queue)) {
		qedblk_snap_err(s, "its file system cannot do direct I/O in the device's %u-byte blocks",
				s->qed->block_size);
		return -EINVAL;
	}
	/* As an attach with direct I/O: what qedctl wrote leaves the cache. */
	return qedblk_file_drop_cache(s->ovl);
}

/*
 * The new chain: the old image first (its file comes with
 * qedblk_snap_load_old()), then the files of the old chain, each with a
 * reference of its own, one level deeper: loaded again, as their structs
 * move.  Their locks belong to the files and stay.
 */
static int qedblk_snap_build_chain(struct qedblk_snap *s)
{
	struct qedblk_device *qed = s->qed;
	unsigned int i;
	int ret;

	if (qed->nr_backing + 1 > QEDBLK_MAX_CHAIN) {
		qedblk_snap_err(s, "the backing chain would be deeper than %d files",
				QEDBLK_MAX_CHAIN);
		return -ELOOP;
	}
	s->chain = kvcalloc(qed->nr_backing + 1, sizeof(*s->chain), GFP_KERNEL);
	if (!s->chain)
		return -ENOMEM;
	qedblk_image_init(&s->chain[0], qed, NULL, 1);
	for (i = 0; i < qed->nr_backing; i++) {
		qedblk_image_init(&s->chain[i + 1], qed, get_file(qed->chain[i].file), i + 2);
		s->chain[i + 1].format = qed->chain[i].format;
		s->chain[i].backing = &s->chain[i + 1];
	}
	s->nr = qed->nr_backing + 1;
	for (i = 1; i < s->nr; i++) {
		if (s->chain[i].format != QED_FMT_QED)
			continue;
		ret = qedblk_image_load(&s->chain[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* The old image's read-only file: opened before the drain, which it may outlast. */
static int qedblk_snap_open_old(struct qedblk_snap *s)
{
	struct file *file = qedblk_file_reopen(s->qed->top.file, false, s->qed->path);

	if (IS_ERR(file))
		return PTR_ERR(file);
	s->chain[0].file = file;
	return 0;
}

/*
 * Make the old image a clean, durable point in time.  A writeback error
 * the guest has not yet been told of means a write it was told had
 * completed may be missing from it: no snapshot then, and the error stays
 * for the guest's next flush.
 */
static int qedblk_snap_settle(struct qedblk_snap *s)
{
	struct qedblk_device *qed = s->qed;
	int ret;

	lockdep_assert_held(&qed->alloc_lock);
	if (qed->was_dirty) {
		qedblk_snap_err(s, "the image was not closed cleanly and has not been checked");
		return -EINVAL;
	}
	ret = qedblk_mark_clean(qed);
	if (!ret)
		ret = qedblk_file_flush(&qed->top);
	if (!ret) {
		spin_lock(&qed->flush_lock);
		ret = errseq_check(&qed->top.file->f_mapping->wb_err, qed->flush_since);
		if (!ret)
			ret = qed->flush_error;
		spin_unlock(&qed->flush_lock);
	}
	if (ret)
		qedblk_snap_err(s, "flushing the image failed: %d", ret);
	/* mark_clean() found allocation under way: not with the queue drained. */
	else if (WARN_ON_ONCE(qed->need_check_on_disk))
		ret = -EIO;
	return ret;
}

/* The overlay takes the top's place, the new chain the old one's. */
static void qedblk_snap_switch(struct qedblk_snap *s)
{
	struct qedblk_device *qed = s->qed;
	struct qedblk_image *top = &qed->top, *ovl = s->ovl;
	unsigned int nr = s->nr;
	struct kstat st;

	lockdep_assert_held(&qed->alloc_lock);
	/* Nothing reads the top's cache or L1 with the queue drained. */
	qedblk_l2cache_destroy(&top->l2);
	qedblk_l1_free(top);
	qedblk_l2cache_setup(&top->l2, READ_ONCE(qedblk_l2_cache_chunks));
	top->geom = ovl->geom;
	top->l1 = ovl->l1;
	top->l1_bytes = ovl->l1_bytes;
	top->file_end = ovl->file_end;
	top->fresh_from = ovl->fresh_from;
	ovl->l1 = NULL;

	if (vfs_getattr(&ovl->file->f_path, &st, STATX_INO, AT_STATX_SYNC_AS_STAT))
		st.ino = 0;	/* unknown, as at attach (qedblk_stat_image()) */
	spin_lock(&qed->files_lock);
	top->file = ovl->file;
	top->backing = &s->chain[0];
	qed->chain = s->chain;
	qed->nr_backing = nr;
	strscpy(qed->path, s->path, sizeof(qed->path));
	qed->image_dev = st.ino ? huge_encode_dev(st.dev) : 0;
	qed->image_ino = st.ino;
	spin_unlock(&qed->files_lock);
	ovl->file = NULL;
	s->chain = NULL;
	s->nr = 0;
	WRITE_ONCE(qed->need_check_on_disk, false);
	qed->preallocated = false;
	qed->no_prealloc = false;
	/* settle() found no error pending on the old file for the guest. */
	spin_lock(&qed->flush_lock);
	qed->flush_since = errseq_sample(&top->file->f_mapping->wb_err);
	spin_unlock(&qed->flush_lock);
}

static void qedblk_snap_free(struct qedblk_snap *s)
{
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		qedblk_image_release(&s->chain[i]);
	kvfree(s->chain);
	if (s->ovl) {
		/* Now, not at a deferred last fput(): qedctl removes the file. */
		qedblk_unlock_image(s->ovl);
		qedblk_image_release(s->ovl);
		kfree(s->ovl);
	}
}

/* The old chain, whose files the new one holds references of its own to. */
static void qedblk_snap_drop_old(struct qedblk_image *chain, unsigned int nr, struct file *top)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		qedblk_image_release(&chain[i]);
	kvfree(chain);
	fput(top);
}

/*
 * With qed->lock held and the overlay checked.  What may wait long is
 * done while requests run: most of the write-back, opening the old image
 * again, claiming the overlay; the rest with the queue drained.
 */
static int qedblk_snap_commit(struct qedblk_snap *s)
{
	struct qedblk_device *qed = s->qed;
	struct qedblk_image *old_chain = qed->chain;
	unsigned int old_nr = qed->nr_backing;
	struct file *old_file = qed->top.file;
	unsigned int noio;
	int ret;

	ret = qedblk_file_flush(&qed->top);
	if (ret) {
		qedblk_snap_err(s, "flushing the image failed: %d", ret);
		return ret;
	}
	ret = qedblk_snap_open_old(s);
	if (!ret)
		ret = qedblk_claim_overlay(qed, s->ovl->file, &s->ovl_gfp);
	if (ret)
		return ret;

	noio = qedblk_drain(qed);
	cancel_delayed_work_sync(&qed->clean_work);
	mutex_lock(&qed->alloc_lock);
	ret = qedblk_snap_settle(s);
	/* After the flush: its tables are final. */
	if (!ret)
		ret = qedblk_image_load(&s->chain[0]);
	if (!ret)
		ret = qedblk_lock_handover(&s->chain[0], &qed->top);
	if (!ret)
		qedblk_snap_switch(s);
	else if (qed->need_check_on_disk)
		mod_delayed_work(qed->wq, &qed->clean_work, QED_CLEAN_DELAY);
	mutex_unlock(&qed->alloc_lock);
	qedblk_undrain(qed, noio);
	qedblk_unclaim_overlay(qed, !ret, old_file, s->ovl_gfp);
	if (ret)
		return ret;

	qedblk_info(&qed->top, "snapshot: writes go here now; %pD is backing file 1, read-only",
		    old_file);
	/* backing_dev and backing_inode changed: udev's by-qed-inode link follows. */
	kobject_uevent(&disk_to_dev(qed->disk)->kobj, KOBJ_CHANGE);
	qedblk_snap_drop_old(old_chain, old_nr, old_file);
	return 0;
}

/**
 * qedblk_snapshot() - switch /dev/qedN to a new overlay, live
 * @a: the request, its flags and reserved fields checked by qed_ctl.c
 *
 * The overlay is checked and loaded, and the old chain loaded again one
 * level deeper, while requests still run; then, with the queue drained,
 * the image is flushed and marked clean, reopened read-only with a
 * reader's locks, and the overlay put in its place.  A failure anywhere
 * leaves the device as it was, on its old image.
 *
 * Context: process context of the caller that passed the descriptors, no
 * lock of the driver held.  Sleeps: takes the device's lock killably,
 * reads and flushes files, quiesces the queue and waits for its requests.
 * Return: 0; -ENXIO when no attached device has the index; -EROFS for a
 * read-only device; -ELOOP when the chain would be deeper than
 * QEDBLK_MAX_CHAIN; -EBADF for a bad descriptor; -EBUSY when QEMU or
 * another device uses the overlay; -EINVAL, with the reason in the kernel
 * log, for an overlay that does not fit, or for anything but a regular
 * file; -EISDIR for a directory; -EPERM for an append-only or immutable
 * overlay; -ENAMETOOLONG for a path without its NUL (qed_ctl.c); -EINTR
 * or -ERESTARTSYS on a fatal signal; -ENOMEM; or the error of reading a
 * file or of the flush, reported.
 */
int qedblk_snapshot(struct qedblk_snapshot *a)
{
	struct qedblk_snap s = { .path = a->path };
	int ret = qedblk_get_locked(a->index, &s.qed);

	if (ret)
		return ret;
	if (s.qed->flags & QEDBLK_ATTACH_READ_ONLY)
		ret = -EROFS;
	if (!ret)
		ret = qedblk_snap_build_chain(&s);
	if (!ret)
		ret = qedblk_snap_open_overlay(&s, a->fd);
	if (!ret)
		ret = qedblk_snap_check_overlay(&s, a->backing_fd);
	if (!ret)
		ret = qedblk_snap_commit(&s);
	qedblk_snap_free(&s);
	qedblk_unlock_put(s.qed);
	return ret;
}
