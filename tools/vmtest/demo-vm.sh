#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: on a fresh machine, run the main job in a VM: create an image,
# attach it, mkfs, mount, write, unmount, detach, qemu-img check.
#   demo-vm.sh [KERNEL]     (default 6.12)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

k=${1:-6.12}
out="$QED_TOP/build/vm/demo-$k"
mkdir -p "$out"
"$(dirname "$0")/deps.sh"
make -s -C "$QED_TOP" userspace >/dev/null
ko=$("$(dirname "$0")/build-module.sh" "$k" "$out")
"$(dirname "$0")/initramfs.sh" "$k" "$ko" "$out/initrd.cpio"
log "booting kernel $k (TCG emulation: about a minute)"
"$(dirname "$0")/run-vm.sh" "$k" "$out/initrd.cpio" "$out/console.log" qed.mode=demo
# The guest's own output, without firmware noise.
sed -n '/^vmtest: kernel/,/^vmtest: end/p' "$out/console.log" | grep -v '^vmtest: end'
grep -q '^demo: OK' "$out/console.log" || die "the demo failed; console: $out/console.log"
