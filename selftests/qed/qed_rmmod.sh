#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs last: with every device detached the module unloads, and the kernel
# has logged no warning while the tests ran.
. "$(dirname "$0")/lib.sh"
require rmmod

ktap_print_header
ktap_set_plan 4

# An attached device, even closed, pins the module.
t_pinned() {
	local img="$WORK/pin.qed" dev rc=0
	"$QEDCTL" create -s 8M "$img" || return 1
	dev=$(qed_attach "$img") || return 1
	if rmmod qedblk 2>/dev/null; then
		echo "rmmod succeeded with $dev attached"
		return 1
	fi
	[ -c /dev/qed-control ] || rc=1
	qed_detach "$dev" || rc=1
	return $rc
}
check "rmmod_refused_while_attached" t_pinned

t_unload() {
	"$QEDCTL" detach --all
	rmmod qedblk || return 1
	! grep -q '^qedblk ' /proc/modules
}
check "rmmod_after_detach" t_unload
check "control_device_gone" test ! -e /dev/qed-control
# The reports themselves, not every line that names a leak: a debug
# kernel announces kmemleak at boot, and the repair at attach logs the
# leaked clusters it reclaimed.
t_log() {
	! dmesg | grep -E 'WARNING:|BUG:|Oops|KASAN:|UBSAN:|circular locking|suspected memory leak|unreferenced object'
}
check "no_kernel_warnings" t_log
ktap_finished
