/* SPDX-License-Identifier: GPL-2.0 */
#ifndef QED_TOOLS_LINUX_TYPES_H
#define QED_TOOLS_LINUX_TYPES_H

/* __u32, __le32 and the rest, as userspace sees them. */
#include_next <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#endif /* QED_TOOLS_LINUX_TYPES_H */
