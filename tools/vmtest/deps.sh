#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the host packages the bench needs, from the host's own suite
# (bookworm) only.  Kernels from newer suites never go into the host: see
# kernel.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# command package
need=(
	"qemu-system-x86_64 qemu-system-x86"
	"qemu-img qemu-utils"
	"busybox busybox-static"
	"cpio cpio"
	"kmod kmod"
	"mkfs.ext4 e2fsprogs"
	"mkfs.xfs xfsprogs"
	"fio fio"
	"sparse sparse"
	"perl perl"
	"valgrind valgrind"
	# the host test of qedctl's completion and manual pages
	"shellcheck shellcheck"
	"rst2man python3-docutils"
	"groff groff-base"
	"man man-db"
	"debootstrap debootstrap"
	"unshare util-linux"
	# qed_fio.sh counts the image's page-cache pages
	"fincore util-linux-extra"
	"xz xz-utils"
	"gcc gcc"
	"make make"
	"clang clang"
	"jq jq"
	"dkms dkms"
	# make deb, for the system lane
	"dpkg-buildpackage dpkg-dev"
	"dh debhelper"
	"dh_dkms dh-dkms"
	"pahole dwarves"
)
missing=()
for n in "${need[@]}"; do
	read -r cmd pkg <<<"$n"
	command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
# busybox must be the static one: it runs inside the guest.
if command -v busybox >/dev/null; then
	case "$(ldd "$(command -v busybox)" 2>&1 || true)" in
	*"not a dynamic"*) ;;
	*) missing+=(busybox-static) ;;
	esac
fi
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
# qedctl's list is printed by util-linux's libsmartcols, as losetup's is.
[ -e /usr/include/libsmartcols/libsmartcols.h ] || missing+=(libsmartcols-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
# libmount: qedctl mount and umount, and the generator's reading of fstab.
[ -e /usr/include/libmount/libmount.h ] || missing+=(libmount-dev)
# The host test of the udev rules runs udevadm test (systemd-analyze, for
# the generator's units, comes with systemd where there is one; else skipped).
command -v udevadm >/dev/null || missing+=(udev)
# libFuzzer's runtime (make fuzz) is not pulled in by clang.
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
	missing+=(libclang-rt-14-dev)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	die "missing packages: ${missing[*]} (install them, or run as root)"
fi
log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
