// SPDX-License-Identifier: GPL-2.0
/*
 * qed_crash: the guest side of the power-cut test.
 *
 *   qed_crash fill FILE SIZE          FILE gets SIZE bytes of generation-0 data
 *   qed_crash write DEV LOG SEED      write to DEV until killed, logging to LOG
 *   qed_crash verify DEV LOG INITIAL  check DEV against LOG after the cut
 *   qed_crash verify-any DEV LOG INITIAL   the same, but nothing counts as
 *                                     flushed: every sector must hold its
 *                                     initial data or that of a write begun
 *   qed_crash points DMLOG N          print N replay points of a dm-log-writes
 *                                     log: every FLUSH entry, N others, all
 *                                     after its first MARK if it has one
 *   qed_crash replay DMLOG DEV FROM TO   replay entries [FROM, TO) onto DEV
 *
 * Every 512-byte sector written carries a stamp: the write's sequence number
 * and the sector's own number, then bytes derived from both.  The writer
 * logs to a raw disk of its own, synchronously and in order: the intent of
 * each write before it is issued, its completion after, and the start and
 * the completion of each flush.  The host kills the machine at a random
 * moment; after a fresh boot, verify checks every sector of DEV:
 *
 *   - a write completed before a completed flush began must read back
 *     unless a later write covered the sector (contract (b));
 *   - any sector reads as its last durable content or as the content of a
 *     later write that was at least begun, never as anything else (c).
 *
 * INITIAL says what a sector held before any write: "zero" or "gen0".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#define SECTOR		512u
#define STAMP_MAGIC	0x5145444352415348ull	/* "QEDCRASH" */
#define LOG_MAGIC	0x51434c47u		/* "QCLG" */
#define MAX_WRITE	(256u * 1024)

enum { REC_INTENT = 1, REC_DONE, REC_FLUSH_START, REC_FLUSH_DONE };

struct rec {
	uint32_t magic;
	uint32_t type;
	uint64_t seq;
	uint64_t off;
	uint32_t len;
	uint32_t check;		/* makes a torn or stale record invalid */
	uint8_t pad[SECTOR - 32];
};

