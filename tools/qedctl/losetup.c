// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl spoken as losetup: "qedctl -f --show disk.qed", "qedctl -a",
 * "qedctl -d /dev/qed0", "qedctl -j disk.qed", ...  Each is turned into
 * the qedctl command that does the same, so the two spellings cannot
 * drift apart.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "qedctl.h"
#include "qed_version.h"

#define MAX_ARGS 64

struct args {
	int argc;
	char *argv[MAX_ARGS + 1];
};

static void push(struct args *a, const char *arg)
{
	if (a->argc >= MAX_ARGS)
		die("too many arguments");
	a->argv[a->argc++] = (char *)arg;
	a->argv[a->argc] = NULL;
}

void losetup_usage(FILE *f)
{
	fprintf(f, "\nlosetup's spelling is understood too:\n"
		   "  " QEDCTL_NAME " -f                    print the next free device\n"
		   "  " QEDCTL_NAME " [-f] [--show] [-r] [-P] [-b N] [--direct-io[=on|off]] IMAGE\n"
		   "                                attach IMAGE (prints the device with --show)\n"
		   "  " QEDCTL_NAME " -a | -l [-n] [--raw] [-O COLS] [--output-all] [-J]\n"
		   "                                list attached devices\n"
		   "  " QEDCTL_NAME " -j FILE               list the devices of FILE\n"
		   "  " QEDCTL_NAME " -d DEVICE...          detach\n"
		   "  " QEDCTL_NAME " -D                    detach all\n"
		   "  " QEDCTL_NAME " --direct-io[=on|off] DEVICE  switch direct I/O\n"
		   "  " QEDCTL_NAME " -V                    print the version\n");
}

int cmd_version(void)
{
	char v[64] = "";
	FILE *f;

	printf(QEDCTL_NAME " %s\n", QED_VERSION);
	f = fopen("/sys/module/qedblk/version", "re");
	if (f) {
		if (fgets(v, sizeof(v), f))
			printf("qedblk module %s", v);
		fclose(f);
	}
	return 0;
}

/* As LOOP_CTL_GET_FREE, from userspace: attach takes the lowest free N. */
static int find_free(void)
{
	uint32_t n, i, next = 0, *idx;
	int ctl = ctl_open(false);
	bool taken;

	idx = list_indices(ctl, &n);
	do {
		taken = false;
		for (i = 0; i < n; i++)
			if (idx[i] == next) {
				taken = true;
				next++;
				break;
			}
	} while (taken);
	free(idx);
	close(ctl);
	printf("/dev/qed%u\n", next);
	return 0;
}

int losetup_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "list", no_argument, NULL, 'l' },
		{ "associated", required_argument, NULL, 'j' },
		{ "detach", no_argument, NULL, 'd' },
		{ "detach-all", no_argument, NULL, 'D' },
		{ "find", no_argument, NULL, 'f' },
		{ "show", no_argument, NULL, 's' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "partscan", no_argument, NULL, 'P' },
		{ "sector-size", required_argument, NULL, 'b' },
		{ "direct-io", optional_argument, NULL, 'I' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "raw", no_argument, NULL, 'R' },
		{ "output", required_argument, NULL, 'O' },
		{ "output-all", no_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct args list = { 0 }, attach = { 0 }, detach = { 0 }, set = { 0 };
	struct stat st;
	uint32_t index;
	bool do_list = false, do_detach = false, find = false, show = false;
	char *dio;
	int c;

	push(&list, "list");
	push(&attach, "attach");
	push(&detach, "detach");
	push(&set, "set");
	optind = 1;
	while ((c = getopt_long(argc, argv, "alj:dDfsrPb:nO:JvVh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
		case 'l':
			do_list = true;
			break;
		case 'j':
			do_list = true;
			push(&list, "-j");
			push(&list, optarg);
			break;
		case 'd':
			do_detach = true;
			break;
		case 'D':
			do_detach = true;
			push(&detach, "--all");
			break;
		case 'f':
			find = true;
			break;
		case 's':
			show = true;
			break;
		case 'r':
			push(&attach, "-r");
			break;
		case 'P':
			push(&attach, "-P");
			break;
		case 'b':
			push(&attach, "-b");
			push(&attach, optarg);
			break;
		case 'I':
			if (asprintf(&dio, "--direct-io=%s", optarg ? optarg : "on") < 0)
				die("out of memory");
			push(&attach, dio);
			push(&set, dio);
			break;
		case 'v':
			push(&attach, "-v");
			break;
		case 'n':
			push(&list, "-n");
			break;
		case 'R':
			push(&list, "--raw");
			break;
		case 'O':
			push(&list, "-O");
			push(&list, optarg);
			break;
		case 'A':
			push(&list, "--output-all");
			break;
		case 'J':
			push(&list, "-J");
			break;
		case 'V':
			return cmd_version();
		case 'h':
			printf("usage: " QEDCTL_NAME " COMMAND [OPTIONS] ... (see '" QEDCTL_NAME
			       " --help')\n");
			losetup_usage(stdout);
			return 0;
		default:
			losetup_usage(stderr);
			return 1;
		}
	}
	if (do_detach) {
		if (do_list || find) {
			fprintf(stderr, QEDCTL_NAME ": -d and -D go alone\n");
			return 1;
		}
		for (; optind < argc; optind++)
			push(&detach, argv[optind]);
		return cmd_detach(detach.argc, detach.argv);
	}
	if (do_list) {
		for (; optind < argc; optind++)
			push(&list, argv[optind]);
		return cmd_list(list.argc, list.argv);
	}
	if (optind == argc) {
		if (find)
			return find_free();
		/* "losetup" alone lists the devices; so do the list options alone. */
		return cmd_list(list.argc, list.argv);
	}
	if (optind != argc - 1) {
		fprintf(stderr, QEDCTL_NAME ": one IMAGE at a time\n");
		return 1;
	}
	/* "losetup --direct-io=on /dev/loop0": a device, not an image. */
	if (set.argc > 1 && !parse_device(argv[optind], &index) &&
	    (stat(argv[optind], &st) || S_ISBLK(st.st_mode))) {
		push(&set, argv[optind]);
		return cmd_set(set.argc, set.argv);
	}
	if (!show)
		push(&attach, "--quiet");	/* losetup says nothing without --show */
	push(&attach, argv[optind]);
	return cmd_attach(attach.argc, attach.argv);
}
