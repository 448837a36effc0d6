// SPDX-License-Identifier: GPL-2.0
/*
 * One attached image: its gendisk and blk-mq queue, attach and detach, and
 * its sysfs attributes.  All device lifetime changes run under qed_ctl_mutex.
 */
#include <linux/blk-mq.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>

#include "qed.h"
#include "qed_compat.h"

static DEFINE_IDR(qed_index_idr);

#define QED_MAX_DEVICES		(BIT(MINORBITS) / QED_MINORS)

/* ---- blk-mq ---- */

static blk_status_t qed_queue_rq(struct blk_mq_hw_ctx *hctx,
				 const struct blk_mq_queue_data *bd)
{
	struct request *rq = bd->rq;
	struct qed_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct qed_device *qed = rq->q->queuedata;

	blk_mq_start_request(rq);
	/*
	 * Set up here rather than in ->init_request, whose prototype
	 * differs between the kernels we support.
	 */
	cmd->qed = qed;
	INIT_WORK(&cmd->work, qed_cmd_work);
	/* Table loads and allocation may block: never do them here. */
	queue_work(qed->wq, &cmd->work);
	return BLK_STS_OK;
}

static void qed_complete_rq(struct request *rq)
{
	struct qed_cmd *cmd = blk_mq_rq_to_pdu(rq);

	kfree(cmd->bvec);
	cmd->bvec = NULL;
	blk_mq_end_request(rq, errno_to_blk_status(cmd->error));
}

static const struct blk_mq_ops qed_mq_ops = {
	.queue_rq	= qed_queue_rq,
	.complete	= qed_complete_rq,
};

/* ---- block device ---- */

static QED_OPEN_PROTO(qed_open)
{
	struct qed_device *qed = QED_OPEN_DISK->private_data;

	/*
	 * Autoclear counts only opens after attach returned: the partition
	 * scan inside add_disk must not detach the device it is adding.
	 */
	if (READ_ONCE(qed->added))
		WRITE_ONCE(qed->used, true);
	return 0;
}

static QED_RELEASE_PROTO(qed_release)
{
	struct qed_device *qed = disk->private_data;

	if (!READ_ONCE(qed->used))
		return;

	/*
	 * Detaching from here would deadlock on the disk's open_mutex.  The
	 * queued work holds a reference, so qed outlives it.
	 */
	if (disk_openers(disk) == 0 && (READ_ONCE(qed->flags) & QED_ATTACH_AUTOCLEAR)) {
		get_device(disk_to_dev(disk));
		if (!queue_work(qed_ctl_wq, &qed->detach_work))
			put_device(disk_to_dev(disk));
	}
}

static void qed_free_disk(struct gendisk *disk)
{
	struct qed_device *qed = disk->private_data;

	kfree(qed);
}

static const struct block_device_operations qed_fops = {
	.owner		= THIS_MODULE,
	.open		= qed_open,
	.release	= qed_release,
	.free_disk	= qed_free_disk,
};

/* ---- sysfs: /sys/block/qedN/qed/ ---- */

static struct qed_device *dev_to_qed(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

static ssize_t image_path_show(struct device *dev, struct device_attribute *attr,
			       char *buf)
{
	return sysfs_emit(buf, "%s\n", dev_to_qed(dev)->path);
}
static DEVICE_ATTR_RO(image_path);

static ssize_t backing_file_show(struct device *dev, struct device_attribute *attr,
				 char *buf)
{
	return sysfs_emit(buf, "\n");
}
static DEVICE_ATTR_RO(backing_file);

static ssize_t cluster_size_show(struct device *dev, struct device_attribute *attr,
				 char *buf)
{
	return sysfs_emit(buf, "%u\n", dev_to_qed(dev)->geom.cluster_size);
}
static DEVICE_ATTR_RO(cluster_size);

static ssize_t table_size_show(struct device *dev, struct device_attribute *attr,
			       char *buf)
{
	return sysfs_emit(buf, "%u\n", dev_to_qed(dev)->geom.table_size);
}
static DEVICE_ATTR_RO(table_size);

static ssize_t autoclear_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  !!(READ_ONCE(dev_to_qed(dev)->flags) & QED_ATTACH_AUTOCLEAR));
}
static DEVICE_ATTR_RO(autoclear);

