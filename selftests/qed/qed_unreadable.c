// SPDX-License-Identifier: GPL-2.0
/*
 * qed_unreadable DEVICE: the 4 KiB blocks of DEVICE that a direct read
 * fails, as "FIRST-LAST " runs on one line ("" if none).
 *
 * One process for every block: a dd per block cost qed_malformed.sh
 * minutes under TCG.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define BLK 4096

int main(int argc, char **argv)
{
	long long b, first = -1, last = -1;
	void *buf;
	off_t size;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: qed_unreadable DEVICE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0 || posix_memalign(&buf, BLK, BLK)) {
		perror(argv[1]);
		return 2;
	}
	size = lseek(fd, 0, SEEK_END);
	for (b = 0; b < size / BLK; b++) {
		if (pread(fd, buf, BLK, b * BLK) == BLK)
			continue;
		if (first >= 0 && b == last + 1) {
			last = b;
			continue;
		}
		if (first >= 0)
			printf("%lld-%lld ", first, last);
		first = last = b;
	}
	if (first >= 0)
		printf("%lld-%lld ", first, last);
	printf("\n");
	free(buf);
	close(fd);
	return 0;
}
