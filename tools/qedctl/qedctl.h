/* SPDX-License-Identifier: GPL-2.0 */
#ifndef QEDCTL_H
#define QEDCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/stat.h>
#include <linux/qedblk.h>

#include "qed_format.h"

#define QEDCTL_NAME "qedctl"
/* Where the images attached at boot are listed (qedtab.c). */
#define QEDTAB_PATH "/etc/qedtab"

/* util.c */
void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);
/* die() with another exit status: where 1 means something else (compare). */
void __attribute__((noreturn, format(printf, 2, 3))) die_status(int status, const char *fmt, ...);
/* A message as die() words it, without the exit: one failure of several. */
void __attribute__((format(printf, 1, 2))) errmsg(const char *fmt, ...);
/* The well-formed UTF-8 sequence at @s: its length, or 0. */
size_t utf8_len(const unsigned char *s);
int parse_size(const char *s, uint64_t *out);
void format_size(uint64_t bytes, char *buf, size_t len);
void json_string(const char *s);
/*
 * Parse "[--json] [--help]" and exactly @nargs operands (from optind).
 * Returns -1 to go on, or the exit status when done (help or usage error).
 */
/*
 * The next item of qemu-img's -o syntax at *@p: NAME[=VALUE], items split
 * by ',', a comma inside a name or value doubled.  Unescapes in place:
 * *@name and *@val (NULL without '=') point into the string, and *@p moves
 * past the item.  Empty items are skipped; false at the end.
 */
bool opts_next(char **p, char **name, char **val);
/* qemu-img's --output=json|human: 0, or -EINVAL with a message. */
int parse_output(const char *fmt, bool *json);
int parse_json_args(int argc, char **argv, int nargs, void (*usage)(FILE *f), bool *json,
		    bool *force_share);
/*
 * open(2) for a file an image names or a user gives as an image: never
 * blocks (a FIFO), never takes a terminal, and only a regular file on an
 * ordinary file system is accepted (-1 with errno EINVAL otherwise, and
 * *why, when not NULL, says why).
 */
int open_regular(const char *path, int flags, const char **why);

/* lock.c: QEMU's image locks (see there). */
int image_lock(int fd, bool write, char *why, size_t len);
void image_holder(int fd, char *out, size_t len);
/* Who holds @fd's image, in words for a message after QEMU's. */
void image_holder_words(int fd, const char *path, char *out, size_t len);
void image_lock_or_die(int fd, const char *path, bool write);
void image_lock_or_warn(int fd, const char *path);

/* image.c: the image file itself, no kernel needed */
struct image {
	int fd;
	uint64_t file_size;
	struct qedblk_geom geom;
	char backing[QED_MAX_BACKING_NAME + 1];
};

/* Probe an open file: QED, raw, or another format (named in *other). */
int image_probe(int fd, enum qedblk_file_format *fmt, const char **other);
int image_open(const char *path, struct image *img, const char **why);

/* How a command uses an image: which of QEMU's locks it takes. */
enum image_access {
	IMAGE_READ,		/* as qemu-img info: warn when a writer has it */
	IMAGE_WRITE,		/* as qemu-img check -r: refuse when in use */
	IMAGE_FORCE_SHARE,	/* -U: no locks */
};
int image_open_locked(const char *path, struct image *img, const char **why,
		      enum image_access access);
int image_pread(const struct image *img, void *buf, size_t len, uint64_t off);
/* pread(2) until all is read (-EIO at the end of the file): 0 or a negative errno. */
int pread_full(int fd, void *buf, size_t len, uint64_t off);
/* pwrite(2) until all is written: 0 or a negative errno. */
int pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
void image_close(struct image *img);
int cmd_info(int argc, char **argv);

/* create.c: create, and its -o options and geometry rules for convert */
struct create_args {
	uint64_t size, cluster, table;
	bool have_size;
	const char *backing, *bfmt;
};

int cmd_create(int argc, char **argv);
/* One setting, from a flag (@flag: "-c") or from -o (@flag NULL). */
void create_set(struct create_args *a, const char *name, const char *val, const char *flag);
/* qemu-img's -o list (modified in place); true for "help". */
bool create_parse_opts(struct create_args *a, char *arg);
void usage_create_opts(void);
/* @g for a new image of @size with @a's geometry, or die saying why not. */
void create_geom(const struct create_args *a, uint64_t size, struct qedblk_geom *g);
/* The header, backing name and an empty L1 table of a new image into @fd. */
int create_write_header(int fd, const struct qedblk_geom *g, const char *backing);
/*
 * A complete new image at @path (written aside, synced, then linked in
 * place): 0, or a negative errno, -EEXIST without @force when @path exists.
 */
int create_image_file(const char *path, bool force, const struct qedblk_geom *g,
		      const char *backing);

