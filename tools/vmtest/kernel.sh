#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetch one kernel of the test matrix (image, modules and headers, from
# Debian's archive) into the cache and prepare it for module builds.
#
#   kernel.sh NAME       NAME is 6.1, 6.12 or 7.3
#
# Prints the kernel's directory; it holds:
#   vmlinuz, release (uname -r), root/ (the unpacked packages),
#   kdir (path of the headers tree, inside the chroot for 7.3),
#   chroot (only for 7.3: the trixie tree its kbuild tools need).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: kernel.sh 6.1|6.12|7.3}
case "$name" in
6.1)  pattern='^6\.1\.' ;;
6.12) pattern='^6\.12\..*~bpo12' ;;
7.3)  pattern='^7\.3\..*~bpo13' ;;
debug) exec "$(dirname "$0")/debug-kernel.sh" ;;
*) die "unknown kernel '$name' (want 6.1, 6.12 or 7.3)" ;;
esac

dir="$QED_CACHE/kernels/$name"
if [ -f "$dir/ready" ]; then
	echo "$dir"
	exit 0
fi

apt_x_update
opts=$(apt_x_opts)

# shellcheck disable=SC2086 # apt_x_opts is a list of options, one word each
ver=$(apt-cache $opts madison linux-image-cloud-amd64 | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
	grep -E "$pattern" | sort -V | tail -n 1)
[ -n "$ver" ] || die "no linux-image-cloud-amd64 matching $pattern in Debian's archive"
log "kernel $name: linux-image-cloud-amd64 $ver"

# Follow the linux-* dependencies of the meta packages to the packages
# that hold the kernel, its modules, its headers and its kbuild tools.
declare -A seen=()
want=()
visit() {
	local spec=$1 deps d n v
	[ -n "${seen[$spec]:-}" ] && return 0
	seen[$spec]=1
	want+=("$spec")
	# shellcheck disable=SC2086 # apt_x_opts is a list of options, one word each
	deps=$(apt-cache $opts show "$spec" 2>/dev/null | awk '/^Depends:/ { sub(/^Depends: /, ""); print; exit }')
	local parts
	IFS=',' read -ra parts <<<"$deps"
	for d in "${parts[@]}"; do
		d=${d%%|*}
		d=$(echo "$d" | sed 's/^ *//; s/ *$//')
		n=${d%% *}
		case "$n" in
		linux-base|linux-compiler-*|linux-initramfs-tool) continue ;;
		linux-*) ;;
		*) continue ;;
		esac
		v=
		if [[ "$d" =~ \(=\ ([^\)]*)\) ]]; then v=${BASH_REMATCH[1]}; fi
		if [ -n "$v" ]; then visit "$n=$v"; else visit "$n"; fi
	done
}
visit "linux-image-cloud-amd64=$ver"
visit "linux-headers-cloud-amd64=$ver"

rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/debs" "$dir.tmp/root"
# shellcheck disable=SC2086 # apt_x_opts is a list of options, one word each
(cd "$dir.tmp/debs" && apt-get $opts -q download "${want[@]}" >/dev/null) ||
	die "downloading ${want[*]} failed"
for deb in "$dir.tmp"/debs/*.deb; do
	dpkg-deb -x "$deb" "$dir.tmp/root"
done
rm -rf "$dir.tmp/debs"

# Newer packages keep everything under /usr/lib (merged /usr).
[ -e "$dir.tmp/root/lib" ] || ln -s usr/lib "$dir.tmp/root/lib"
modules=("$dir.tmp/root/lib/modules"/*)
release=${modules[0]##*/}
[ -d "${modules[0]}" ] || release=
[ -n "$release" ] || die "no modules in the packages of kernel $name"
for v in "boot/vmlinuz-$release" "lib/modules/$release/vmlinuz"; do
	if [ -f "$dir.tmp/root/$v" ]; then
		ln -s "root/$v" "$dir.tmp/vmlinuz"
		break
	fi
done
[ -e "$dir.tmp/vmlinuz" ] || die "no vmlinuz in the packages of kernel $name"
echo "$release" >"$dir.tmp/release"
depmod -b "$dir.tmp/root" "$release"

hdr="$dir.tmp/root/usr/src/linux-headers-$release"
[ -f "$hdr/Makefile" ] || die "no headers tree for $release"
mv "$dir.tmp" "$dir"
hdr="$dir/root/usr/src/linux-headers-$release"

if [ "$name" = 7.3 ]; then
	# trixie's kbuild tools need trixie's libc and gcc-14: build there.
	chroot=$("$(dirname "$0")/chroot.sh")
	rm -rf "$chroot/k/$name"
	mkdir -p "$chroot/k"
	cp -a "$dir/root" "$chroot/k/$name"
	inner="/k/$name/usr/src/linux-headers-$release"
	# Debian's headers Makefile includes the common tree by absolute path.
	sed -i "s| /usr/src/| /k/$name/usr/src/|g; s|=/usr/src/|=/k/$name/usr/src/|g" "$chroot$inner/Makefile"
	echo "$inner" >"$dir/kdir"
	echo "$chroot" >"$dir/chroot"
else
	sed -i "s| /usr/src/| $dir/root/usr/src/|g; s|=/usr/src/|=$dir/root/usr/src/|g" "$hdr/Makefile"
	echo "$hdr" >"$dir/kdir"
fi
touch "$dir/ready"
echo "$dir"
