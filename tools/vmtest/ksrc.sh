#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The parts of Debian's linux-source-6.12 this project builds with: the
# kselftest framework (kselftest_harness.h, lib.mk, runner.sh) and
# scripts/checkpatch.pl.  Nothing of it is copied into the repository.
# Prints the unpacked tree's top directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir="$QED_CACHE/linux-source-6.12"
if [ -f "$dir/.ready" ]; then
	echo "$dir"
	exit 0
fi
tmp="$dir.tmp"
rm -rf "$tmp"
fetch_linux_source "$tmp" \
	--wildcards 'linux-source-6.12/tools/testing/selftests/kselftest*' \
	'linux-source-6.12/tools/testing/selftests/lib.mk' \
	'linux-source-6.12/scripts/checkpatch.pl' \
	'linux-source-6.12/scripts/spelling.txt' \
	'linux-source-6.12/scripts/const_structs.checkpatch'
rm -rf "$dir"
mv "$tmp" "$dir"
touch "$dir/.ready"
echo "$dir"
