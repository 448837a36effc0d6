#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Proof that the driver drops into a kernel tree: copy it into Debian's
# linux-source-7.3 as drivers/block/qed/ (with include/uapi/linux/qedblk.h,
# a source line in drivers/block/Kconfig and an obj- line in
# drivers/block/Makefile), configure a small x86_64 kernel with both
# BLK_DEV_QED=y and the QLogic QED=y, build drivers/block/qed/ with W=1 and
# -Werror, link vmlinux without a single warning, then boot it once under
# qemu (TCG, no root file system) to run the built-in KUnit suites.
#
#   intree.sh            everything
#   QED_INTREE_BOOT=0    build only, no boot
#
# The unpacked tree and the build output stay in $QED_CACHE/intree-7.3, so
# a second run rebuilds only what changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

base="$QED_CACHE/intree-7.3"
src="$base/src"
out="$base/out"
log_dir="$base/log"
jobs=$(nproc)
mkdir -p "$base" "$log_dir"

# The tree itself: Debian's linux-source-7.3 from trixie-backports.
if [ ! -f "$src/.ready" ]; then
	log "fetching linux-source-7.3"
	apt_x_update
	rm -rf "$src" "$out" "$base/dl"
	mkdir -p "$base/dl" "$src"
	# shellcheck disable=SC2046
	(cd "$base/dl" && apt-get $(apt_x_opts) -q download linux-source-7.3 >/dev/null) ||
		die "downloading linux-source-7.3 failed"
	dpkg-deb --fsys-tarfile "$base"/dl/linux-source-7.3_*.deb |
		tar -x -C "$base/dl" ./usr/src/linux-source-7.3.tar.xz
	tar -xJf "$base/dl/usr/src/linux-source-7.3.tar.xz" -C "$src" --strip-components=1 ||
		die "unpacking linux-source-7.3 failed"
	rm -rf "$base/dl"
	touch "$src/.ready"
fi

# sync FROM TO: copy FROM over TO only when they differ, so that make sees
# unchanged files as unchanged.
sync() {
	cmp -s "$1" "$2" || { mkdir -p "$(dirname "$2")" && cp "$1" "$2"; }
}

# The driver, as a patch to the kernel would add it.
dst="$src/drivers/block/qed"
mkdir -p "$dst"
for f in "$dst"/*; do
	[ -e "$f" ] || continue
	[ -e "$QED_TOP/drivers/block/qed/${f##*/}" ] || rm -f "$f"
done
for f in "$QED_TOP"/drivers/block/qed/{Kconfig,Kbuild,qed-features.sh,*.c,*.h}; do
	case "$f" in *.mod.c) continue ;; esac
	sync "$f" "$dst/${f##*/}"
done
sync "$QED_TOP/include/uapi/linux/qedblk.h" "$src/include/uapi/linux/qedblk.h"
if ! grep -q 'drivers/block/qed/Kconfig' "$src/drivers/block/Kconfig"; then
	sed -i 's|^endif # BLK_DEV$|source "drivers/block/qed/Kconfig"\n\n&|' "$src/drivers/block/Kconfig"
	grep -q 'drivers/block/qed/Kconfig' "$src/drivers/block/Kconfig" ||
		die "no place for qed's Kconfig in drivers/block/Kconfig"
fi
if ! grep -q 'CONFIG_BLK_DEV_QED' "$src/drivers/block/Makefile"; then
	sed -i 's|^obj-$(CONFIG_BLK_DEV_LOOP)\t+= loop.o$|&\nobj-$(CONFIG_BLK_DEV_QED)\t+= qed/|' \
		"$src/drivers/block/Makefile"
	grep -q 'CONFIG_BLK_DEV_QED' "$src/drivers/block/Makefile" ||
		die "no place for qed in drivers/block/Makefile"
fi

kmake() {
	make -C "$src" O="$out" ARCH=x86_64 -j"$jobs" "$@"
}

# The configuration: tinyconfig, plus what the QLogic driver, a serial
# console and KUnit need.  Redone only when this list changes.
options=(64BIT BLOCK BLK_DEV PCI NET NETDEVICES ETHERNET NET_VENDOR_QLOGIC QED
	 FILE_LOCKING PRINTK TTY SERIAL_8250 SERIAL_8250_CONSOLE
	 KUNIT BLK_DEV_QED BLK_DEV_QED_KUNIT_TEST)
