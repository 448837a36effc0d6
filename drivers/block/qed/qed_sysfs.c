// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/block/qedN/qed/: one value per file, as loop's /sys/block/loopN/loop/
 * (Documentation/qed.rst, "sysfs").  Every value is read without the
 * device's sleeping locks, so that reading it never waits on a stuck image
 * file; the files and names a snapshot changes under files_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/sysfs.h>

#include "qed.h"

static struct qedblk_device *dev_to_qed(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

/* @img's path as the kernel sees it, as loop's backing_file; "" without one. */
static int qedblk_image_path(const struct qedblk_image *img, char *buf, int size, const char **path)
{
	char *p;

	*path = "";
	if (!img)
		return 0;
	p = file_path(img->file, buf, size);
	if (IS_ERR(p))
		return PTR_ERR(p);
	*path = p;
	return 0;
}

/* @img, found under files_lock by @pick, as its path. */
static ssize_t qedblk_show_path(struct qedblk_device *qed,
				const struct qedblk_image *(*pick)(const struct qedblk_device *),
				char *buf)
{
	const char *path;
	char *tmp;
	int ret;

	tmp = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	spin_lock(&qed->files_lock);
	ret = qedblk_image_path(pick(qed), tmp, PATH_MAX, &path);
	if (!ret)
		ret = sysfs_emit(buf, "%s\n", path);
	spin_unlock(&qed->files_lock);
	kfree(tmp);
	return ret;
}

static const struct qedblk_image *qedblk_pick_top(const struct qedblk_device *qed)
{
	return &qed->top;
}

static const struct qedblk_image *qedblk_pick_base(const struct qedblk_device *qed)
{
	return qed->top.backing;
}

/*
 * The attached image, from the open file as loop_attr_backing_file_show():
 * it follows renames and is never cut at QEDBLK_NAME_SIZE.
 */
static ssize_t backing_file_show(struct device *dev, struct device_attribute *attr,
				 char *buf)
{
	return qedblk_show_path(dev_to_qed(dev), qedblk_pick_top, buf);
}
static DEVICE_ATTR_RO(backing_file);

/*
 * Where the attached image lives, for udev's by-qed-inode link; empty if
 * the attach could not stat it, so that no two devices claim one link.
 */
static ssize_t backing_dev_show(struct device *dev, struct device_attribute *attr,
				char *buf)
{
	struct qedblk_device *qed = dev_to_qed(dev);
	u64 ino, encoded;
	dev_t d;

	spin_lock(&qed->files_lock);
	ino = qed->image_ino;
	encoded = qed->image_dev;
	spin_unlock(&qed->files_lock);
	d = huge_decode_dev(encoded);
	if (!ino)
		return sysfs_emit(buf, "\n");
	return sysfs_emit(buf, "%u:%u\n", MAJOR(d), MINOR(d));
}
static DEVICE_ATTR_RO(backing_dev);

static ssize_t backing_inode_show(struct device *dev, struct device_attribute *attr,
				  char *buf)
{
	struct qedblk_device *qed = dev_to_qed(dev);
	u64 ino;

	spin_lock(&qed->files_lock);
	ino = qed->image_ino;
	spin_unlock(&qed->files_lock);
	if (!ino)
		return sysfs_emit(buf, "\n");
	return sysfs_emit(buf, "%llu\n", ino);
}
static DEVICE_ATTR_RO(backing_inode);

/* The image's own backing file; "" without one. */
static ssize_t base_file_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return qedblk_show_path(dev_to_qed(dev), qedblk_pick_base, buf);
}
static DEVICE_ATTR_RO(base_file);

/* The whole chain below the image, nearest first: "FORMAT PATH" a line. */
static ssize_t base_chain_show(struct device *dev, struct device_attribute *attr,
			       char *buf)
{
	struct qedblk_device *qed = dev_to_qed(dev);
	const struct qedblk_image *img;
	const char *path;
	int ret = 0, len = 0;
	char *tmp;

	tmp = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	spin_lock(&qed->files_lock);
	for (img = qed->top.backing; img; img = img->backing) {
		ret = qedblk_image_path(img, tmp, PATH_MAX, &path);
		if (ret)
			break;
		len += sysfs_emit_at(buf, len, "%s %s\n",
				     img->format == QED_FMT_QED ? "qed" : "raw", path);
	}
	spin_unlock(&qed->files_lock);
	kfree(tmp);
	return ret ? ret : len;
}
static DEVICE_ATTR_RO(base_chain);

static ssize_t cluster_size_show(struct device *dev, struct device_attribute *attr,
				 char *buf)
{
	return sysfs_emit(buf, "%u\n", dev_to_qed(dev)->top.geom.cluster_size);
}
static DEVICE_ATTR_RO(cluster_size);