static ssize_t l2_cache_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct qed_l2cache *c = &dev_to_qed(dev)->l2;

	return sysfs_emit(buf, "entries %u\nmax %u\nhits %lld\nmisses %lld\nevictions %lld\n",
			  READ_ONCE(c->count), c->max,
			  (long long)atomic64_read(&c->hits),
			  (long long)atomic64_read(&c->misses),
			  (long long)atomic64_read(&c->evictions));
}
static DEVICE_ATTR_RO(l2_cache);

static struct attribute *qed_attrs[] = {
	&dev_attr_image_path.attr,
	&dev_attr_backing_file.attr,
	&dev_attr_cluster_size.attr,
	&dev_attr_table_size.attr,
	&dev_attr_autoclear.attr,
	&dev_attr_l2_cache.attr,
	NULL,
};

static const struct attribute_group qed_attr_group = {
	.name	= "qed",
	.attrs	= qed_attrs,
};

static const struct attribute_group *qed_attr_groups[] = {
	&qed_attr_group,
	NULL,
};

/* ---- attach ---- */

static int qed_read_header(struct qed_device *qed)
{
	u64 isize = i_size_read(file_inode(qed->file));
	u8 buf[QED_HEADER_BYTES];
	enum qed_header_error err;
	int ret;

	if (isize < QED_HEADER_BYTES) {
		err = QED_HDR_SHORT;
		goto bad;
	}
	ret = qed_file_read(qed, 0, buf, sizeof(buf));
	if (ret) {
		pr_err("qed: %s: reading the header failed: %d\n", qed->path, ret);
		return ret;
	}
	err = qed_header_decode(buf, sizeof(buf), isize, &qed->geom);
	if (err)
		goto bad;
	return 0;
bad:
	pr_err("qed: %s: %s\n", qed->path, qed_header_strerror(err));
	return qed_header_errno(err);
}

static int qed_open_image(struct qed_device *qed, bool rw)
{
	struct qed_geom *g = &qed->geom;
	int ret;

	ret = qed_read_header(qed);
	if (ret)
		return ret;
	if (g->features & QED_F_BACKING_FILE) {
		pr_err("qed: %s: images with a backing file are not supported yet\n",
		       qed->path);
		return -EOPNOTSUPP;
	}
	qed->file_end = round_down(i_size_read(file_inode(qed->file)),
				   (u64)g->cluster_size);
	qed->was_dirty = !!(g->features & QED_F_NEED_CHECK);
	qed->need_check_on_disk = qed->was_dirty;
	if (qed->was_dirty)
		pr_warn("qed: %s: image was not closed cleanly; it is used unchecked%s\n",
			qed->path, rw ? " and stays marked for a check" : "");

	/* Unknown autoclear bits say a newer writer's data is now stale. */
	if (rw && (g->autoclear_features & ~QED_AUTOCLEAR_FEATURE_MASK)) {
		g->autoclear_features &= QED_AUTOCLEAR_FEATURE_MASK;
		ret = qed_write_header(qed);
		if (!ret)
			ret = qed_file_flush(qed);
		if (ret)
			return ret;
	}
	return qed_l1_load(qed);
}

static int qed_add_disk(struct qed_device *qed)
{
	const struct qed_queue_params params = {
		.logical_block_size	= SECTOR_SIZE,
		.physical_block_size	= PAGE_SIZE,
		.max_hw_sectors		= 2048,
		.write_cache		= true,
	};
	struct blk_mq_tag_set *set = &qed->tag_set;
	struct gendisk *disk;
	int ret;

	set->ops = &qed_mq_ops;
	set->nr_hw_queues = 1;
	set->queue_depth = 128;
	set->numa_node = NUMA_NO_NODE;
	set->cmd_size = sizeof(struct qed_cmd);
	set->driver_data = qed;
	ret = blk_mq_alloc_tag_set(set);
	if (ret)
		return ret;

	disk = qed_alloc_disk(set, &params, qed);
	if (IS_ERR(disk)) {
		blk_mq_free_tag_set(set);
		return PTR_ERR(disk);
	}
	disk->major = qed_major;
	disk->first_minor = qed->index * QED_MINORS;
	disk->minors = QED_MINORS;
	disk->fops = &qed_fops;
	disk->private_data = qed;
	snprintf(disk->disk_name, DISK_NAME_LEN, "qed%d", qed->index);
	set_capacity(disk, qed->geom.image_size >> SECTOR_SHIFT);
	set_disk_ro(disk, !!(qed->flags & QED_ATTACH_READ_ONLY));
	qed->disk = disk;

	ret = device_add_disk(NULL, disk, qed_attr_groups);
	if (ret) {
		qed->disk = NULL;
		disk->private_data = NULL;	/* qed is freed by our caller */
		put_disk(disk);
		blk_mq_free_tag_set(set);
		return ret;
	}
	return 0;
}