want="${options[*]}"
if [ ! -f "$out/.config" ] || [ "$(cat "$out/.qed-options" 2>/dev/null)" != "$want" ]; then
	log "configuring (tinyconfig + ${options[*]})"
	mkdir -p "$out"
	rm -f "$out/.qed-options"
	kmake tinyconfig >"$log_dir/config.log" 2>&1 ||
		{ cat "$log_dir/config.log" >&2; die "make tinyconfig failed"; }
	args=()
	for o in "${options[@]}"; do args+=(-e "$o"); done
	"$src/scripts/config" --file "$out/.config" "${args[@]}"
	kmake olddefconfig >>"$log_dir/config.log" 2>&1 ||
		{ cat "$log_dir/config.log" >&2; die "make olddefconfig failed"; }
	echo "$want" >"$out/.qed-options"
fi
for o in "${options[@]}"; do
	grep -qx "CONFIG_$o=y" "$out/.config" || die "CONFIG_$o=y did not survive olddefconfig"
done

# Our directory with W=1 and warnings as errors first; then the whole
# kernel with its own flags, which must not warn either (objtool and the
# linker included): duplicate symbols with drivers/net/ethernet/qlogic/qed
# would fail here.
log "building drivers/block/qed/ with W=1 (log: $log_dir/w1.log)"
kmake W=1 KCFLAGS=-Werror drivers/block/qed/ >"$log_dir/w1.log" 2>&1 ||
	{ cat "$log_dir/w1.log" >&2; die "drivers/block/qed/ does not build with W=1 -Werror"; }
log "building vmlinux and bzImage (log: $log_dir/build.log)"
kmake vmlinux bzImage >"$log_dir/build.log" 2>&1 ||
	{ tail -n 50 "$log_dir/build.log" >&2; die "the kernel does not build"; }
if grep -E 'warning:|[Ww]arning: ' "$log_dir/w1.log" "$log_dir/build.log"; then
	die "the build warns"
fi
# A built-in composite object leaves no qedblk.o (its parts go to
# built-in.a): look for one entry point of each driver in vmlinux itself.
syms=$(nm "$out/vmlinux")
for s in qedblk_attach qed_get_eth_ops; do
	grep -q " T $s\$" <<<"$syms" || die "$s is not in vmlinux: the driver was not built in"
done
log "vmlinux linked with qedblk and the QLogic qed built in, no warnings (${SECONDS}s)"

[ "${QED_INTREE_BOOT:-1}" = 1 ] || exit 0

# The KUnit suites ran at boot, before a root file system is looked for;
# kunit_shutdown then reboots, and -no-reboot makes that qemu's exit.
log "booting it to run KUnit (log: $log_dir/kunit.log)"
timeout 600 qemu-system-x86_64 -m 256 -smp 1 -nographic -no-reboot \
	-kernel "$out/arch/x86/boot/bzImage" \
	-append "console=ttyS0 kunit.enable=1 kunit_shutdown=reboot panic=-1" \
	</dev/null >"$log_dir/kunit.log" 2>&1 || true
# The KTAP lines, without the console's timestamps.
sed -n 's/\r$//; s/^\[ *[0-9.]*\] //; /^ *\(KTAP\|1\.\.\|#\|ok \|not ok \)/p' \
	"$log_dir/kunit.log" >"$log_dir/kunit.ktap"
cat "$log_dir/kunit.ktap"
# Every qedblk suite that started (a "# Subtest:" one level in; deeper ones
# are parameterised cases) must end with a top-level "ok": a crash
# or a hang in one leaves it without.
started=$(grep -cE '^ {4}# Subtest: qedblk_' "$log_dir/kunit.ktap" || true)
passed=$(grep -cE '^ok [0-9]+ qedblk_' "$log_dir/kunit.ktap" || true)
cases=$(grep -cE '^    ok [0-9]+ ' "$log_dir/kunit.ktap" || true)
if grep -q 'not ok ' "$log_dir/kunit.ktap"; then
	die "KUnit tests failed (see above)"
fi
[ "$started" -ge 1 ] || die "no qedblk KUnit suite ran (console: $log_dir/kunit.log)"
[ "$passed" -eq "$started" ] ||
	die "$started qedblk suites started, $passed finished (console: $log_dir/kunit.log)"
log "KUnit: $passed qedblk suites, $cases cases passed in the built kernel (${SECONDS}s)"
