#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# losetup's dialect where it needs no module (this host cannot load one):
# what losetup does with no loop driver, qedctl does with no qedblk.  The
# device commands themselves run in the guest (selftests/qed/qed_qedctl.sh).
set -u
SUITE=qedctl_losetup
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

[ -e /dev/qed-control ] && { echo "1..0 # SKIP qedblk is loaded on this host"; exit 0; }
echo "TAP version 13"
echo "1..7"

# As losetup -a without the loop module: no output, exit 0.
t list_without_module_is_empty sh -c '[ -z "$("$1" list)" ] && [ -z "$("$1" -a -J)" ]' - "$QEDCTL"
t detach_all_without_module sh -c '"$1" -D && "$1" detach --all' - "$QEDCTL"
t version sh -c '"$1" -V | grep -qx "qedctl [0-9][0-9.]*" && "$1" --version | grep -q "^qedctl "' - "$QEDCTL"
# A bad column is named, before anything else is looked at.
t unknown_column sh -c 'out=$("$1" list -O NAME,BOGUS 2>&1); [ $? = 1 ] &&
	[ "$out" = "qedctl: list: unknown column '\''BOGUS'\'' (see --help)" ]' - "$QEDCTL"
# Every column list --help names is accepted by -O.
t every_column_accepted sh -c 'cols=$("$1" list --help | sed -n "/^Columns/,\$p" | awk "NR > 1 { print \$1 }" |
	paste -sd,); [ -n "$cols" ] && "$1" list -O "$cols" && "$1" list --output-all' - "$QEDCTL"
t sector_size_refused sh -c 'out=$("$1" attach -b 1000 x.qed 2>&1); [ $? = 1 ] &&
	[ "$out" = "qedctl: --sector-size: '\''1000'\'' is not 512, 1024, 2048 or 4096" ]' - "$QEDCTL"
t usage_errors_say_what sh -c '"$1" attach 2>&1 | grep -q "missing IMAGE" &&
	"$1" detach 2>&1 | grep -q "missing DEVICE" && "$1" detach --all qed0 2>&1 | grep -q "takes no DEVICE"' - "$QEDCTL"
tap_totals