static void qed_release_image(struct qed_device *qed)
{
	qed_l2cache_destroy(&qed->l2);
	qed_l1_free(qed);
	if (qed->wq)
		destroy_workqueue(qed->wq);
	if (qed->file)
		fput(qed->file);
}

static void qed_detach_workfn(struct work_struct *work);

int qed_attach(struct qed_attach *a)
{
	bool rw = !(a->flags & QED_ATTACH_READ_ONLY);
	struct qed_device *qed;
	struct file *file;
	umode_t mode;
	int ret, idx;

	file = fget(a->fd);
	if (!file)
		return -EBADF;
	mode = file_inode(file)->i_mode;
	if (S_ISDIR(mode)) {
		ret = -EISDIR;
		goto out_fput;
	}
	if (!S_ISREG(mode) || !file->f_op->read_iter) {
		ret = -EINVAL;
		goto out_fput;
	}
	if (!(file->f_mode & FMODE_READ) ||
	    (rw && (!(file->f_mode & FMODE_WRITE) || !file->f_op->write_iter))) {
		ret = -EBADF;
		goto out_fput;
	}
	if ((a->flags & QED_ATTACH_DIRECT_IO) && !(file->f_mode & FMODE_CAN_ODIRECT)) {
		ret = -EINVAL;
		goto out_fput;
	}

	qed = kzalloc(sizeof(*qed), GFP_KERNEL);
	if (!qed) {
		ret = -ENOMEM;
		goto out_fput;
	}
	qed->file = file;
	qed->flags = a->flags & ~QED_ATTACH_WANT_INDEX;
	strscpy(qed->path, a->path, sizeof(qed->path));
	mutex_init(&qed->alloc_lock);
	INIT_DELAYED_WORK(&qed->clean_work, qed_clean_work);
	INIT_WORK(&qed->detach_work, qed_detach_workfn);
	qed_l2cache_setup(&qed->l2, qed_l2_cache_chunks);

	ret = qed_open_image(qed, rw);
	if (ret)
		goto out_free;

	mutex_lock(&qed_ctl_mutex);
	if (a->flags & QED_ATTACH_WANT_INDEX) {
		if (a->index >= QED_MAX_DEVICES) {
			ret = -EINVAL;
			goto out_unlock;
		}
		idx = idr_alloc(&qed_index_idr, qed, a->index, a->index + 1, GFP_KERNEL);
		if (idx == -ENOSPC)
			idx = -EEXIST;
	} else {
		idx = idr_alloc(&qed_index_idr, qed, 0, QED_MAX_DEVICES, GFP_KERNEL);
	}
	if (idx < 0) {
		ret = idx;
		goto out_unlock;
	}
	qed->index = idx;

	qed->wq = alloc_workqueue("qed%d", WQ_MEM_RECLAIM | WQ_UNBOUND, 0, idx);
	if (!qed->wq) {
		ret = -ENOMEM;
		goto out_idr;
	}
	ret = qed_add_disk(qed);
	if (ret)
		goto out_idr;
	WRITE_ONCE(qed->added, true);
	/* An attached device pins the module: rmmod is refused until detach. */
	__module_get(THIS_MODULE);
	a->index = idx;
	mutex_unlock(&qed_ctl_mutex);
	return 0;

out_idr:
	idr_remove(&qed_index_idr, idx);
out_unlock:
	mutex_unlock(&qed_ctl_mutex);
out_free:
	qed_release_image(qed);
	kfree(qed);
	return ret;
out_fput:
	fput(file);
	return ret;
}

/* ---- detach ---- */

