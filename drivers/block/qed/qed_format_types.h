/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few types and helpers qed_format.c needs, from the kernel or from
 * libc, so that the same format code builds on both sides.
 */
#ifndef QED_FORMAT_TYPES_H
#define QED_FORMAT_TYPES_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/kernel.h>
#include <linux/types.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <asm/byteorder.h>

typedef __le32 qedblk_le32;
typedef __le64 qedblk_le64;
#define qedblk_le32_to_cpu(x)	le32_to_cpu(x)
#define qedblk_le64_to_cpu(x)	le64_to_cpu(x)
#define qedblk_cpu_to_le32(x)	cpu_to_le32(x)
#define qedblk_cpu_to_le64(x)	cpu_to_le64(x)
#else
#include <assert.h>
#include <linux/types.h>
#include <string.h>
#include <errno.h>
#include <endian.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __u32 qedblk_le32;
typedef __u64 qedblk_le64;
#define qedblk_le32_to_cpu(x)	le32toh(x)
#define qedblk_le64_to_cpu(x)	le64toh(x)
#define qedblk_cpu_to_le32(x)	htole32(x)
#define qedblk_cpu_to_le64(x)	htole64(x)
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#endif /* QED_FORMAT_TYPES_H */
