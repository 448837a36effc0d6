#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qedctl never destroys what it was not asked to, and never blocks on or
# reads a file an image names that is not an ordinary regular file.
set -u
SUITE=qedctl_files
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

# qedctl must finish within 10 s and say why; info reports a broken chain
# and goes on, other commands must fail.
says() {
	local want=$1
	shift
	out=$(timeout 10 "$QEDCTL" "$@" 2>&1)
	rc=$?
	echo "$out"
	[ $rc -ne 124 ] || { echo "qedctl hung"; return 1; }
	echo "$out" | grep -q "$want" || { echo "no '$want' in the message"; return 1; }
}

refused() {
	says "$@" || return 1
	[ $rc -ne 0 ] || { echo "qedctl succeeded"; return 1; }
}

t_fifo_target() {
	mkfifo "$tmp/fifo" || return 1
	refused "not a regular file" create -f -s 1G "$tmp/fifo" || return 1
	[ -p "$tmp/fifo" ] || { echo "the FIFO is gone"; return 1; }
}

t_device_target() {
	mknod "$tmp/null" c 1 3 || return 1
	ln -s "$tmp/null" "$tmp/link" || return 1
	refused "not a regular file" create -f -s 1G "$tmp/null" || return 1
	refused "not a regular file" create -f -s 1G "$tmp/link" || return 1
	if [ ! -c "$tmp/null" ] || [ ! -L "$tmp/link" ]; then
		echo "a node is gone"
		return 1
	fi
}

t_own_backing() {
	local before
	"$QEDCTL" create -s 16M "$tmp/self.qed" || return 1
	before=$(sha256sum <"$tmp/self.qed")
	refused "its own backing file" create -f -b self.qed -F qed "$tmp/self.qed" || return 1
	[ "$(sha256sum <"$tmp/self.qed")" = "$before" ] || { echo "the image changed"; return 1; }
}

t_replace() {
	local ino before
	"$QEDCTL" create -s 16M "$tmp/r.qed" && chmod 0600 "$tmp/r.qed" || return 1
	ino=$(stat -c %i "$tmp/r.qed")
	before=$(sha256sum <"$tmp/r.qed")
	refused "File exists" create -s 32M "$tmp/r.qed" || return 1
	[ "$(sha256sum <"$tmp/r.qed")" = "$before" ] || { echo "changed without -f"; return 1; }
	"$QEDCTL" create -f -s 32M "$tmp/r.qed" || return 1
	[ "$(stat -c %i "$tmp/r.qed")" != "$ino" ] || { echo "written in place"; return 1; }
	[ "$(stat -c %a "$tmp/r.qed")" = 600 ] || { echo "mode not kept"; return 1; }
	"$QEDCTL" info "$tmp/r.qed" | grep -q '(33554432 bytes)' || return 1
	for f in "$tmp"/.qedctl-new-*; do
		[ ! -e "$f" ] || { echo "a temporary file is left: $f"; return 1; }
	done
}

t_sparse_l1() {
	# 16 MiB of L1 table (1 MiB clusters, 16 per table) is a hole.
	"$QEDCTL" create -s 1T -c 1M -t 16 "$tmp/big.qed" || return 1
	[ "$(du -k "$tmp/big.qed" | cut -f1)" -lt 1024 ] ||
		{ echo "$(du -k "$tmp/big.qed" | cut -f1) KiB allocated"; return 1; }
}

t_fifo_backing() {
	head -c 1M /dev/zero >"$tmp/base.raw" &&
		"$QEDCTL" create -b base.raw -F raw "$tmp/fov.qed" || return 1
	rm "$tmp/base.raw" && mkfifo "$tmp/base.raw" || return 1
	says "not a regular file" info "$tmp/fov.qed" || return 1
	refused "not a regular file" create -b base.raw -F raw "$tmp/fov2.qed"
}