/* Called with qed_ctl_mutex held and nobody holding the device open. */
static void qed_remove(struct qed_device *qed)
{
	struct gendisk *disk = qed->disk;
	int ret;

	idr_remove(&qed_index_idr, qed->index);
	del_gendisk(disk);

	/* No request is in flight any more: leave the image clean. */
	cancel_delayed_work_sync(&qed->clean_work);
	mutex_lock(&qed->alloc_lock);
	ret = qed_mark_clean(qed);
	if (!ret && !(qed->flags & QED_ATTACH_READ_ONLY))
		ret = qed_file_flush(qed);
	mutex_unlock(&qed->alloc_lock);
	if (ret)
		pr_err("qed%d: %s: final flush failed (%d); the image stays marked for a check\n",
		       qed->index, qed->path, ret);

	blk_mq_free_tag_set(&qed->tag_set);
	qed_release_image(qed);
	qed->file = NULL;
	qed->wq = NULL;
	put_disk(disk);		/* frees qed through qed_free_disk() */
	/*
	 * Taken at attach.  From the detach work this may be the last
	 * reference: qed_exit() destroys qed_ctl_wq, which waits for the work
	 * to return before the module goes.
	 */
	module_put(THIS_MODULE);
}

static void qed_detach_workfn(struct work_struct *work)
{
	struct qed_device *qed = container_of(work, struct qed_device, detach_work);
	struct gendisk *disk = qed->disk;

	mutex_lock(&qed_ctl_mutex);
	if (!qed->detaching && disk_openers(disk) == 0) {
		qed->detaching = true;
		qed_remove(qed);
	}
	mutex_unlock(&qed_ctl_mutex);
	put_device(disk_to_dev(disk));	/* taken by qed_release() */
}

int qed_detach(u32 index, u32 flags)
{
	struct qed_device *qed;
	int ret = 0;

	mutex_lock(&qed_ctl_mutex);
	qed = idr_find(&qed_index_idr, index);
	if (!qed || qed->detaching) {
		ret = -ENXIO;
	} else if (disk_openers(qed->disk) > 0) {
		if (flags & QED_DETACH_DEFERRED) {
			WRITE_ONCE(qed->used, true);
			WRITE_ONCE(qed->flags, qed->flags | QED_ATTACH_AUTOCLEAR);
		} else {
			ret = -EBUSY;
		}
	} else {
		qed->detaching = true;
		qed_remove(qed);
	}
	mutex_unlock(&qed_ctl_mutex);
	return ret;
}

/* Module exit: attached devices pin the module, so none is left. */
void qed_dev_exit(void)
{
	idr_destroy(&qed_index_idr);
}

int qed_get_info(struct qed_info *info)
{
	struct qed_device *qed;
	int ret = 0;

	mutex_lock(&qed_ctl_mutex);
	qed = idr_find(&qed_index_idr, info->index);
	if (!qed || qed->detaching) {
		ret = -ENXIO;
		goto out;
	}
	mutex_lock(&qed->alloc_lock);
	info->cluster_size = qed->geom.cluster_size;
	info->table_size = qed->geom.table_size;
	info->header_size = qed->geom.header_size;
	info->image_size = qed->geom.image_size;
	info->features = qed->geom.features;
	info->compat_features = qed->geom.compat_features;
	info->autoclear_features = qed->geom.autoclear_features;
	info->file_size = qed->file_end;
	info->dev_flags = 0;
	if (qed->flags & QED_ATTACH_READ_ONLY)
		info->dev_flags |= QED_INFO_READ_ONLY;
	if (qed->flags & QED_ATTACH_AUTOCLEAR)
		info->dev_flags |= QED_INFO_AUTOCLEAR;
	if (qed->flags & QED_ATTACH_DIRECT_IO)
		info->dev_flags |= QED_INFO_DIRECT_IO;
	if (qed->need_check_on_disk)
		info->dev_flags |= QED_INFO_DIRTY;
	mutex_unlock(&qed->alloc_lock);
	info->nr_backing = 0;
	strscpy(info->path, qed->path, sizeof(info->path));
out:
	mutex_unlock(&qed_ctl_mutex);
	return ret;
}

int qed_list(u32 *indices, u32 room, u32 *count)
{
	struct qed_device *qed;
	u32 n = 0;
	int id;

	mutex_lock(&qed_ctl_mutex);
	idr_for_each_entry(&qed_index_idr, qed, id) {
		if (qed->detaching)
			continue;
		if (n < room)
			indices[n] = id;
		n++;
	}
	mutex_unlock(&qed_ctl_mutex);
	*count = n;
	return 0;
}
