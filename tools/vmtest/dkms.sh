#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build qedblk with Debian's dkms, as the qedblk-dkms package does, for one
# kernel of the matrix: the source as 'make dkms-install' lays it out in
# /usr/src, then dkms add, build, install and remove, all in private trees
# (the host's /var/lib/dkms and /lib/modules are never touched).  7.3's
# headers need trixie's tools, so for 7.3 dkms runs in the trixie chroot
# (installed there with its apt the first time).  The headers are the ones
# kernel.sh caches.
#
#   dkms.sh KERNEL        KERNEL is 6.1, 6.12 or 7.3
#
# Prints TAP lines, "# Totals: ..." last; fails if a case failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: dkms.sh 6.1|6.12|7.3}
SUITE=dkms_$name
# shellcheck source-path=SCRIPTDIR source=../unit/tap.sh
. "$(dirname "$0")/../unit/tap.sh"

version=$(sed -n 's/^#define QED_VERSION "\(.*\)"$/\1/p' "$QED_TOP/drivers/block/qed/qed_version.h")
[ -n "$version" ] || die "no QED_VERSION in qed_version.h"

kern=$("$(dirname "$0")/kernel.sh" "$name") || die "fetching kernel $name"
kdir=$(cat "$kern/kdir")
release=$(cat "$kern/release")
chroot=
[ -f "$kern/chroot" ] && chroot=$(cat "$kern/chroot")

# work: where the trees are on the host; inner: the same seen by dkms.
if [ -n "$chroot" ]; then
	work="$chroot/build/dkms-$name"
	inner="/build/dkms-$name"
	trap 'rm -rf "$tmp" "$work"' EXIT
else
	work="$tmp/dkms"
	inner="$work"
fi
rm -rf "$work"
mkdir -p "$work/tree" "$work/inst/$release"

# run_dkms ARGS...: dkms with the private trees, for this kernel's headers;
# should signing be on, its key is made in the private tree too.
run_dkms() {
	local args=("$@" --dkmstree "$inner/tree" --sourcetree "$inner/stage/usr/src"
		--installtree "$inner/inst")
	if [ -n "$chroot" ]; then
		# objtool reads /proc; a private mount namespace cleans it up.
		unshare -m /bin/sh -c 'mount -t proc proc "$0/proc" &&
			exec chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"' \
			"$chroot" "mok_signing_key=$inner/mok.key" "mok_certificate=$inner/mok.pub" dkms "${args[@]}"
	else
		mok_signing_key="$inner/mok.key" mok_certificate="$inner/mok.pub" dkms "${args[@]}"
	fi
}

have_dkms() {
	if [ -n "$chroot" ]; then
		[ -x "$chroot/usr/sbin/dkms" ] && return 0
		log "installing dkms in the trixie chroot"
		unshare -m /bin/sh -c 'mount -t proc proc "$0/proc" &&
			exec chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			DEBIAN_FRONTEND=noninteractive /bin/sh -c \
			"apt-get -q update && apt-get install -y -q --no-install-recommends dkms"' \
			"$chroot" >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; return 1; }
	else
		command -v dkms >/dev/null || "$(dirname "$0")/deps.sh"
	fi
}

src_ok() {
	make -s -C "$QED_TOP" dkms-install DESTDIR="$work/stage" || return 1
	grep -qx "PACKAGE_VERSION=\"$version\"" "$work/stage/usr/src/qedblk-$version/dkms.conf" ||
		{ echo "dkms.conf does not say PACKAGE_VERSION=\"$version\""; return 1; }
}

built_ko() {
	find "$work/tree/qedblk/$version/$release" -path '*/module/qedblk.ko*' 2>/dev/null | head -n 1
}

vermagic_ok() {
	local ko vm
	ko=$(built_ko)
	[ -n "$ko" ] || { echo "no qedblk.ko in the dkms tree"; return 1; }
	vm=$(modinfo -F vermagic "$ko") || return 1
	[ "${vm%% *}" = "$release" ] || { echo "vermagic '$vm', kernel $release"; return 1; }
}

version_ok() {
	local ko v
	ko=$(built_ko)
	[ -n "$ko" ] || { echo "no qedblk.ko in the dkms tree"; return 1; }
	v=$(modinfo -F version "$ko") || return 1
	[ "$v" = "$version" ] || { echo "modinfo version '$v', QED_VERSION $version"; return 1; }
}

installed() {
	local f
	f=$(find "$work/inst/$release/updates/dkms" -name 'qedblk.ko*' 2>/dev/null)
	[ -n "$f" ] || { echo "nothing in $inner/inst/$release/updates/dkms"; return 1; }
}

removed() {
	run_dkms remove -m qedblk -v "$version" --all --no-depmod || return 1
	[ -z "$(find "$work/inst" "$work/tree" -name 'qedblk.ko*')" ] ||
		{ echo "qedblk.ko left behind:"; find "$work/inst" "$work/tree" -name 'qedblk.ko*'; return 1; }
}

build() {
	run_dkms build -m qedblk -v "$version" -k "$release" --kernelsourcedir "$kdir" && return 0
	grep -v '^  [A-Z]' "$work/tree/qedblk/$version/build/make.log" | tail -n 20
	return 1
}

start=$(date +%s)
t have_dkms have_dkms
t source src_ok
t add run_dkms add -m qedblk -v "$version"
t build build
t vermagic vermagic_ok
t version version_ok
t install run_dkms install -m qedblk -v "$version" -k "$release" --kernelsourcedir "$kdir" --no-depmod
t installed installed
t remove removed
echo "# dkms $name ($release): $(( $(date +%s) - start ))s"
tap_totals