/* newfile.c: a new file written aside and moved into place when complete */
struct newfile {
	const char *path;
	char tmp[4096];
	int fd;			/* the temporary file, read-write */
	int old;		/* the file replaced, holding its lock */
	bool exists;
	struct stat st;
};

/*
 * Start @path's replacement (refused with -EEXIST without @force when it
 * exists; die()s when it is in use).  The temporary file goes on exit.
 */
int newfile_begin(struct newfile *nf, const char *path, bool force);
/* Sync, and move into place: 0 or a negative errno (nothing left behind). */
int newfile_commit(struct newfile *nf);
void newfile_abort(struct newfile *nf);

/* resize.c: grow an image file (as qemu-img resize) */
int image_resize(const char *path, const char *size_arg, bool shrink);
/*
 * Grow the QED image open as @fd (@g, updated) to @size, in that order: its
 * new L1 entries zeroed and synced, then the header; on error *what says
 * which step failed.
 */
int image_grow(int fd, struct qedblk_geom *g, uint64_t size, const char **what);
int cmd_check(int argc, char **argv);

/* chain.c: backing chains */
struct chain_file {
	char path[4096];		/* as resolved from the name above */
	enum qedblk_file_format format;
	bool probed;			/* format probed, not declared raw */
	uint64_t size;			/* guest-visible bytes */
	struct image img;		/* fd always; geometry for QED files */
};

struct chain {
	unsigned int n;
	struct chain_file f[QEDBLK_MAX_CHAIN];
};

void chain_resolve(const char *base, const char *name, char *out, size_t len);
/* Open the chain below @top (opened from @path); on error *why says why. */
int chain_open(const char *path, const struct image *top, struct chain *c,
	       char *why, size_t whylen);
void chain_close(struct chain *c);
const char *chain_format_name(enum qedblk_file_format fmt);

/*
 * read.c: guest bytes through a chain, and where they come from.  The
 * status bits are QEMU's BDRV_BLOCK_* bits, so that qemu-img's decisions
 * (map's merges, compare --strict's status words) can be made on them.
 */
#define RS_DATA		0x01u
#define RS_ZERO		0x02u
#define RS_OFFSET_VALID	0x04u
#define RS_ALLOCATED	0x10u
#define RS_EOF		0x20u

struct layer {
	const char *path;		/* as QEMU names the file */
	const struct image *img;	/* fd and file size; geometry if QED */
	bool qed;
	const struct qedblk_geom *g;	/* QED only */
	uint64_t size;			/* guest bytes */
	uint64_t file_end;		/* QED: the file's end, cluster-aligned */
	uint64_t *l1, *l2;		/* QED: the L1 table, the last L2 read */
	uint64_t l2_off;
};

/* A run of guest bytes with one status. */
struct extent {
	uint64_t len;
	unsigned int flags;		/* RS_* */
	uint64_t offset;		/* in layer's file, with RS_OFFSET_VALID */
	unsigned int layer;		/* whose status this is */
};

struct reader {
	unsigned int n;			/* layers: the image, then its backing chain */
	struct layer l[QEDBLK_MAX_CHAIN + 1];
	struct image top;
	struct chain chain;
	char why[4608];			/* what failed, naming the file */
};

/* Open a QED image with its chain, or a raw image (probed as qemu-img does). */
int reader_open(struct reader *r, const char *path, enum image_access access);
void reader_close(struct reader *r);
/* Layer @i's own status at @off (QEMU's bdrv_block_status()); len 0 past its end. */
int layer_status(struct reader *r, unsigned int i, uint64_t off, uint64_t bytes,
		 struct extent *e);
/* The status through the whole chain (QEMU's bdrv_block_status_above(bs, NULL)). */
int reader_status_above(struct reader *r, uint64_t off, uint64_t bytes, struct extent *e);
/* As reader_open(), the format given (-f), not probed; NULL probes. */
int reader_open_as(struct reader *r, const char *path, enum image_access access,
		   const enum qedblk_file_format *fmt);
/* Guest bytes; 0 or a negative errno, with r->why saying what failed. */
int reader_pread(struct reader *r, void *buf, uint64_t len, uint64_t off);
/* Guest bytes as the chain from layer @first down reads them. */
int reader_pread_from(struct reader *r, unsigned int first, void *buf, uint64_t len,
		      uint64_t off);

/* write.c: write guest bytes into a QED image file (die()s on errors) */
struct writer {
	const char *path;
	int fd;
	struct qedblk_geom g;		/* as on disk, NEED_CHECK while allocating */
	uint64_t *l1, *l2;		/* CPU order: L1, the L2 table in hand */
	uint64_t l2_index;		/* the L1 index of the one in hand */
	uint64_t l2_from, l2_to;	/* its entries changed in memory */
	uint64_t file_end;		/* where the next cluster goes */
	void *tbuf, *cbuf;		/* a table's and a cluster's worth */
	bool durable;			/* sync between the steps (in place) */
	bool dirty;			/* NEED_CHECK set on disk by us */
	/* What unallocated clusters read (NULL: zeros): layers from below_layer. */
	struct reader *below;
	unsigned int below_layer;
	char why[256];
};