t_proc_backing() {
	"$QEDCTL" create -s 1M "$tmp/p.qed" || return 1
	# Point the image at /proc/self/environ, as a hostile image would.
	qemu-img rebase -u -f qed -b /proc/self/environ -F raw "$tmp/p.qed" 2>/dev/null ||
		return 1
	says "pseudo file system" info "$tmp/p.qed"
}

# Output that cannot be written fails the command, with a message.
full() {
	local err
	err=$("$QEDCTL" "$@" 2>&1 >/dev/full) && { echo "$* succeeded"; return 1; }
	echo "$err" | grep -q "write error" || { echo "$*: no message: $err"; return 1; }
}

t_full_stdout() {
	"$QEDCTL" create -s 1M "$tmp/f.qed" || return 1
	full info "$tmp/f.qed" && full check --json "$tmp/f.qed" && full --help
}

t_json_utf8() {
	local name out
	name="$tmp/n$(printf '\377\303(\316\273')x.qed"
	"$QEDCTL" create -s 1M "$name" || return 1
	out=$("$QEDCTL" info --json "$name") || return 1
	echo "$out"
	printf '%s' "$out" | iconv -f UTF-8 -t UTF-8 >/dev/null || { echo "not UTF-8"; return 1; }
	printf '%s' "$out" | grep -qF "n\\ufffd\\ufffd($(printf '\316\273')x.qed\"" ||
		{ echo "the name is not as expected"; return 1; }
}

t_backing_needs_format() {
	local ls
	"$QEDCTL" create -s 1M "$tmp/nf.qed" || return 1
	ls=$(ls -A "$tmp")
	refused "Backing file specified without backing format" create -b nf.qed "$tmp/nf2.qed" ||
		return 1
	echo "$out" | grep -q "^Detected format of qed.$" || { echo "no detected format"; return 1; }
	refused "\-F needs -b" create -s 1M -F raw "$tmp/nf3.qed" || return 1
	refused "missing SIZE" create "$tmp/nf3.qed" || return 1
	[ "$(ls -A "$tmp")" = "$ls" ] || { echo "a file was left behind"; return 1; }
}

# QEMU's locks: while qemu-io writes an image, nothing that would change
# it runs, and what only reads it warns (or, with -U, stays silent).
t_qemu_locks() {
	local img="$tmp/locked.qed" before bad=0
	"$QEDCTL" create -s 16M "$img" || return 1
	before=$(sha256sum <"$img")
	qemu_io_hold "$img" || bad=1
	refused 'Failed to get "write" lock' check -r "$img" || bad=1
	echo "$out" | grep -qF "Is another process using the image [$img]? qemu-io (pid $qpid) has it open" ||
		bad=1
	refused 'Failed to get "write" lock' create -f -s 1M "$img" || bad=1
	says 'warning: .*Failed to get shared "write" lock' info "$img" || bad=1
	out=$("$QEDCTL" info -U "$img" 2>&1 >/dev/null) || bad=1
	[ -z "$out" ] || { echo "info -U: $out"; bad=1; }
	qemu_io_release
	[ "$(sha256sum <"$img")" = "$before" ] || { echo "the image changed"; bad=1; }
	"$QEDCTL" check -r "$img" >/dev/null || { echo "the locks outlived qemu-io"; bad=1; }
	return $bad
}

echo "TAP version 13"
echo "1..11"
t fifo_is_not_replaced t_fifo_target
t device_node_is_not_replaced t_device_target
t image_is_not_its_own_backing_file t_own_backing
t replace_is_atomic_and_keeps_the_mode t_replace
t l1_table_is_sparse t_sparse_l1
t fifo_backing_never_blocks t_fifo_backing
t proc_backing_is_refused t_proc_backing
t stdout_write_errors_fail t_full_stdout
t json_is_valid_utf8 t_json_utf8
t backing_file_needs_a_format t_backing_needs_format
t qemu_locks_are_honoured t_qemu_locks
tap_totals
