#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Debug kernels only (CONFIG_DEBUG_KMEMLEAK): after everything the tests
# before this one did, kmemleak finds no unreferenced object allocated by
# qedblk.  Its reports name qedblk only while the module that allocated the
# object is loaded, so the list runs this before qed_rmmod.sh.
. "$(dirname "$0")/lib.sh"
require qemu-img

k=/sys/kernel/debug/kmemleak
ktap_print_header
if [ ! -e "$k" ]; then
	ktap_skip_all "no kmemleak in this kernel"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 1

t_leaks() {
	local img="$WORK/leak.qed" d n
	# One more round of everything that allocates, then two scans (an
	# object must look unreferenced in both to be reported).
	qemu-img create -q -f qed "$img" 16M || return 1
	d=$("$QEDCTL" attach "$img") || return 1
	dd if=/dev/urandom of="$d" bs=64k count=16 oflag=direct status=none
	"$QEDCTL" detach "$d" || return 1
	echo clear >"$k"
	echo scan >"$k"
	sleep 2
	echo scan >"$k"
	n=$(grep -c "^unreferenced object" "$k")
	# Only ours count: the reports whose allocation backtrace is in qedblk.
	awk '/^unreferenced object/ { if (r ~ /qed/) { print r; c++ } r = "" } { r = r "\n" $0 }
	     END { if (r ~ /qed/) { print r; c++ } exit c > 0 }' "$k" | sed 's/^/# /'
	local rc=${PIPESTATUS[0]}
	echo "$n unreferenced objects in all, ours shown above"
	return "$rc"
}
check no_leaked_qedblk_objects t_leaks

ktap_finished
