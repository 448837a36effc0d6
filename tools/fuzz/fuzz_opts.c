// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: qedctl's reader of qemu-img's -o syntax.  It never
 * reads or writes past the string, and what it splits, written back with
 * commas doubled, splits again into the same names and values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qedctl.h"

#define MAX_ITEMS 4096

struct item {
	const char *name, *val;
};

/* Append @s with every comma doubled. */
static char *escape(char *out, const char *s)
{
	for (; *s; s++) {
		*out++ = *s;
		if (*s == ',')
			*out++ = ',';
	}
	return out;
}

static size_t split(char *s, struct item *items)
{
	char *p = s, *name, *val;
	size_t n = 0;

	while (n < MAX_ITEMS && opts_next(&p, &name, &val)) {
		items[n].name = name;
		items[n].val = val;
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct item a[MAX_ITEMS], b[MAX_ITEMS];
	char *s = malloc(size + 1), *again = malloc(2 * size + 2), *out;
	size_t n, m, i;

	if (!s || !again)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	n = split(s, a);
	out = again;
	for (i = 0; i < n; i++) {
		if (strchr(a[i].name, '='))
			abort();	/* the first '=' ends a name */
		if (i)
			*out++ = ',';
		out = escape(out, a[i].name);
		if (a[i].val) {
			*out++ = '=';
			out = escape(out, a[i].val);
		}
	}
	*out = '\0';
	m = split(again, b);
	if (m != n)
		abort();
	for (i = 0; i < n; i++)
		if (strcmp(a[i].name, b[i].name) || !a[i].val != !b[i].val ||
		    (a[i].val && strcmp(a[i].val, b[i].val)))
			abort();
	free(s);
	free(again);
	return 0;
}
