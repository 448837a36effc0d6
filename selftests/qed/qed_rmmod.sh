#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# With every device detached the module unloads, and the kernel has logged
# no warning since boot.  The module is loaded again at the end, as the
# other tests need it, so this file may run in any place of the list; the
# warning scan covers most when it runs late.
. "$(dirname "$0")/lib.sh"
require rmmod modprobe

# Whatever fails on the way, the next test finds the module loaded.
qed_reload() {
	grep -q '^qedblk ' /proc/modules || modprobe qedblk
}
trap 'qed_reload; qed_cleanup' EXIT

ktap_print_header
ktap_set_plan 7

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

# As loop-control: a fixed misc minor and a devname alias, so kmod makes
# /dev/qed-control at boot and its first open loads the module.
t_on_demand() {
	local aliases rc=0
	aliases=$(modinfo -F alias qedblk) || return 1
	echo "$aliases" | grep -qx 'devname:qed-control' &&
		echo "$aliases" | grep -qx 'char-major-10-249' || { echo "aliases: $aliases"; return 1; }
	mknod "$WORK/qed-control" c 10 249 || return 1
	# Opening the node is what loads the module (request_module()).
	: <"$WORK/qed-control" || { echo "opening 10:249 did not load qedblk"; rc=1; }
	rm -f "$WORK/qed-control"
	grep -q '^qedblk ' /proc/modules || rc=1
	[ "$(cat /sys/class/misc/qed-control/dev 2>/dev/null)" = 10:249 ] || rc=1
	"$QEDCTL" list >/dev/null || rc=1
	return $rc
}
check "control_device_loads_module_on_demand" t_on_demand
check "rmmod_again" rmmod qedblk
# The reports themselves, not every line that names a leak: a debug
# kernel announces kmemleak at boot, and the repair at attach logs the
# leaked clusters it reclaimed.
t_log() {
	! dmesg | grep -E 'WARNING:|BUG:|Oops|KASAN:|UBSAN:|circular locking|suspected memory leak|unreferenced object'
}
check "no_kernel_warnings" t_log

# As the next test expects it: loaded, with its control device.
t_reload() {
	modprobe qedblk || return 1
	# As guest-init.sh after its insmod: the node may take a moment.
	for _ in $(seq 50); do
		[ -c /dev/qed-control ] && break
		sleep 0.1
	done
	[ -c /dev/qed-control ] || { echo "no /dev/qed-control after modprobe"; return 1; }
	"$QEDCTL" list >/dev/null
}
check "module_loaded_again" t_reload
ktap_finished
