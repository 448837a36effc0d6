#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install and make uninstall into scratch roots (DESTDIR, PREFIX=/usr),
# from a copy of the tree (the work tree gets no build products):
#  - userspace only (KDIR= ): every file the tree has to install is where it
#    belongs, and uninstall leaves the root empty, directories included;
#  - with the module, for the 6.1 kernel that tools/vmtest/kernel.sh cached
#    (skipped when it is not cached): the root holds that kernel's module
#    tree, depmod indexes qedblk after install and forgets it after
#    uninstall, and uninstall leaves every other file as it was.
set -u
SUITE=install
# shellcheck source-path=SCRIPTDIR source=tap.sh
. "$(dirname "$0")/tap.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${QED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qed}
version=$(sed -n 's/^#define QED_VERSION "\(.*\)"$/\1/p' "$top/drivers/block/qed/qed_version.h")
src="$tmp/src"

# The tree without its git data, build/ and kbuild's products (qedctl's
# objects stay: nothing to rebuild).
mkdir -p "$src"
tar -C "$top" --exclude=./.git --exclude=./build --exclude='./drivers/*.o' --exclude='./drivers/*.ko' \
	--exclude='./drivers/*.mod' --exclude='./drivers/*.mod.c' --exclude='./drivers/*.cmd' \
	--exclude='./drivers/*.order' --exclude='./.*.cmd' --exclude=./Module.symvers \
	--exclude=./modules.order -cf - . | tar -C "$src" -xf - || exit 1

# The directories make install uses for udev and systemd (pkg-config's).
pcdir() { pkg-config --variable="$2" "$1" 2>/dev/null || true; }
udevdir=$(pcdir udev udevdir)
unitdir=$(pcdir systemd systemdsystemunitdir)
gendir=$(pcdir systemd systemdsystemgeneratordir)
udevdir=${udevdir:-/usr/lib/udev}
unitdir=${unitdir:-/usr/lib/systemd/system}
gendir=${gendir:-/usr/lib/systemd/system-generators}

run_make() {
	make -s -C "$src" "$@" PREFIX=/usr >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log"; return 1; }
}

# has ROOT FILE MODE: FILE (a path under ROOT) is a regular file of MODE.
has() {
	[ -f "$1$2" ] || { echo "$2 is missing"; return 1; }
	[ "$(stat -c %a "$1$2")" = "$3" ] || { echo "$2 has mode $(stat -c %a "$1$2"), not $3"; return 1; }
}

# dest KIND FILE: where make install puts FILE of the tree, and its mode.
dest() {
	local b=${2##*/}
	case $1 in
	man_pages) b=${b%.rst}; echo "/usr/share/man/man${b##*.}/$b 644" ;;
	udev_rules) echo "$udevdir/rules.d/$b 644" ;;
	systemd_units) echo "$unitdir/$b 644" ;;
	systemd_generators) echo "$gendir/$b 755" ;;
	bash_completion) echo "/usr/share/bash-completion/completions/qedctl 644" ;;
	esac
}

# each KIND FILE...: every FILE installed where dest says.
each() {
	local kind=$1 f path mode rc=0
	shift
	for f in "$@"; do
		read -r path mode <<<"$(dest "$kind" "$f")"
		has "$root" "$path" "$mode" || rc=1
	done
	return $rc
}

# --- userspace only ---
root="$tmp/root"
mkdir -p "$root"
installed_userspace() {
	run_make install DESTDIR="$root" KDIR= || return 1
	grep -q "module was not installed" "$tmp/make.log" || { echo "no note about the module"; return 1; }
	[ -z "$(find "$root" -path '*/lib/modules*')" ] || { echo "a module was installed"; return 1; }
}
t install_userspace installed_userspace
t qedctl sh -c 'test "$(stat -c %a "$1/usr/sbin/qedctl")" = 755 && test "$("$1/usr/sbin/qedctl" -V)" = "qedctl $2"' \
	- "$root" "$version"

# Each kind of file: checked if the tree has some, the case skipped if not.
kind() {
	local name=$1 f files=()
	for f in "${@:2}"; do
		[ -e "$f" ] && files+=("$f")
	done
	if [ ${#files[@]} -eq 0 ]; then
		tap_skip "$name" "none in the tree yet"
	else
		t "$name" each "$name" "${files[@]}"
	fi
}
shopt -s nullglob
kind man_pages "$src"/Documentation/man/*.[1-8].rst
kind udev_rules "$src"/tools/udev/*.rules
kind systemd_units "$src"/tools/systemd/*.service "$src"/tools/systemd/*.target
kind systemd_generators "$src"/tools/systemd/*-generator
kind bash_completion "$src"/tools/qedctl/qedctl.bash
shopt -u nullglob

uninstalled_userspace() {
	run_make uninstall DESTDIR="$root" KDIR= || return 1
	[ -z "$(find "$root" -mindepth 1)" ] || { echo "left behind:"; find "$root" -mindepth 1; return 1; }
}
t uninstall_leaves_nothing uninstalled_userspace

# --- with the module, for the cached 6.1 kernel ---
kern="$cache/kernels/6.1"
if [ ! -f "$kern/ready" ] || [ -f "$kern/chroot" ]; then
	for c in install_module depmod_indexes_module uninstall_restores_root; do
		tap_skip "$c" "no cached 6.1 kernel (tools/vmtest/kernel.sh 6.1)"
	done
	tap_totals
	exit
fi
kdir=$(cat "$kern/kdir")
release=$(cat "$kern/release")
root="$tmp/root-mod"
moddir="$root/lib/modules/$release"

# A root as a system with that kernel has it: its module tree's index
# files (depmod -b runs on them) and someone else's file in sbin.
mkdir -p "$moddir" "$root/usr/sbin"
for f in modules.builtin modules.builtin.modinfo modules.order; do
	cp "$kern/root/lib/modules/$release/$f" "$moddir/"
done
depmod -b "$root" "$release"
echo other >"$root/usr/sbin/other-tool"
snapshot() { (cd "$root" && find . -type f -o -type l | sort | xargs md5sum); }
snapshot >"$tmp/before"

installed_module() {
	run_make install DESTDIR="$root" KDIR="$kdir" || return 1
	local ko="$moddir/extra/drivers/block/qed/qedblk.ko"
	[ -f "$ko" ] || { echo "no $ko"; cat "$tmp/make.log"; return 1; }
	[ "$(modinfo -F version "$ko")" = "$version" ] || { echo "version $(modinfo -F version "$ko")"; return 1; }
}
t install_module installed_module
# depmod ran for that root: modinfo finds qedblk there by name.
t depmod_indexes_module sh -c 'modinfo -b "$1" -k "$2" -F vermagic qedblk | grep -q "^$2 "' - "$root" "$release"

uninstalled_module() {
	run_make uninstall DESTDIR="$root" KDIR="$kdir" || return 1
	snapshot >"$tmp/after"
	diff "$tmp/before" "$tmp/after" || return 1
	[ -z "$(find "$root" -type d -empty)" ] || { echo "empty directories left:"; find "$root" -type d -empty; return 1; }
}
t uninstall_restores_root uninstalled_module
tap_totals
