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
skip=0
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

# tap_skip NAME REASON: a case that cannot run here.
tap_skip() {
	n=$((n + 1))
	echo "ok $n $SUITE.$1 # SKIP $2"
	skip=$((skip + 1))
}

t() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ $rc -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
	tap_result $rc "$name"
}

# qio IMAGE COMMAND-OPTIONS...: qemu-io on a QED image, quietly (the
# images the tests build).
qio() {
	local img=$1
	shift
	qemu-io -f qed "$@" "$img" >/dev/null
}

# qemu_io_hold IMAGE: a qemu-io holding IMAGE open for writing, with its
# locks taken, until qemu_io_release; its pid in $qpid.
qemu_io_hold() {
	local ino _
	rm -f "$tmp/qemu-in"
	mkfifo "$tmp/qemu-in" || return 1
	qemu-io -f qed "$1" <"$tmp/qemu-in" >/dev/null 2>&1 &
	qpid=$!
	exec 3>"$tmp/qemu-in"
	ino=$(stat -c %i "$1")
	for _ in $(seq 100); do
		grep -qE "OFDLCK.*:$ino [0-9]+ [0-9]+\$" /proc/locks && return 0
		sleep 0.1
	done
	echo "qemu-io took no lock"
	return 1
}

qemu_io_release() {
	exec 3>&-
	wait "$qpid"
}

tap_totals() {
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	[ $fail -eq 0 ]
}