static uint32_t rec_check(const struct rec *r)
{
	return (uint32_t)(r->magic ^ (r->type * 2654435761u) ^ r->seq ^ (r->seq >> 32) ^
			  (r->off * 40503u) ^ (r->off >> 32) ^ r->len ^ 0x9e3779b9u);
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static void stamp(uint8_t *p, uint64_t seq, uint64_t lba)
{
	uint64_t *w = (uint64_t *)p;
	unsigned int i;

	w[0] = seq;
	w[1] = lba;
	w[2] = STAMP_MAGIC;
	for (i = 3; i < SECTOR / 8; i++)
		w[i] = mix(seq * 0x100000001b3ull + lba * 131 + i);
}

/* The generation of a stamped sector, or -1 if it is not one of ours. */
static int64_t read_stamp(const uint8_t *p, uint64_t lba)
{
	uint8_t want[SECTOR];
	uint64_t seq;

	memcpy(&seq, p, 8);
	stamp(want, seq, lba);
	return memcmp(p, want, SECTOR) ? -1 : (int64_t)seq;
}

static void *aligned(size_t n)
{
	void *p;

	if (posix_memalign(&p, 4096, n))
		die("posix_memalign");
	return p;
}

static uint64_t dev_size(int fd)
{
	uint64_t size;
	off_t end;

	if (ioctl(fd, BLKGETSIZE64, &size) == 0)
		return size;
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		die("size");
	return (uint64_t)end;
}

static void pwrite_all(int fd, const void *buf, size_t len, uint64_t off, const char *what)
{
	ssize_t n = pwrite(fd, buf, len, (off_t)off);

	if (n != (ssize_t)len)
		die(what);
}

static int cmd_fill(const char *path, uint64_t size)
{
	uint8_t *buf = aligned(MAX_WRITE);
	uint64_t off, i;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die(path);
	for (off = 0; off < size; off += MAX_WRITE) {
		size_t n = size - off < MAX_WRITE ? size - off : MAX_WRITE;

		for (i = 0; i < n / SECTOR; i++)
			stamp(buf + i * SECTOR, 0, off / SECTOR + i);
		pwrite_all(fd, buf, n, off, path);
	}
	if (fsync(fd))
		die("fsync");
	close(fd);
	free(buf);
	return 0;
}

static void log_rec(int fd, uint64_t *pos, uint32_t type, uint64_t seq, uint64_t off,
		    uint32_t len, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->magic = LOG_MAGIC;
	r->type = type;
	r->seq = seq;
	r->off = off;
	r->len = len;
	r->check = rec_check(r);
	pwrite_all(fd, r, sizeof(*r), *pos, "log");
	*pos += sizeof(*r);
}

static int cmd_write(const char *dev, const char *logdev, unsigned long seed)
{
	int fd = open(dev, O_RDWR | O_DIRECT);
	int lfd = open(logdev, O_RDWR | O_DIRECT | O_DSYNC);
	uint8_t *buf = aligned(MAX_WRITE);
	struct rec *r = aligned(sizeof(*r));
	uint64_t size, sectors, pos = 0, seq, off, i;
	uint32_t len, until_flush;

	if (fd < 0)
		die(dev);
	if (lfd < 0)
		die(logdev);
	size = dev_size(fd);
	sectors = size / SECTOR;
	/* An empty log first: a previous run's records must not count. */
	memset(r, 0, sizeof(*r));
	for (i = 0; i < 64; i++)
		pwrite_all(lfd, r, sizeof(*r), i * SECTOR, "log");
	srandom((unsigned int)seed);
	until_flush = 1 + random() % 16;
	printf("crash: writing to %s (%llu sectors), seed %lu\n", dev,
	       (unsigned long long)sectors, seed);
	fflush(stdout);
	for (seq = 1;; seq++) {
		/* Half cluster-aligned 64 KiB runs, half anything. */
		if (random() % 2) {
			len = SECTOR * (1 + random() % (MAX_WRITE / SECTOR));
			off = (uint64_t)(random() % (sectors - len / SECTOR + 1)) * SECTOR;
		} else {
			len = 65536u * (1 + random() % 4);
			off = (uint64_t)(random() % (size / 65536 - 3)) * 65536;
		}
		for (i = 0; i < len / SECTOR; i++)
			stamp(buf + i * SECTOR, seq, off / SECTOR + i);
		log_rec(lfd, &pos, REC_INTENT, seq, off, len, r);
		pwrite_all(fd, buf, len, off, dev);
		log_rec(lfd, &pos, REC_DONE, seq, off, len, r);
		if (--until_flush == 0) {
			log_rec(lfd, &pos, REC_FLUSH_START, seq, 0, 0, r);
			if (fsync(fd))
				die("fsync");
			log_rec(lfd, &pos, REC_FLUSH_DONE, seq, 0, 0, r);
			until_flush = 1 + random() % 16;
		}
	}
	return 0;
}

struct wr {
	uint64_t off;
	uint32_t len;
};

static int cmd_verify(const char *dev, const char *logdev, const char *initial, int any)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	FILE *lf = fopen(logdev, "r");
	struct rec r;
	struct wr *w = NULL;
	uint64_t nw = 0, cap = 0, durable_upto = 0, last_done = 0, pending_done = 0;
	uint64_t size, sectors, s, flushes = 0, bad = 0, seen_new = 0;
	uint32_t *durable;
	uint8_t *buf;
	int gen0 = !strcmp(initial, "gen0");

	if (fd < 0)
		die(dev);
	if (!lf)
		die(logdev);
	/* Replay the log: which writes were begun, which were durable. */
	while (fread(&r, sizeof(r), 1, lf) == 1) {
		if (r.magic != LOG_MAGIC || r.check != rec_check(&r))
			break;
		switch (r.type) {
		case REC_INTENT:
			if (r.seq != nw + 1 || r.len > MAX_WRITE || r.len % SECTOR)
				goto badlog;
			if (nw == cap) {
				cap = cap ? cap * 2 : 1024;
				w = realloc(w, cap * sizeof(*w));
				if (!w)
					die("realloc");
			}
			w[nw].off = r.off;
			w[nw].len = r.len;
			nw++;
			break;
		case REC_DONE:
			last_done = r.seq;
			break;
		case REC_FLUSH_START:
			pending_done = last_done;
			break;
		case REC_FLUSH_DONE:
			/* Writes done before the flush began are durable now. */
			if (!any)
				durable_upto = pending_done;
			flushes++;
			break;
		default:
			goto badlog;
		}
	}
	fclose(lf);
	size = dev_size(fd);
	sectors = size / SECTOR;
	printf("# log: %llu writes begun, %llu completed flushes, durable up to write %llu\n",
	       (unsigned long long)nw, (unsigned long long)flushes,
	       (unsigned long long)durable_upto);

	/* The last durable generation of each sector. */
	durable = calloc(sectors, sizeof(*durable));
	if (!durable)
		die("calloc");
	for (s = 0; s < durable_upto; s++) {
		uint64_t first = w[s].off / SECTOR, n = w[s].len / SECTOR, i;

		for (i = 0; i < n && first + i < sectors; i++)
			durable[first + i] = (uint32_t)(s + 1);
	}

	buf = aligned(MAX_WRITE);
	for (s = 0; s < sectors; s++) {
		uint8_t *p;
		int64_t gen;
		int ok;

		if (s % (MAX_WRITE / SECTOR) == 0) {
			uint64_t n = sectors - s < MAX_WRITE / SECTOR ? sectors - s : MAX_WRITE / SECTOR;

			if (pread(fd, buf, n * SECTOR, (off_t)(s * SECTOR)) != (ssize_t)(n * SECTOR))
				die("read");
		}
		p = buf + (s % (MAX_WRITE / SECTOR)) * SECTOR;
		gen = read_stamp(p, s);
		if (gen < 0 && !gen0 && p[0] == 0 && !memcmp(p, p + 1, SECTOR - 1))
			gen = 0;	/* never written: zeros */
		if (gen < 0) {
			ok = 0;
		} else if ((uint64_t)gen == durable[s]) {
			ok = 1;
		} else if ((uint64_t)gen > durable[s] && (uint64_t)gen <= nw) {
			/* A later write, begun before the cut, covering s. */
			const struct wr *x = &w[gen - 1];

			ok = x->off <= s * SECTOR && s * SECTOR < x->off + x->len;
			seen_new += ok;
		} else {
			ok = 0;
		}
		if (!ok && bad++ < 10)
			printf("# sector %llu: generation %lld, durable %u, writes begun %llu\n",
			       (unsigned long long)s, (long long)gen, durable[s],
			       (unsigned long long)nw);
	}
	printf("# %llu sectors checked, %llu bad, %llu hold unflushed data\n",
	       (unsigned long long)sectors, (unsigned long long)bad,
	       (unsigned long long)seen_new);
	free(durable);
	free(buf);
	free(w);
	return bad ? 1 : 0;
badlog:
	fprintf(stderr, "qed_crash: the log is inconsistent at write %llu\n",
		(unsigned long long)nw);
	return 2;
}

