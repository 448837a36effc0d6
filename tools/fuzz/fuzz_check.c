// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a whole image in memory, tables and all, checked as
 * the kernel checks it at attach, and repaired.  A repair that reports the
 * image clean must leave it so: a second check finds no corruption and no
 * leaked tail.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qed_check.h"

struct mem {
	uint8_t *buf;
	uint64_t size;
};

static int m_read(void *ctx, u64 off, void *buf, u32 len)
{
	struct mem *m = ctx;

	if (off > m->size || len > m->size - off)
		return -EIO;
	memcpy(buf, m->buf + off, len);
	return 0;
}

static int m_write(void *ctx, u64 off, const void *buf, u32 len)
{
	struct mem *m = ctx;

	if (off > m->size || len > m->size - off)
		abort();	/* repair writes only what it read */
	memcpy(m->buf + off, buf, len);
	return 0;
}

static int m_punch(void *ctx, u64 off, u64 len)
{
	struct mem *m = ctx;

	if (off > m->size || len > m->size - off)
		abort();
	memset(m->buf + off, 0, len);
	return 0;
}

static int m_truncate(void *ctx, u64 size)
{
	struct mem *m = ctx;

	if (size > m->size)
		abort();	/* repair only ever shrinks */
	m->size = size;
	return 0;
}

static void *m_zalloc(void *ctx, u64 n)
{
	(void)ctx;
	/* The check's memory is bounded by the file, never by the geometry. */
	if (n > (1u << 20) + (1u << 17))
		abort();
	return calloc(1, n);
}

static void m_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static const struct qedblk_check_ops ops = {
	.read = m_read, .write = m_write, .punch = m_punch, .truncate = m_truncate,
	.zalloc = m_zalloc, .free = m_free,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qedblk_check_result r, again;
	struct qedblk_geom g;
	struct mem m;

	if (qedblk_header_decode(data, size, size, &g) != QED_HDR_OK)
		return 0;
	m.size = size;
	m.buf = malloc(size);
	if (!m.buf)
		return 0;
	memcpy(m.buf, data, size);
	if (qedblk_check_image(&g, m.size, &ops, &m, 0, &r) == 0 &&
	    qedblk_check_image(&g, m.size, &ops, &m, QED_CHECK_REPAIR, &r) == 0 &&
	    qedblk_check_clean(&r)) {
		if (qedblk_check_image(&g, m.size, &ops, &m, 0, &again) != 0 ||
		    again.corruptions || again.leak_tail)
			abort();
	}
	free(m.buf);
	return 0;
}
