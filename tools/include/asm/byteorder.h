/* SPDX-License-Identifier: GPL-2.0 */
#ifndef QED_TOOLS_ASM_BYTEORDER_H
#define QED_TOOLS_ASM_BYTEORDER_H

/* __le32_to_cpu() and the rest, for the host's byte order. */
#include_next <asm/byteorder.h>

#define le32_to_cpu(x)	__le32_to_cpu(x)
#define le64_to_cpu(x)	__le64_to_cpu(x)
#define cpu_to_le32(x)	__cpu_to_le32(x)
#define cpu_to_le64(x)	__cpu_to_le64(x)

#endif /* QED_TOOLS_ASM_BYTEORDER_H */
