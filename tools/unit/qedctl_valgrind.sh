#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qedctl's file commands under valgrind: no invalid access, no leak.
# (The kernel commands are exercised in the guest, which has no valgrind.)
set -u
QEDCTL=${QEDCTL:-$(dirname "$0")/../qedctl/qedctl}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
n=0
vg() {
	local name=$1
	shift
	n=$((n + 1))
	if valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
		--error-exitcode=99 "$QEDCTL" "$@" >"$tmp/out" 2>&1; [ $? -ne 99 ]; then
		echo "ok $n qedctl_valgrind.$name"
		pass=$((pass + 1))
	else
		sed 's/^/# /' "$tmp/out"
		echo "not ok $n qedctl_valgrind.$name"
		fail=$((fail + 1))
	fi
}
echo "TAP version 13"
echo "1..10"
vg create create -s 1G -c 4K -t 2 "$tmp/a.qed"
vg info info "$tmp/a.qed"
vg info_json info --json "$tmp/a.qed"
vg check check "$tmp/a.qed"
vg check_json check --json "$tmp/a.qed"
echo junk >"$tmp/junk"
vg info_error info "$tmp/junk"
vg help --help
head -c 1M /dev/zero >"$tmp/base.raw"
vg create_backing create -b base.raw -F raw "$tmp/ov.qed"
vg create_backing_probed create -b ov.qed -F qed "$tmp/ov2.qed"
vg info_chain info --json "$tmp/ov2.qed"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail -eq 0 ]
