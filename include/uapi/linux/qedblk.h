/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * qedblk: QED images as block devices.  The ioctl ABI of /dev/qed-control.
 *
 * How it grows, the promise to binaries built against any version of this
 * header:
 *
 * - A request is known by _IOC_TYPE() (QEDBLK_CTL_MAGIC) and _IOC_NR()
 *   alone.  The size and direction that _IOC() encodes in the command are
 *   not looked at, so that a binary built against an older or a newer
 *   header, whose command numbers differ there, is served all the same.
 * - Every argument struct starts with __u32 size, which the caller sets to
 *   sizeof() as its header has it: that field, and nothing else, tells the
 *   kernel which version of the struct it is handed.  Any size from the
 *   struct's first version (its QEDBLK_*_SIZE_VER0) up to a page is taken,
 *   as copy_struct_from_user() takes clone3()'s and openat2()'s: the
 *   fields a shorter struct lacks read as zero, and the bytes of a longer
 *   one that the kernel does not know must be zero.
 * - A size below VER0 or above a page, and a non-zero byte past the
 *   kernel's struct, are refused with EINVAL, not E2BIG as by clone3():
 *   such a byte is to the kernel a reserved field it does not know, and
 *   reserved fields and unknown flag bits, which must be zero too, have
 *   always been refused with EINVAL; every kernel so far has answered so.
 * - A request that answers copies back min(size, the kernel's sizeof())
 *   bytes, never more than the caller's size, and sets size to that: a
 *   field from there on was not filled in.
 * - A new field is carved out of reserved[] or added at the end, and zero
 *   means what the kernel did before it; a new flag bit likewise.  So far
 *   every new field came out of reserved[] (qedblk_attach.block_size,
 *   qedblk_info.block_size, image_dev and image_ino): no struct has grown,
 *   and each VER0 is its sizeof() since the first release.  A struct that
 *   grows keeps its VER0, and its header gains a _VER1.
 */
#ifndef _UAPI_LINUX_QEDBLK_H
#define _UAPI_LINUX_QEDBLK_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define QEDBLK_CTL_DEVICE		"/dev/qed-control"
#define QEDBLK_NAME_SIZE		256	/* image path kept for display */
#define QEDBLK_MAX_CHAIN		16	/* backing files below one image */

/* struct qedblk_attach.flags */
#define QEDBLK_ATTACH_READ_ONLY	(1U << 0)	/* the device is read-only */
#define QEDBLK_ATTACH_AUTOCLEAR	(1U << 1)	/* detach at last close */
#define QEDBLK_ATTACH_WANT_INDEX	(1U << 2)	/* use .index, EEXIST if taken */
#define QEDBLK_ATTACH_DIRECT_IO	(1U << 3)	/* O_DIRECT I/O on the image */
#define QEDBLK_ATTACH_NO_PARTSCAN	(1U << 4)	/* no partitions, as loop without -P */
/* Clusters read from the backing chain are copied into the image (not READ_ONLY). */
#define QEDBLK_ATTACH_COPY_ON_READ	(1U << 5)
#define QEDBLK_ATTACH_FLAGS_ALL	(QEDBLK_ATTACH_READ_ONLY | QEDBLK_ATTACH_AUTOCLEAR | \
				 QEDBLK_ATTACH_WANT_INDEX | QEDBLK_ATTACH_DIRECT_IO | \
				 QEDBLK_ATTACH_NO_PARTSCAN | QEDBLK_ATTACH_COPY_ON_READ)

/**
 * struct qedblk_attach - attach an image as /dev/qedN
 * @size:	sizeof(struct qedblk_attach)
 * @flags:	QEDBLK_ATTACH_*
 * @fd:		open file descriptor of the image; writable unless READ_ONLY
 * @index:	in: the wanted N with QEDBLK_ATTACH_WANT_INDEX; out: N
 * @nr_backing:	number of descriptors in @backing_fds (0 without backing)
 * @block_size:	logical block size of the device: 512, 1024, 2048 or
 *		4096, as losetup --sector-size; the image size must be a
 *		multiple of it.  0: 512, or with DIRECT_IO the file system's
 *		direct I/O size (a smaller one with DIRECT_IO is refused)
 * @backing_fds: user pointer to __s32[@nr_backing], the backing chain,
 *		nearest first, opened read-only by the caller
 * @path:	the image path as the caller named it, NUL-terminated; only
 *		shown back by QEDBLK_CTL_INFO and sysfs, never opened
 * @reserved:	must be zero
 */
struct qedblk_attach {
	__u32 size;
	__u32 flags;
	__s32 fd;
	__u32 index;
	__u32 nr_backing;
	__u32 block_size;
	__u64 backing_fds;
	char path[QEDBLK_NAME_SIZE];
	__u64 reserved[8];
};

/* struct qedblk_detach.flags */
#define QEDBLK_DETACH_DEFERRED	(1U << 0)	/* if busy, detach at last close */
#define QEDBLK_DETACH_FLAGS_ALL	QEDBLK_DETACH_DEFERRED

