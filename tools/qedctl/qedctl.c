// SPDX-License-Identifier: GPL-2.0
/*
 * qedctl: attach QED images as /dev/qedN block devices, in the manner of
 * losetup.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "qedctl.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "attach", cmd_attach, "attach IMAGE as a /dev/qedN device, print the device" },
	{ "detach", cmd_detach, "detach devices" },
	{ "list",   cmd_list,   "list attached devices" },
	{ "resize", cmd_resize, "grow an attached image or an image file" },
	{ "set",    cmd_set,    "change an attached device (--direct-io=on|off)" },
	{ "snapshot", cmd_snapshot,
	  "take a live snapshot: new writes go to OVERLAY, DEV's image becomes its backing file" },
	{ "mount",  cmd_mount,  "attach IMAGE and mount it on DIR, as mount -o loop" },
	{ "umount", cmd_umount, "unmount a qed device's file system and detach the device" },
	{ "qedtab", cmd_qedtab, "check " QEDTAB_PATH " (the images attached at boot)" },
	{ "generate-units", cmd_generate_units,
	  "systemd units for " QEDTAB_PATH " (the generator's work)" },
	{ "info",   cmd_info,   "show an image file's header and allocation" },
	{ "create", cmd_create, "create an empty image" },
	{ "check",  cmd_check,  "check (and with --repair, repair) an image's tables" },
	{ "map",    cmd_map,    "show where an image's guest data lies, as qemu-img map" },
	{ "compare", cmd_compare, "compare two images' guest contents, as qemu-img compare" },
	{ "convert", cmd_convert, "copy an image into a new raw or QED image, as qemu-img convert" },
	{ "rebase", cmd_rebase, "change an image's backing file, as qemu-img rebase" },
	{ "commit", cmd_commit, "write an image into its backing file, as qemu-img commit" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: " QEDCTL_NAME " COMMAND [OPTIONS] ...\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'" QEDCTL_NAME " COMMAND --help' describes a command.\n");
	losetup_usage(f);
}

/*
 * What was printed must have arrived: a full disk or a closed pipe under
 * stdout fails the command, as coreutils' close_stdout() does.
 */
static int close_stdout(int ret)
{
	bool bad = ferror(stdout);

	errno = 0;
	if (fclose(stdout) != 0)
		bad = true;
	if (bad) {
		fprintf(stderr, QEDCTL_NAME ": write error%s%s\n", errno ? ": " : "",
			errno ? strerror(errno) : "");
		return ret ? ret : 1;
	}
	return ret;
}

static int run(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
		return cmd_version();
	if (argv[1][0] == '-')
		return losetup_main(argc, argv);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, QEDCTL_NAME ": unknown command '%s' (see '" QEDCTL_NAME " --help')\n",
		argv[1]);
	return 1;
}

int main(int argc, char **argv)
{
	return close_stdout(run(argc, argv));
}
