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

static void __attribute__((noreturn)) vdie(int status, const char *fmt, va_list ap)
{
	fprintf(stderr, QEDCTL_NAME ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	exit(status);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(1, fmt, ap);
}

void die_status(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(status, fmt, ap);
}

void errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, QEDCTL_NAME ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * Open a file an image names or a user gives as an image: never blocks
 * (a FIFO, a tty) and accepts only regular files on real file systems.
 */
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
	if (qedblk_pseudo_fs_magic((unsigned long)sfs.f_type)) {
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

/* The multiplier of a size suffix (qemu-img's B, K, M, G, T, P, E), or 0. */
static uint64_t size_suffix(char c)
{
	static const char units[] = "BKMGTPE";
	const char *u = c ? strchr(units, toupper((unsigned char)c)) : NULL;

	return u ? 1ull << (10 * (u - units)) : 0;
}

/*
 * Sizes as qemu-img reads them (QEMU's do_strtosz()): a decimal number, a
 * fraction only with a suffix ("1.5G"), B/K/M/G/T/P/E in either case for
 * bytes to exbibytes, the fraction's bytes truncated; or hexadecimal bytes.  losetup's spellings
 * "64KiB" and "64KB" are accepted too.  -ERANGE past 2^64 - 1.
 */
int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul, frac = 0, scale = 1;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		/* Hexadecimal bytes; qemu-img deprecates suffixes on them. */
		char *end;

		if (!isxdigit((unsigned char)p[2]))
			return -EINVAL;
		errno = 0;
		v = strtoull(p, &end, 16);
		if (errno)
			return -ERANGE;
		if (*end)
			return -EINVAL;
		*out = v;
		return 0;
	}
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - (*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (*p - '0');
	}
	if (*p == '.') {
		/* Digits past the 18th cannot change the truncated result much. */
		for (p++; isdigit((unsigned char)*p); p++) {
			if (scale < 1000000000000000000ull) {
				frac = frac * 10 + (*p - '0');
				scale *= 10;
			}
		}
	}
	mul = size_suffix(*p);
	if (mul) {
		p++;
		if (mul > 1 && toupper((unsigned char)*p) == 'I' && toupper((unsigned char)p[1]) == 'B')
			p += 2;
		else if (mul > 1 && toupper((unsigned char)*p) == 'B')
			p++;
	} else {
		mul = 1;
	}
	/* A fraction of a byte is an error, "1.0" is not. */
	if (*p || (frac && mul == 1))
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	v *= mul;
	if (frac) {
		/* frac / scale < 1, so this is below mul: no overflow in 128 bits. */
		unsigned __int128 f = (unsigned __int128)frac * mul / scale;

		if (v > UINT64_MAX - (uint64_t)f)
			return -ERANGE;
		v += (uint64_t)f;
	}
	*out = v;
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

/*
 * The length of the well-formed UTF-8 sequence at @s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0.
 */
size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A JSON string: whatever bytes a file name holds, the output is valid
 * UTF-8; a byte that is not part of a well-formed sequence becomes U+FFFD,
 * as QEMU's JSON writer does.
 */
void json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	putchar('"');
	while (*s) {
		n = utf8_len(s);
		if (!n) {
			fputs("\\ufffd", stdout);
			n = 1;
		} else if (*s == '"' || *s == '\\') {
			printf("\\%c", *s);
		} else if (*s < 0x20 || *s == 0x7f) {
			printf("\\u%04x", *s);
		} else {
			fwrite(s, 1, n, stdout);
		}
		s += n;
	}
	putchar('"');
}

/*
 * Options of a command that takes --json and, when @force_share is not
 * NULL, -U/--force-share; then @nargs arguments.  Returns -1 to go on, or
 * the exit status.
 */
bool opts_next(char **p, char **name, char **val)
{
	char *s, *out;

	for (;;) {
		if (!**p)
			return false;
		s = *p;
		*name = s;
		*val = NULL;
		/* Unescape ",," in place up to the first single comma. */
		for (out = s; *s; s++) {
			if (*s == ',' && s[1] == ',') {
				*out++ = *s++;
				continue;
			}
			if (*s == ',')
				break;
			if (*s == '=' && !*val) {
				*out++ = '\0';
				*val = out;
				continue;
			}
			*out++ = *s;
		}
		*p = *s ? s + 1 : s;
		*out = '\0';
		/* "a,,b" is one name: an empty item in between would not survive. */
		if (**name || *val)
			return true;
	}
}

/* qemu-img's --output=json|human: 0, or -EINVAL with a message. */
int parse_output(const char *fmt, bool *json)
{
	if (!strcmp(fmt, "json") || !strcmp(fmt, "human")) {
		*json = fmt[0] == 'j';
		return 0;
	}
	fprintf(stderr, QEDCTL_NAME ": --output must be json or human, not '%s'\n", fmt);
	return -EINVAL;
}

int parse_json_args(int argc, char **argv, int nargs, void (*usage)(FILE *f), bool *json,
		    bool *force_share)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*json = false;
	if (force_share)
		*force_share = false;
	while ((c = getopt_long(argc, argv, force_share ? "jUh" : "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 'o':
			if (parse_output(optarg, json))
				return 1;
			break;
		case 'U':
			if (!force_share) {
				usage(stderr);
				return 1;
			}
			*force_share = true;
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

/*
 * qemu-img's -p (util/qemu-progress.c): "    (NN.NN/100%)\r" on stdout,
 * whether or not it is a terminal, each time another whole percent is
 * done, and a newline at the end.
 */
static struct {
	bool on;
	double last;
} progress;

static void progress_print(double pct)
{
	printf("    (%3.2f/100%%)\r", pct);
	fflush(stdout);
	progress.last = pct;
}

void progress_start(bool on)
{
	progress.on = on;
	if (on)
		progress_print(0.0);
}

void progress_update(uint64_t done, uint64_t total)
{
	double pct;

	if (!progress.on)
		return;
	pct = total ? (double)done * 100.0 / (double)total : 100.0;
	if (pct > 100.0)
		pct = 100.0;
	if (pct - progress.last >= 1.0)
		progress_print(pct);
}

void progress_end(void)
{
	if (!progress.on)
		return;
	progress_print(100.0);
	printf("\n");
	progress.on = false;
}