/**
 * struct qedblk_detach - detach /dev/qedN
 * @size:	sizeof(struct qedblk_detach)
 * @flags:	QEDBLK_DETACH_*
 * @index:	N
 * @reserved:	must be zero
 */
struct qedblk_detach {
	__u32 size;
	__u32 flags;
	__u32 index;
	__u32 reserved[5];
};

/* struct qedblk_info.dev_flags */
#define QEDBLK_INFO_READ_ONLY	(1U << 0)
#define QEDBLK_INFO_AUTOCLEAR	(1U << 1)
#define QEDBLK_INFO_DIRECT_IO	(1U << 2)
#define QEDBLK_INFO_DIRTY		(1U << 3)	/* NEED_CHECK is set on disk */
#define QEDBLK_INFO_NO_PARTSCAN	(1U << 4)	/* attached with NO_PARTSCAN */
#define QEDBLK_INFO_COPY_ON_READ	(1U << 5)	/* attached with COPY_ON_READ */
#define QEDBLK_INFO_FLAGS_ALL	(QEDBLK_INFO_READ_ONLY | QEDBLK_INFO_AUTOCLEAR | \
				 QEDBLK_INFO_DIRECT_IO | QEDBLK_INFO_DIRTY | \
				 QEDBLK_INFO_NO_PARTSCAN | QEDBLK_INFO_COPY_ON_READ)

/* struct qedblk_info.features: the QED header's feature bits, as on disk */
#define QEDBLK_F_BACKING_FILE		(1ULL << 0)	/* a backing file is named */
#define QEDBLK_F_NEED_CHECK		(1ULL << 1)	/* not closed cleanly */
#define QEDBLK_F_BACKING_FORMAT_NO_PROBE	(1ULL << 2)	/* the backing file is raw */

/**
 * struct qedblk_info - what an attached device is made of
 * @size:	sizeof(struct qedblk_info)
 * @index:	in: N
 * @dev_flags:	out: QEDBLK_INFO_*
 * @cluster_size: out: bytes per cluster
 * @table_size:	out: clusters per table
 * @header_size: out: clusters in the header
 * @image_size:	out: guest-visible bytes
 * @features:	out: the header's feature bits as on disk, QEDBLK_F_*
 * @compat_features: out
 * @autoclear_features: out
 * @file_size:	out: bytes in use in the image file (allocation end)
 * @nr_backing:	out: backing files below the image
 * @block_size:	out: logical block size of the device (0 from kernels
 *		before it was reported: 512)
 * @path:	out: the path given at attach
 * @image_dev:	out: the image file's device as stat(2) gives it, as
 *		loop_info64.lo_device (huge_encode_dev(): major() and minor()
 *		decode it); 0 if unknown
 * @image_ino:	out: the image file's inode number; 0 if unknown
 * @reserved:	zero
 */
struct qedblk_info {
	__u32 size;
	__u32 index;
	__u32 dev_flags;
	__u32 cluster_size;
	__u32 table_size;
	__u32 header_size;
	__u64 image_size;
	__u64 features;
	__u64 compat_features;
	__u64 autoclear_features;
	__u64 file_size;
	__u32 nr_backing;
	__u32 block_size;
	char path[QEDBLK_NAME_SIZE];
	__u64 image_dev;
	__u64 image_ino;
	__u64 reserved[6];
};

/**
 * struct qedblk_list - the indices of attached devices
 * @size:	sizeof(struct qedblk_list)
 * @count:	in: room in @indices; out: devices attached (may exceed room)
 * @indices:	user pointer to __u32[@count]
 * @reserved:	must be zero
 */
struct qedblk_list {
	__u32 size;
	__u32 count;
	__u64 indices;
	__u64 reserved[2];
};

/**
 * struct qedblk_resize - grow an attached image
 * @size:	sizeof(struct qedblk_resize)
 * @index:	N
 * @new_size:	the new guest-visible size in bytes, a multiple of 512 and
 *		not below the current size (shrinking is refused: EINVAL)
 * @reserved:	must be zero
 */
struct qedblk_resize {
	__u32 size;
	__u32 index;
	__u64 new_size;
	__u64 reserved[4];
};

/* struct qedblk_set.mask: the QEDBLK_ATTACH_* flags that can change while attached */
#define QEDBLK_SET_FLAGS_ALL	QEDBLK_ATTACH_DIRECT_IO

/**
 * struct qedblk_set - change an attached device, as LOOP_SET_DIRECT_IO
 * @size:	sizeof(struct qedblk_set)
 * @index:	N
 * @mask:	the QEDBLK_ATTACH_* flags to change, within QEDBLK_SET_FLAGS_ALL
 * @flags:	their new values
 * @reserved:	must be zero
 */
struct qedblk_set {
	__u32 size;
	__u32 index;
	__u32 mask;
	__u32 flags;
	__u64 reserved[4];
};