/* Start writing into @fd (QED image @path, of @g); -errno and w->why on error. */
int writer_open(struct writer *w, const char *path, int fd, const struct qedblk_geom *g,
		uint64_t file_size, bool durable);
void writer_pwrite(struct writer *w, const void *buf, uint64_t len, uint64_t off);
/* Zeros; whole clusters not allocated become zero clusters. */
void writer_zero(struct writer *w, uint64_t len, uint64_t off);
/* Write the tables in hand, sync, clear NEED_CHECK; frees @w. */
void writer_close(struct writer *w);
void writer_free(struct writer *w);

/* util.c: qemu-img's -p progress on stdout */
void progress_start(bool on);
void progress_update(uint64_t done, uint64_t total);
void progress_end(void);

/* map.c, compare.c */
int cmd_map(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_rebase(int argc, char **argv);
int cmd_commit(int argc, char **argv);

/* check.c */
struct qedblk_check_result;
int image_check(struct image *img, struct qedblk_check_result *r);

/* ctl.c: /dev/qed-control */
int ctl_open(bool quiet);
/* ctl_open() for a caller with things to free: -1 after saying why. */
int ctl_try_open(void);
int parse_device(const char *s, uint32_t *index);
int device_info(int ctl, uint32_t index, struct qedblk_info *info);
/*
 * What the loaded module supports (QEDBLK_CTL_GET_FEATURES): 0, or a
 * negative errno, -ENOTTY from a module older than the request (0.10.0).
 */
int ctl_features(int ctl, struct qedblk_features *f);
uint32_t *list_indices(int ctl, uint32_t *count);
/* As losetup -j: @info's image is the file @st, by device and inode. */
bool info_is_file(const struct qedblk_info *info, const struct stat *st);
/* The device @st is attached as: 1 with *@index set, or 0. */
int find_attached(int ctl, const struct stat *st, uint32_t *index);
void sysfs_line(uint32_t index, const char *attr, char *buf, size_t len);
int attach_image(const char *path, struct qedblk_attach *a, bool verbose, bool rw_or_fail);
int detach_one(int ctl, uint32_t index, const char *name, uint32_t flags, bool gone_ok);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_set(int argc, char **argv);

/* list.c */
int cmd_list(int argc, char **argv);

/* qedtab.c: the images attached at boot */
struct qedtab_entry {
	unsigned int line;
	char *image;		/* absolute, normalized; NULL if unreadable */
	char *error;		/* why the line is refused; NULL if it is good */
	struct qedblk_attach attach; /* flags, index and block size it asks for */
	bool nofail;		/* a failure is no failure of the boot */
	bool netdev;		/* the image needs the network: after remote-fs-pre */
	bool noauto;		/* attached only when asked (--qedtab-entry) */
};

struct qedtab {
	const char *path;
	size_t n;
	struct qedtab_entry *e;
	unsigned int bad;	/* lines refused */
};

/* QEDCTL_QEDTAB from the environment (for tests), or QEDTAB_PATH. */
const char *qedtab_default_path(void);
/*
 * Read @path (NULL: the default; then a missing file is an empty table):
 * 0, or -1 after saying why it could not be read.  Bad lines are kept,
 * with their error, in order.
 */
int qedtab_read(const char *path, struct qedtab *t);
void qedtab_free(struct qedtab *t);
/* "FILE:LINE: why" for each bad line. */
void qedtab_report(const struct qedtab *t);
/* @image's entry, good or bad, or NULL. */
const struct qedtab_entry *qedtab_find(const struct qedtab *t, const char *image);
/* Collapse "//" and drop a trailing '/': true, or false for '.' or '..' in it. */
bool path_normalize(char *path);
/* @s with the blanks, '\\' and control characters a qedtab field cannot hold as \NNN. */
void qedtab_print_escaped(FILE *f, const char *s);
int cmd_qedtab(int argc, char **argv);

/* qedtab_attach.c: the commands boot units run */
int qedtab_attach_all(const char *path, bool verbose, bool quiet);
int qedtab_attach_entry(const char *path, const char *image, bool verbose, bool quiet);
int qedtab_detach_entry(const char *image);

/* generator.c: systemd units for qedtab's entries */
int cmd_generate_units(int argc, char **argv);

/* mount.c: mount -o loop for images */
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
/* N of the /dev/qedN under block device @devno (it or a partition): 0, or -1. */
int qed_index_of(dev_t devno, uint32_t *index);

/* snapshot.c: live external snapshots of an attached device */
int cmd_snapshot(int argc, char **argv);

/* losetup.c: losetup's options at the top level */
int losetup_main(int argc, char **argv);
void losetup_usage(FILE *f);
int cmd_version(void);

#endif
