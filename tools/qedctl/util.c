// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "qedctl.h"

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, QEDCTL_NAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* "512", "64K", "1.5G" is not accepted: whole numbers with K/M/G/T (x1024). */
int open_regular(const char *path, int flags, const char **why)
{
	struct statfs sfs;
	struct stat st;
	int fd, err;

	fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (why)
			*why = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0) {
		err = errno;
		if (why)
			*why = strerror(err);
		goto fail;
	}
	err = EINVAL;
	if (!S_ISREG(st.st_mode)) {
		if (why)
			*why = "not a regular file";
		goto fail;
	}
	if (qed_pseudo_fs_magic((unsigned long)sfs.f_type)) {
		if (why)
			*why = "on a pseudo file system (proc, sysfs, ...), not an image";
		goto fail;
	}
	/* A regular file ignores O_NONBLOCK; drop it all the same. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		err = errno;
		if (why)
			*why = strerror(err);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	errno = err;
	return -1;
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (shift) {
		end++;
		if (toupper((unsigned char)*end) == 'I')
			end++;
		if (toupper((unsigned char)*end) == 'B')
			end++;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	int u = 0;

	while (u < 6 && bytes >= 1024 && !(bytes & 1023)) {
		bytes >>= 10;
		u++;
	}
	if (u)
		snprintf(buf, len, "%llu%ciB", (unsigned long long)bytes, units[u]);
	else
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
}

void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

int parse_json_args(int argc, char **argv, int nargs, void (*usage)(FILE *f), bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*json = false;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (argc - optind != nargs) {
		usage(stderr);
		return 1;
	}
	return -1;
}