/**
 * struct qedblk_features - what the loaded driver supports, as ublk's
 *	UBLK_U_CMD_GET_FEATURES: for a tool to ask before it relies on a
 *	flag, rather than read EINVAL afterwards
 * @size:	sizeof(struct qedblk_features); every other field is out
 *		only and must be zero on the way in
 * @attach_flags: out: the QEDBLK_ATTACH_* flags QEDBLK_CTL_ATTACH takes
 * @detach_flags: out: the QEDBLK_DETACH_* flags QEDBLK_CTL_DETACH takes
 * @set_flags:	out: the QEDBLK_ATTACH_* flags QEDBLK_CTL_SET can change
 * @info_flags:	out: the QEDBLK_INFO_* flags QEDBLK_CTL_INFO may report
 * @max_chain:	out: backing files one image may have below it
 * @ioctls:	out: bit n set for each request served whose _IOC_NR() is n
 * @image_features: out: the QEDBLK_F_* bits an image may have; one with
 *		any other is refused (EOPNOTSUPP)
 * @image_compat_features: out: the compatible feature bits the driver
 *		knows (others are left as they are)
 * @image_autoclear_features: out: the autoclear feature bits the driver
 *		knows (others are cleared by a read-write attach)
 * @snapshot_flags: out: the QEDBLK_SNAPSHOT_* flags QEDBLK_CTL_SNAPSHOT
 *		takes (none yet; 0 also from a module before it)
 * @reserved0:	out: zero
 * @reserved:	out: zero
 */
struct qedblk_features {
	__u32 size;
	__u32 attach_flags;
	__u32 detach_flags;
	__u32 set_flags;
	__u32 info_flags;
	__u32 max_chain;
	__u64 ioctls;
	__u64 image_features;
	__u64 image_compat_features;
	__u64 image_autoclear_features;
	__u32 snapshot_flags;
	__u32 reserved0;
	__u64 reserved[7];
};

/* struct qedblk_snapshot.flags: none yet */
#define QEDBLK_SNAPSHOT_FLAGS_ALL	0U

/**
 * struct qedblk_snapshot - switch an attached device to a new overlay, live
 * @size:	sizeof(struct qedblk_snapshot)
 * @index:	N
 * @flags:	QEDBLK_SNAPSHOT_*, none yet: must be zero
 * @fd:		the overlay, open read-write: an empty QED image of the
 *		device's size whose header names a QED backing file
 * @backing_fd:	that backing file, resolved and opened read-only by the
 *		caller; it must be the device's image
 * @path:	the overlay's path as the caller named it, NUL-terminated;
 *		only shown back by QEDBLK_CTL_INFO and sysfs, never opened
 * @reserved:	must be zero
 *
 * The queue is drained and the image flushed and marked clean;
 * then the overlay becomes the device's image and the old image its
 * backing file 1, opened read-only from then on with a reader's locks.
 * The kernel checks that @backing_fd is the device's image, not that the
 * name in the overlay's header leads to it: that is the caller's part.
 */
struct qedblk_snapshot {
	__u32 size;
	__u32 index;
	__u32 flags;
	__s32 fd;
	__s32 backing_fd;
	__u32 reserved0;
	char path[QEDBLK_NAME_SIZE];
	__u64 reserved[8];
};

/*
 * Each struct's first version, the smallest size taken: as in 0.9.0, the
 * first release, but qedblk_features, new after 0.10.0, and
 * qedblk_snapshot, new after 0.14.0.
 */
#define QEDBLK_ATTACH_SIZE_VER0		352
#define QEDBLK_DETACH_SIZE_VER0		32
#define QEDBLK_INFO_SIZE_VER0		392
#define QEDBLK_LIST_SIZE_VER0		32
#define QEDBLK_RESIZE_SIZE_VER0		48
#define QEDBLK_SET_SIZE_VER0		48
#define QEDBLK_FEATURES_SIZE_VER0	120
#define QEDBLK_SNAPSHOT_SIZE_VER0	344

/*
 * 0xED is free in Documentation/userspace-api/ioctl/ioctl-number.rst (as
 * of Linux 7.3: 0xEC is cros_ec, 0xEE pfrut); numbers 0x00-0x3F are ours.
 */
#define QEDBLK_CTL_MAGIC		0xED
#define QEDBLK_CTL_ATTACH		_IOWR(QEDBLK_CTL_MAGIC, 0x00, struct qedblk_attach)
#define QEDBLK_CTL_DETACH		_IOW(QEDBLK_CTL_MAGIC, 0x01, struct qedblk_detach)
#define QEDBLK_CTL_INFO		_IOWR(QEDBLK_CTL_MAGIC, 0x02, struct qedblk_info)
#define QEDBLK_CTL_LIST		_IOWR(QEDBLK_CTL_MAGIC, 0x03, struct qedblk_list)
#define QEDBLK_CTL_RESIZE		_IOW(QEDBLK_CTL_MAGIC, 0x04, struct qedblk_resize)
#define QEDBLK_CTL_SET		_IOW(QEDBLK_CTL_MAGIC, 0x05, struct qedblk_set)
#define QEDBLK_CTL_GET_FEATURES	_IOWR(QEDBLK_CTL_MAGIC, 0x06, struct qedblk_features)
#define QEDBLK_CTL_SNAPSHOT		_IOW(QEDBLK_CTL_MAGIC, 0x07, struct qedblk_snapshot)

#endif /* _UAPI_LINUX_QEDBLK_H */
