// SPDX-License-Identifier: GPL-2.0
/*
 * A new image file, written in a temporary file next to its name and put
 * in place only once it is complete and synced: a failed create or convert
 * leaves what was there, and nothing but our own temporary file is ever
 * removed, on error exits (die()) and on SIGINT, SIGTERM and SIGHUP too.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "qedctl.h"

/* The temporary file under way: at most one per process. */
static char pending[4096];

static void newfile_cleanup(void)
{
	if (pending[0])
		unlink(pending);
}

static void newfile_signal(int sig)
{
	/* unlink(2) and raise(3) are async-signal-safe. */
	if (pending[0])
		unlink(pending);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void newfile_arm(const char *tmp)
{
	static bool registered;

	if (!registered) {
		atexit(newfile_cleanup);
		signal(SIGINT, newfile_signal);
		signal(SIGTERM, newfile_signal);
		signal(SIGHUP, newfile_signal);
		registered = true;
	}
	snprintf(pending, sizeof(pending), "%s", tmp);
}

int newfile_begin(struct newfile *nf, const char *path, bool force)
{
	char dir[4096];
	mode_t um;
	int ret = 0;

	memset(nf, 0, sizeof(*nf));
	nf->fd = nf->old = -1;
	nf->path = path;
	nf->exists = stat(path, &nf->st) == 0;
	if (nf->exists && !force)
		return -EEXIST;
	if (nf->exists && !S_ISREG(nf->st.st_mode))
		die("%s: not a regular file; only regular files are replaced", path);
	if (!nf->exists && errno != ENOENT)
		return -errno;
	/* Never replace an image a VM or a device uses: QEMU's locks say. */
	nf->old = nf->exists ? open_regular(path, O_RDONLY, NULL) : -1;
	if (nf->old >= 0)
		image_lock_or_die(nf->old, path, true);
	/* Over a symlink, the file it points to is replaced, not the link. */
	if (!nf->exists || !realpath(path, dir))
		snprintf(dir, sizeof(dir), "%s", path);
	snprintf(nf->tmp, sizeof(nf->tmp), "%s", dir);
	snprintf(dir, sizeof(dir), "%s", dirname(nf->tmp));
	if ((size_t)snprintf(nf->tmp, sizeof(nf->tmp), "%s/.qedctl-new-XXXXXX", dir) >=
	    sizeof(nf->tmp))
		ret = -ENAMETOOLONG;
	nf->fd = ret ? -1 : mkstemp(nf->tmp);
	if (nf->fd < 0) {
		ret = ret ? ret : -errno;
		newfile_abort(nf);
		return ret;
	}
	newfile_arm(nf->tmp);
	um = umask(0);
	umask(um);
	if (fchmod(nf->fd, nf->exists ? (nf->st.st_mode & 07777) : (0666 & ~um)) < 0)
		ret = -errno;
	if (!ret && nf->exists && getuid() == 0 && fchown(nf->fd, nf->st.st_uid, nf->st.st_gid) < 0)
		ret = -errno;
	if (ret)
		newfile_abort(nf);
	return ret;
}

void newfile_abort(struct newfile *nf)
{
	if (nf->fd >= 0)
		close(nf->fd);
	if (nf->tmp[0] && nf->fd >= 0)
		unlink(nf->tmp);
	if (nf->old >= 0)
		close(nf->old);
	nf->fd = nf->old = -1;
	pending[0] = 0;
}

int newfile_commit(struct newfile *nf)
{
	char dir[4096];
	int dfd, ret = 0;

	if (fsync(nf->fd) < 0)
		ret = -errno;
	if (close(nf->fd) < 0 && !ret)
		ret = -errno;
	nf->fd = -1;
	if (!ret) {
		if (!nf->exists) {
			/* link(), not rename(): a file created meanwhile is kept. */
			if (link(nf->tmp, nf->path) < 0)
				ret = -errno;
		} else {
			snprintf(dir, sizeof(dir), "%s", nf->path);
			if (!realpath(nf->path, dir) || rename(nf->tmp, dir) < 0)
				ret = -errno;
		}
	}
	if (unlink(nf->tmp) < 0 && errno != ENOENT && !ret)
		ret = -errno;
	pending[0] = 0;
	if (nf->old >= 0)
		close(nf->old);
	nf->old = -1;
	if (ret)
		return ret;
	/* The new name must survive a crash too. */
	snprintf(dir, sizeof(dir), "%s", nf->path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
