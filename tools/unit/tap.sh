# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by the host tests of qedctl: a scratch directory, and TAP lines
# for cases run with t NAME COMMAND... (ok when the command succeeds; its
# output is shown only when it fails).  SUITE names the file's cases.
QEDCTL=${QEDCTL:-$(dirname "$0")/../qedctl/qedctl}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
n=0

tap_result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $SUITE.$2"
		pass=$((pass + 1))
	else
		echo "not ok $n $SUITE.$2"
		fail=$((fail + 1))
	fi
}

t() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ $rc -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
	tap_result $rc "$name"
}

tap_totals() {
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
	[ $fail -eq 0 ]
}
