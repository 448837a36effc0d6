// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl map: where an image's guest bytes come from, printed as qemu-img
 * map prints it (img_map() in qemu-img.c, QEMU 7.2), so that the two can be
 * compared line by line.  The entries are QEMU's (read.c); the merging of
 * adjacent entries and both output formats are qemu-img's.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "qedctl.h"

struct map_entry {
	uint64_t start, length, offset;
	unsigned int depth;
	bool data, zero, present, has_offset;
	int file;			/* layer whose file has the data, or -1 */
};

/* qemu-img's get_block_status(): down the chain to the first layer that knows. */
static void map_status(struct reader *r, const char *path, uint64_t off, uint64_t bytes,
		       struct map_entry *m)
{
	struct extent e;
	unsigned int i;

	for (i = 0; ; i++) {
		if (layer_status(r, i, off, bytes, &e))
			die("%s", r->why);
		if (!e.len)
			die("%s: no status at offset %" PRIu64 " of %s", path, off,
			    r->l[i].path);
		bytes = e.len;
		if (e.flags & (RS_ZERO | RS_DATA))
			break;
		if (i + 1 == r->n) {
			e.flags = 0;
			break;
		}
	}
	*m = (struct map_entry) {
		.start = off,
		.length = bytes,
		.depth = i,
		.data = e.flags & RS_DATA,
		.zero = e.flags & RS_ZERO,
		.present = e.flags & RS_ALLOCATED,
		.has_offset = e.flags & RS_OFFSET_VALID,
		.offset = e.offset,
		.file = (e.flags & RS_OFFSET_VALID) ? (int)i : -1,
	};
}

/* qemu-img's entry_mergeable(): one line for a run alike in every field. */
static bool mergeable(const struct map_entry *c, const struct map_entry *n)
{
	if (!c->length)
		return false;
	if (c->zero != n->zero || c->data != n->data || c->depth != n->depth ||
	    c->present != n->present || c->file != n->file || c->has_offset != n->has_offset)
		return false;
	return !c->has_offset || c->offset + c->length == n->offset;
}

static void dump_entry(const struct reader *r, bool json, const struct map_entry *e,
		       struct map_entry *next)
{
	if (json) {
		printf("{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %u"
		       ", \"present\": %s, \"zero\": %s, \"data\": %s",
		       e->start, e->length, e->depth, e->present ? "true" : "false",
		       e->zero ? "true" : "false", e->data ? "true" : "false");
		if (e->has_offset)
			printf(", \"offset\": %" PRIu64, e->offset);
		putchar('}');
		if (next)
			puts(",");
		return;
	}
	if (e->data && !e->zero)
		printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e->start, e->length,
		       e->has_offset ? e->offset : 0, e->file >= 0 ? r->l[e->file].path : "");
	/*
	 * As qemu-img: the human format does not tell unallocated from zero,
	 * so the next entry forgets the difference and merges more.
	 */
	if (next && (!next->data || next->zero)) {
		next->data = false;
		next->zero = true;
	}
}

static void usage_map(FILE *f)
{
	fprintf(f, "usage: " QEDCTL_NAME " map [--output=human|json] [-U|--force-share] IMAGE\n"
		   "  where IMAGE's guest bytes come from, as qemu-img map prints it:\n"
		   "  the layer of the backing chain (depth), whether allocated (present),\n"
		   "  zero or data, and the offset in that layer's file\n"
		   "  --output: human (the default): data ranges only, \"Offset Length\n"
		   "            Mapped to File\"; json: every range, qemu-img's keys\n"
		   "  -U: read an image in use without QEMU's locks and without a warning\n"
		   "  IMAGE is QED (with its backing chain) or raw\n");
}

int cmd_map(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct map_entry curr = { .file = -1 }, next;
	bool json = false, force_share = false;
	struct reader r;
	const char *path;
	uint64_t length;
	int c;

	while ((c = getopt_long(argc, argv, "Uh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (parse_output(optarg, &json))
				return 1;
			break;
		case 'U':
			force_share = true;
			break;
		case 'h':
			usage_map(stdout);
			return 0;
		default:
			usage_map(stderr);
			return 1;
		}
	}
	if (argc - optind != 1) {
		usage_map(stderr);
		return 1;
	}
	path = argv[optind];
	if (reader_open(&r, path, force_share ? IMAGE_FORCE_SHARE : IMAGE_READ))
		die("%s", r.why);
	length = r.l[0].size;

	if (json)
		putchar('[');
	else
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
	/* qemu-img's loop: the first entry is empty, and merges with nothing. */
	while (curr.start + curr.length < length) {
		uint64_t off = curr.start + curr.length;

		map_status(&r, path, off, length - off, &next);
		if (mergeable(&curr, &next)) {
			curr.length += next.length;
			continue;
		}
		if (curr.length)
			dump_entry(&r, json, &curr, &next);
		curr = next;
	}
	dump_entry(&r, json, &curr, NULL);
	if (json)
		printf("]\n");
	reader_close(&r);
	return 0;
}
