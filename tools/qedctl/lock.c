// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU's image locks, taken as qemu-img takes them, so that qedctl never
 * changes an image a VM, qemu-io or a /dev/qedN device uses.
 *
 * The lock bytes and permissions are QEMU's, shared with the driver
 * (qed_format.h); the locks live as long as the descriptor they were
 * taken on.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "qedctl.h"

/*
 * Lock byte @base + n for each permission n in @perms (F_OFD_SETLK), or
 * (F_OFD_GETLK) return -EBUSY and QEMU's message if another open file
 * locks one.
 */
static int lock_bytes(int fd, int cmd, unsigned long perms, off_t base, const char *shared,
		      char *why, size_t len)
{
	struct flock fl;
	unsigned int n;

	for (n = 0; n < QED_PERM_NR; n++) {
		if (!(perms & (1ul << n)))
			continue;
		memset(&fl, 0, sizeof(fl));
		fl.l_type = cmd == F_OFD_SETLK ? F_RDLCK : F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = base + n;
		fl.l_len = 1;
		if (fcntl(fd, cmd, &fl) < 0)
			return -errno;
		if (cmd == F_OFD_GETLK && fl.l_type != F_UNLCK) {
			snprintf(why, len, "Failed to get %s\"%s\" lock", shared, qedblk_perm_name(n));
			return -EBUSY;
		}
	}
	return 0;
}

int image_lock(int fd, bool write, char *why, size_t len)
{
	unsigned long perm, unshared;
	int ret;

	qedblk_lock_perms(write, &perm, &unshared);
	ret = lock_bytes(fd, F_OFD_SETLK, perm, QED_LOCK_PERM, "", why, len);
	if (!ret)
		ret = lock_bytes(fd, F_OFD_SETLK, unshared, QED_LOCK_SHARED, "", why, len);
	/* Nobody may deny what we hold, nor hold what we deny. */
	if (!ret)
		ret = lock_bytes(fd, F_OFD_GETLK, perm, QED_LOCK_SHARED, "", why, len);
	if (!ret)
		ret = lock_bytes(fd, F_OFD_GETLK, unshared, QED_LOCK_PERM, "shared ", why, len);
	/* No byte-range locks here (some network file systems): as QEMU, go on. */
	if (ret == -ENOLCK || ret == -EOPNOTSUPP || ret == -EINVAL)
		return 0;
	if (ret && ret != -EBUSY)
		snprintf(why, len, "taking the image locks failed: %s", strerror(-ret));
	return ret;
}

/*
 * The device that has @fd's file attached, by the device and inode the
 * kernel took at attach: no path is looked up, so a renamed image is
 * still found and nothing can block on a stale one.
 */
void image_holder(int fd, char *out, size_t len)
{
	char ino[32], dev[32], want[64];
	unsigned int index;
	struct stat st;
	struct dirent *d;
	DIR *dir;

	out[0] = 0;
	if (fstat(fd, &st) < 0)
		return;
	snprintf(want, sizeof(want), "%u:%u", major(st.st_dev), minor(st.st_dev));
	dir = opendir("/sys/block");
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (sscanf(d->d_name, "qed%u", &index) != 1)
			continue;
		sysfs_line(index, "qed/backing_inode", ino, sizeof(ino));
		sysfs_line(index, "qed/backing_dev", dev, sizeof(dev));
		if (!strcmp(dev, want) && strtoull(ino, NULL, 10) == (unsigned long long)st.st_ino) {
			snprintf(out, len, "/dev/%s", d->d_name);
			break;
		}
	}
	closedir(dir);
}

/*
 * The first other process with @st's file open, as "NAME (pid N)", found
 * as fuser finds it: OFD locks carry no pid.  stat() of /proc/PID/fd/N
 * opens nothing, so a FIFO or a hung file there cannot block us.
 */
static void image_process(const struct stat *st, char *out, size_t len)
{
	char fd_dir[64], link[320], comm[64];
	struct dirent *p, *f;
	struct stat fst;
	DIR *proc, *fds;
	FILE *cf;
	char *end;
	long pid;

	out[0] = 0;
	proc = opendir("/proc");
	if (!proc)
		return;
	while (!out[0] && (p = readdir(proc))) {
		pid = strtol(p->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		snprintf(fd_dir, sizeof(fd_dir), "/proc/%ld/fd", pid);
		fds = opendir(fd_dir);
		if (!fds)
			continue;
		while ((f = readdir(fds))) {
			snprintf(link, sizeof(link), "%s/%s", fd_dir, f->d_name);
			if (f->d_name[0] == '.' || stat(link, &fst) ||
			    fst.st_dev != st->st_dev || fst.st_ino != st->st_ino)
				continue;
			snprintf(link, sizeof(link), "/proc/%ld/comm", pid);
			cf = fopen(link, "re");
			if (!cf || !fgets(comm, sizeof(comm), cf))
				snprintf(comm, sizeof(comm), "?");
			if (cf)
				fclose(cf);
			comm[strcspn(comm, "\n")] = 0;
			snprintf(out, len, "%s (pid %ld)", comm, pid);
			break;
		}
		closedir(fds);
	}
	closedir(proc);
}

void image_holder_words(int fd, const char *path, char *out, size_t len)
{
	char dev[300], proc[128];
	struct stat st;

	image_holder(fd, dev, sizeof(dev));
	if (dev[0]) {
		snprintf(out, len, "the image is attached as %s", dev);
		return;
	}
	proc[0] = 0;
	if (!fstat(fd, &st))
		image_process(&st, proc, sizeof(proc));
	if (proc[0])
		snprintf(out, len, "Is another process using the image [%s]? %s has it open",
			 path, proc);
	else
		snprintf(out, len, "Is another process using the image [%s]?", path);
}

void image_lock_or_die(int fd, const char *path, bool write)
{
	char why[128], who[512];

	if (!image_lock(fd, write, why, sizeof(why)))
		return;
	image_holder_words(fd, path, who, sizeof(who));
	die("%s: %s\n%s", path, why, who);
}

void image_lock_or_warn(int fd, const char *path)
{
	char why[128], who[512];

	if (!image_lock(fd, false, why, sizeof(why)))
		return;
	image_holder_words(fd, path, who, sizeof(who));
	fprintf(stderr, QEDCTL_NAME ": warning: %s: %s\n%s\n"
		QEDCTL_NAME ": warning: it may change while it is read (-U: no locks, no warning)\n",
		path, why, who);
}
