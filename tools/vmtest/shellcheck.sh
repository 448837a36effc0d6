#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every shell script of the tree through shellcheck, at its default
# (style) severity: make check's host phase runs this.
#   tools/vmtest/shellcheck.sh          checks them all
#   tools/vmtest/shellcheck.sh --list   only names them
# A script is a file git tracks, or would (not ignored), named *.sh or
# *.bash or whose first line is a shell's #!: a new script is checked
# without being listed anywhere.
# One that is neither (a sourced library) says "# shellcheck shell=bash".
set -euo pipefail
cd "$(dirname "$0")/../.."

# Two idioms the scripts use on purpose, everywhere:
#  SC2015  "A && B || C is not if-then-else": C is the failure handler and
#          is meant to run when either A or B fails.
#  SC2016  "expressions don't expand in single quotes": sh -c '... "$1"'
#          with the values passed as arguments, never spliced into the code.
exclude=SC2015,SC2016

scripts() {
	local f files
	# Outside a git checkout (a release tarball), every file but the build.
	if files=$(git ls-files --cached --others --exclude-standard 2>/dev/null) && [ -n "$files" ]; then
		:
	else
		files=$(find . -path ./build -prune -o -path ./.git -prune -o -type f -print | sed 's|^\./||' | sort)
	fi
	while IFS= read -r f; do
		[ -f "$f" ] || continue
		case "$f" in
		*.sh | *.bash) echo "$f" ;;
		*) head -n 1 "$f" | grep -qE '^#! */([a-z/]*/)?(env +)?(ba|da)?sh( |$)' && echo "$f" ;;
		esac
	done <<<"$files"
}

if [ "${1:-}" = --list ]; then
	scripts
	exit 0
fi
command -v shellcheck >/dev/null || { echo "shellcheck is not installed" >&2; exit 1; }
mapfile -t files < <(scripts)
[ ${#files[@]} -gt 0 ] || { echo "no shell scripts found" >&2; exit 1; }
# -x -P SCRIPTDIR: the scripts source their libraries next to them.
shellcheck -x -P SCRIPTDIR -e "$exclude" "${files[@]}"
echo "shellcheck: ${#files[@]} scripts clean"
