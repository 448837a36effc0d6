// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the header of an image is attacker-controlled.  Decode
 * it against a file size taken from the input, extract the backing name,
 * probe the format, translate addresses; whatever decodes must encode back
 * to the same header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qed_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qedblk_geom g, again;
	unsigned char hdr[QED_HEADER_BYTES];
	char name[QED_MAX_BACKING_NAME + 1];
	const char *other;
	uint64_t file_size, pos;

	qedblk_probe_format(data, size, &other);
	if (size < 8 + QED_HEADER_BYTES)
		return 0;
	memcpy(&file_size, data, 8);
	data += 8;
	size -= 8;
	if (qedblk_header_decode(data, size, file_size, &g) != QED_HDR_OK)
		return 0;
	qedblk_backing_name(&g, data, size, name, sizeof(name));

	/* Every derived quantity stays in range. */
	if (g.l1_entries_used > g.table_entries)
		abort();
	if (g.image_size > qedblk_max_image_size(g.cluster_size, g.table_size))
		abort();
	if (g.image_size) {
		pos = g.image_size - 1;
		if (qedblk_l1_index(&g, pos) >= g.l1_entries_used)
			abort();
		qedblk_l2_index(&g, pos);
		qedblk_offset_in_cluster(&g, pos);
	}
	qedblk_validate_cluster_offset(&g, file_size & ~7ull, file_size);
	qedblk_validate_table_offset(&g, file_size / 3, file_size);

	qedblk_header_encode(&g, hdr);
	if (qedblk_header_decode(hdr, sizeof(hdr), file_size, &again) != QED_HDR_OK ||
	    memcmp(&g, &again, sizeof(g)))
		abort();
	return 0;
}
