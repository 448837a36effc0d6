// SPDX-License-Identifier: GPL-2.0
/*
 * Messages about a device and the files of its chain.  At the bottom of
 * the driver, with qed_file.c: every layer reports through it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/printk.h>

#include "qed.h"

/* The device's prefix, at a level chosen at run time. */
static __printf(3, 4) void qedblk_emit(int level, const struct qedblk_device *qed,
				       const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	switch (level) {
	case LOGLEVEL_ERR:
		pr_err("qed%d: %s: %pV\n", qed->index, qed->path, &vaf);
		break;
	case LOGLEVEL_WARNING:
		pr_warn("qed%d: %s: %pV\n", qed->index, qed->path, &vaf);
		break;
	default:
		pr_info("qed%d: %s: %pV\n", qed->index, qed->path, &vaf);
		break;
	}
	va_end(args);
}

/**
 * qedblk_printk() - print a message about one file of a device's chain
 * @level: LOGLEVEL_ERR, LOGLEVEL_WARNING or LOGLEVEL_INFO
 * @img: the file it is about: the device's image, or one below it
 * @fmt: printf-style format, without a newline
 *
 * Use it through qedblk_err() and its siblings (qed.h).
 */
void qedblk_printk(int level, const struct qedblk_image *img, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	if (img->depth)
		qedblk_emit(level, img->qed, "backing file %u (%pD): %pV", img->depth,
			    img->file, &vaf);
	else if (img != &img->qed->top)	/* a snapshot's overlay, not yet the image */
		qedblk_emit(level, img->qed, "overlay (%pD): %pV", img->file, &vaf);
	else
		qedblk_emit(level, img->qed, "%pV", &vaf);
	va_end(args);
}
