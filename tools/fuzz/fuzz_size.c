// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: qedctl's size parser reads whatever a user types.  It
 * never reads past the string, and whatever it accepts, qedctl's own
 * formatting of that size reads back to the same number.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qedctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[64];
	uint64_t v, again;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (parse_size(s, &v) == 0) {
		format_size(v, buf, sizeof(buf));
		if (parse_size(buf, &again) || again != v)
			abort();
	}
	free(s);
	return 0;
}