/*
 * dm-log-writes: a super block, then for each write a header block and its
 * data, in the order the writes reached the disk under the log (see
 * drivers/md/dm-log-writes.c).  Sectors and sizes count in sectorsize.
 */
#define DMLOG_MAGIC	0x6a736677736872ull
#define DMLOG_FLUSH	(1u << 0)
#define DMLOG_DISCARD	(1u << 2)
#define DMLOG_MARK	(1u << 3)

struct dmlog_super {
	uint64_t magic;
	uint64_t version;
	uint64_t nr_entries;
	uint32_t sectorsize;
} __attribute__((packed));

struct dmlog_entry {
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
};

struct dmlog {
	int fd;
	uint64_t nr;
	uint32_t ss;
	uint64_t pos;		/* byte offset of the next entry */
	uint64_t cur;		/* its index */
};

static void dmlog_open(struct dmlog *l, const char *path)
{
	struct dmlog_super s;

	l->fd = open(path, O_RDONLY);
	if (l->fd < 0)
		die(path);
	if (pread(l->fd, &s, sizeof(s), 0) != sizeof(s) || s.magic != DMLOG_MAGIC ||
	    s.version != 1 || s.sectorsize < 512 || s.sectorsize > 65536) {
		fprintf(stderr, "qed_crash: %s is not a dm-log-writes log\n", path);
		exit(2);
	}
	l->nr = s.nr_entries;
	l->ss = s.sectorsize;
	l->pos = l->ss;
	l->cur = 0;
}

