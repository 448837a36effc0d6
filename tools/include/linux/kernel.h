/* SPDX-License-Identifier: GPL-2.0 */
#ifndef QED_TOOLS_LINUX_KERNEL_H
#define QED_TOOLS_LINUX_KERNEL_H

#include_next <linux/kernel.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#endif /* QED_TOOLS_LINUX_KERNEL_H */
