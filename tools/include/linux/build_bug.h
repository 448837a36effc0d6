/* SPDX-License-Identifier: GPL-2.0 */
#ifndef QED_TOOLS_LINUX_BUILD_BUG_H
#define QED_TOOLS_LINUX_BUILD_BUG_H

/* static_assert(), which the kernel has here and C11 in assert.h. */
#include <assert.h>

#endif /* QED_TOOLS_LINUX_BUILD_BUG_H */