/* Read entry l->cur's header; leave l->pos at its data. */
static void dmlog_next(struct dmlog *l, struct dmlog_entry *e)
{
	if (pread(l->fd, e, sizeof(*e), (off_t)l->pos) != sizeof(*e))
		die("log entry");
	l->pos += l->ss;
	l->cur++;
}

static uint64_t dmlog_data_bytes(const struct dmlog *l, const struct dmlog_entry *e)
{
	return (e->flags & DMLOG_DISCARD) ? 0 : e->nr_sectors * l->ss;
}

static int cmd_points(const char *path, unsigned long extra)
{
	struct dmlog l;
	struct dmlog_entry e;
	uint64_t i, start = 0;

	dmlog_open(&l, path);
	while (l.cur < l.nr) {
		i = l.cur;
		dmlog_next(&l, &e);
		l.pos += dmlog_data_bytes(&l, &e);
		/*
		 * What comes before the first mark (the host file system's
		 * mkfs, say) is set-up, not the test: a cut there leaves no
		 * file system to mount, whatever qed does.
		 */
		if ((e.flags & DMLOG_MARK) && !start)
			start = i + 1;
		/* Replaying up to and including a flush: a point the disk may stop at. */
		if ((e.flags & DMLOG_FLUSH) && i + 1 > start)
			printf("%llu flush\n", (unsigned long long)(i + 1));
	}
	srandom((unsigned int)l.nr);
	for (i = 0; i < extra && l.nr > start; i++)
		printf("%llu between\n",
		       (unsigned long long)(start + 1 + random() % (l.nr - start)));
	printf("%llu end\n", (unsigned long long)l.nr);
	close(l.fd);
	return 0;
}

static int cmd_replay(const char *path, const char *dev, uint64_t from, uint64_t to)
{
	uint8_t *buf = aligned(1 << 20), *zero = aligned(1 << 20);
	struct dmlog l;
	struct dmlog_entry e;
	uint64_t bytes, off, n;
	int fd = open(dev, O_WRONLY);

	if (fd < 0)
		die(dev);
	memset(zero, 0, 1 << 20);
	dmlog_open(&l, path);
	if (to > l.nr)
		to = l.nr;
	while (l.cur < to) {
		int apply = l.cur >= from;

		dmlog_next(&l, &e);
		bytes = dmlog_data_bytes(&l, &e);
		off = e.sector * l.ss;
		if (apply && (e.flags & DMLOG_DISCARD)) {
			/* A discarded range reads as anything; zeros will do. */
			for (n = 0; n < e.nr_sectors * l.ss; n += 1 << 20) {
				uint64_t c = e.nr_sectors * l.ss - n;

				pwrite_all(fd, zero, c < (1 << 20) ? c : 1 << 20, off + n, dev);
			}
		}
		for (n = 0; apply && n < bytes; n += 1 << 20) {
			uint64_t c = bytes - n < (1 << 20) ? bytes - n : 1 << 20;

			if (pread(l.fd, buf, c, (off_t)(l.pos + n)) != (ssize_t)c)
				die("log data");
			pwrite_all(fd, buf, c, off + n, dev);
		}
		l.pos += bytes;
	}
	if (fsync(fd))
		die("fsync");
	close(fd);
	close(l.fd);
	free(buf);
	free(zero);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "fill"))
		return cmd_fill(argv[2], strtoull(argv[3], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "write"))
		return cmd_write(argv[2], argv[3], strtoul(argv[4], NULL, 0));
	if (argc == 5 && !strcmp(argv[1], "verify"))
		return cmd_verify(argv[2], argv[3], argv[4], 0);
	if (argc == 5 && !strcmp(argv[1], "verify-any"))
		return cmd_verify(argv[2], argv[3], argv[4], 1);
	if (argc == 4 && !strcmp(argv[1], "points"))
		return cmd_points(argv[2], strtoul(argv[3], NULL, 0));
	if (argc == 6 && !strcmp(argv[1], "replay"))
		return cmd_replay(argv[2], argv[3], strtoull(argv[4], NULL, 0),
				  strtoull(argv[5], NULL, 0));
	fprintf(stderr, "usage: qed_crash fill FILE SIZE | write DEV LOG SEED |"
			" verify[-any] DEV LOG zero|gen0 | points DMLOG N |"
			" replay DMLOG DEV FROM TO\n");
	return 2;
}