static ssize_t table_size_show(struct device *dev, struct device_attribute *attr,
			       char *buf)
{
	return sysfs_emit(buf, "%u\n", dev_to_qed(dev)->top.geom.table_size);
}
static DEVICE_ATTR_RO(table_size);

/* One QEDBLK_ATTACH_* flag as 0 or 1, as loop's autoclear, partscan and dio. */
#define QED_FLAG_ATTR(name, flag, set)						\
static ssize_t name##_show(struct device *dev, struct device_attribute *attr,	\
			   char *buf)						\
{										\
	bool on = READ_ONCE(dev_to_qed(dev)->flags) & (flag);			\
										\
	return sysfs_emit(buf, "%d\n", on == (set));				\
}										\
static DEVICE_ATTR_RO(name)

QED_FLAG_ATTR(autoclear, QEDBLK_ATTACH_AUTOCLEAR, true);
QED_FLAG_ATTR(dio, QEDBLK_ATTACH_DIRECT_IO, true);
QED_FLAG_ATTR(read_only, QEDBLK_ATTACH_READ_ONLY, true);
QED_FLAG_ATTR(partscan, QEDBLK_ATTACH_NO_PARTSCAN, false);
QED_FLAG_ATTR(copy_on_read, QEDBLK_ATTACH_COPY_ON_READ, true);

/*
 * NEED_CHECK is set on disk: the image needs a check if the host dies now.
 * Read without alloc_lock, which metadata I/O holds: reading sysfs must not
 * hang on a stuck image file.
 */
static ssize_t dirty_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(dev_to_qed(dev)->need_check_on_disk));
}
static DEVICE_ATTR_RO(dirty);

/*
 * The attached image's L2 cache, one number a file as sysfs wants.  The
 * files that count chunks keep the names they were given, cache_pages and
 * cache_max_pages.
 */
#define QED_CACHE_ATTR(name, expr)						\
static ssize_t cache_##name##_show(struct device *dev,			\
				   struct device_attribute *attr, char *buf)	\
{										\
	struct qedblk_l2cache *c = &dev_to_qed(dev)->top.l2;			\
										\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)(expr));		\
}										\
static DEVICE_ATTR_RO(cache_##name)

QED_CACHE_ATTR(pages, READ_ONCE(c->count));
QED_CACHE_ATTR(max_pages, c->max);
QED_CACHE_ATTR(hits, atomic64_read(&c->hits));
QED_CACHE_ATTR(misses, atomic64_read(&c->misses));
QED_CACHE_ATTR(evictions, atomic64_read(&c->evictions));
/* What the cache holds in memory now: its footprint, as slab counts it. */
QED_CACHE_ATTR(bytes, (u64)READ_ONCE(c->count) *
	       (sizeof(struct qedblk_l2_chunk) + QED_CHUNK_BYTES));

/*
 * Reads and writes that qedblk_queue_rq() started in the submitter's
 * context (direct I/O only), rather than hand to a worker.
 */
static ssize_t inline_requests_show(struct device *dev, struct device_attribute *attr,
				    char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (unsigned long long)atomic64_read(&dev_to_qed(dev)->inline_requests));
}
static DEVICE_ATTR_RO(inline_requests);

static ssize_t copied_clusters_show(struct device *dev, struct device_attribute *attr,
				    char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (unsigned long long)atomic64_read(&dev_to_qed(dev)->copied_clusters));
}
static DEVICE_ATTR_RO(copied_clusters);

static struct attribute *qedblk_attrs[] = {
	&dev_attr_backing_file.attr,
	&dev_attr_backing_dev.attr,
	&dev_attr_backing_inode.attr,
	&dev_attr_base_file.attr,
	&dev_attr_base_chain.attr,
	&dev_attr_cluster_size.attr,
	&dev_attr_table_size.attr,
	&dev_attr_autoclear.attr,
	&dev_attr_dio.attr,
	&dev_attr_read_only.attr,
	&dev_attr_partscan.attr,
	&dev_attr_dirty.attr,
	&dev_attr_cache_pages.attr,
	&dev_attr_cache_max_pages.attr,
	&dev_attr_cache_hits.attr,
	&dev_attr_cache_misses.attr,
	&dev_attr_cache_evictions.attr,
	&dev_attr_cache_bytes.attr,
	&dev_attr_inline_requests.attr,
	&dev_attr_copy_on_read.attr,
	&dev_attr_copied_clusters.attr,
	NULL,
};

static const struct attribute_group qedblk_attr_group = {
	.name	= "qed",
	.attrs	= qedblk_attrs,
};

const struct attribute_group *qedblk_attr_groups[] = {
	&qedblk_attr_group,
	NULL,
};
