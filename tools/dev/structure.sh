#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The driver's shape as a reviewer sees it: which file calls into which
# (comments stripped, so a mention is not a call), any cycle among them,
# and the longest functions.  Needs gcc and Universal Ctags.
#
#   tools/dev/structure.sh [DIR] [N]   DIR: drivers/block/qed, N: 12
set -euo pipefail

dir=${1:-$(dirname "$0")/../../drivers/block/qed}
top=${2:-12}
cd "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ctags -x --c-kinds=f ./*.c | awk '{ sub("^\\./", "", $4); print $1, $4 }' >"$tmp/defs"
for f in *.c; do
	gcc -fpreprocessed -dD -E -P "$f" 2>/dev/null |
		grep -oE '\b[a-z_][a-z0-9_]*[[:space:]]*\(' | tr -d ' (' | sort -u |
		awk -v f="$f" 'NR == FNR { def[$1] = $2; next }
			       ($1 in def) && def[$1] != f { print f, def[$1] }' "$tmp/defs" -
done | sort -u >"$tmp/edges"

echo "calls between files (caller: callees):"
awk '{ a[$1] = a[$1] " " $2 } END { for (k in a) print "  " k ":" a[k] }' "$tmp/edges" | sort
if tsort "$tmp/edges" >/dev/null 2>"$tmp/cycles"; then
	echo "cycles: none"
else
	echo "cycles:"
	grep -v 'input contains a loop' "$tmp/cycles" | sed 's/^tsort: /  /'
fi
echo "longest functions (lines):"
ctags -x --_xformat='%N %F %n %e' --c-kinds=f --fields=+ne ./*.c |
	awk '{ sub("^\\./", "", $2); printf "  %4d %s %s\n", $4 - $3 + 1, $1, $2 }' |
	sort -rn | head -n "$top"
