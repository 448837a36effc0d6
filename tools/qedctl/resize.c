// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl resize of an image file, as qemu-img resize: grow only (QED
 * cannot shrink), under QEMU's write lock.  The order is the module's
 * (qedblk_grow()): the L1 entries the new size brings into the image are
 * zeroed and synced before the header with the new size is written, so
 * whatever the file held there never becomes a table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qedctl.h"

/* @size_arg as qemu-img resize reads it: SIZE, +SIZE or -SIZE. */
static uint64_t resize_target(const char *path, const char *size_arg, uint64_t old,
			      bool shrink)
{
	int sign = size_arg[0] == '+' ? 1 : size_arg[0] == '-' ? -1 : 0;
	uint64_t size;

	if (parse_size(size_arg + !!sign, &size))
		die("%s: invalid size '%s'", path, size_arg);
	if (sign > 0 && size > UINT64_MAX - old)
		die("%s: Invalid image size specified", path);
	if (sign)
		size = sign > 0 ? old + size : size > old ? 0 : old - size;
	if (size < old)
		die(shrink ? "%s: Shrinking images is currently not supported"
		    " (QED tables cannot be cut back)" :
		    "%s: Use the --shrink option to perform a shrink operation.", path);
	return size;
}

int image_grow(int fd, struct qedblk_geom *geom, uint64_t size, const char **what)
{
	unsigned char hdr[QED_HEADER_BYTES];
	struct qedblk_geom g = *geom;
	uint64_t from, to;
	void *zeros;
	int ret = 0;

	g.image_size = size;
	qedblk_geom_derive(&g);
	from = geom->l1_entries_used * 8;
	to = g.l1_entries_used * 8;
	if (to > from) {
		*what = "zeroing the new L1 entries";
		/* At most one table: 64 MiB * 16, but usually 256 KiB. */
		zeros = calloc(1, to - from);
		if (!zeros)
			return -ENOMEM;
		ret = pwrite_full(fd, zeros, to - from, g.l1_table_offset + from);
		free(zeros);
		if (!ret && fsync(fd) < 0)
			ret = -errno;
		if (ret)
			return ret;
	}
	*what = "writing the header";
	qedblk_header_encode(&g, hdr);
	ret = pwrite_full(fd, hdr, sizeof(hdr), 0);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (!ret)
		*geom = g;
	return ret;
}

int image_resize(const char *path, const char *size_arg, bool shrink)
{
	struct image img;
	const char *why, *what;
	uint64_t size;
	int ret;

	if (image_open_locked(path, &img, &why, IMAGE_WRITE))
		die("%s: %s", path, why);
	size = resize_target(path, size_arg, img.geom.image_size, shrink);
	if (size % 512 || size > qedblk_max_image_size(img.geom.cluster_size, img.geom.table_size))
		die("%s: Invalid image size specified (a multiple of 512 up to %llu bytes"
		    " for this geometry)", path,
		    (unsigned long long)qedblk_max_image_size(img.geom.cluster_size,
							   img.geom.table_size));
	ret = image_grow(img.fd, &img.geom, size, &what);
	if (ret)
		die("%s: %s failed: %s", path, what, strerror(-ret));
	image_close(&img);
	printf("Image resized.\n");
	return 0;
}
