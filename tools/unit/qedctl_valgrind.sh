#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qedctl's file commands under valgrind: no invalid access, no leak.
# (The kernel commands are exercised in the guest, which has no valgrind.)
set -u
SUITE=qedctl_valgrind
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

vg() {
	local name=$1 rc=0
	shift
	valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
		--error-exitcode=99 "$QEDCTL" "$@" >"$tmp/out" 2>&1
	[ $? -ne 99 ] || { sed 's/^/# /' "$tmp/out"; rc=1; }
	tap_result $rc "$name"
}
echo "TAP version 13"
vg create create -s 1G -c 4K -t 2 "$tmp/a.qed"
vg create_options create -s 1G -o cluster_size=4K,table_size=2 "$tmp/o.qed"
vg create_options_help create -o help
vg create_refused_geometry create -s 1G -t 1 "$tmp/r.qed"
vg info info "$tmp/a.qed"
vg resize_image resize "$tmp/o.qed" +1G
vg resize_refused resize --shrink "$tmp/o.qed" 1M
vg info_json info --json "$tmp/a.qed"
vg check check "$tmp/a.qed"
vg check_json check --json "$tmp/a.qed"
head -c 8K /dev/zero >>"$tmp/a.qed"
vg check_repair_leaks check -r leaks "$tmp/a.qed"
vg check_repair_all check --repair=all --output=json "$tmp/a.qed"
echo junk >"$tmp/junk"
vg info_error info "$tmp/junk"
vg help --help
head -c 1M /dev/zero >"$tmp/base.raw"
vg create_backing create -b base.raw -F raw "$tmp/ov.qed"
vg create_backing_probed create -b ov.qed -F qed "$tmp/ov2.qed"
vg info_chain info --json "$tmp/ov2.qed"
vg list_all_columns list --output-all -J
vg list_help list --help
vg losetup_version -V
qemu-io -f qed -c 'write -P 1 0 64k' -c 'write -z 1M 64k' "$tmp/ov2.qed" >/dev/null
vg map_chain map "$tmp/ov2.qed"
vg map_chain_json map --output=json "$tmp/ov2.qed"
vg map_error map "$tmp/junk.qed"
vg compare_same compare "$tmp/ov2.qed" "$tmp/ov2.qed"
vg compare_differ compare "$tmp/ov2.qed" "$tmp/base.raw"
vg compare_strict compare -s "$tmp/ov.qed" "$tmp/base.raw"
vg compare_error compare "$tmp/ov2.qed" "$tmp/missing"
vg convert_chain_qed convert -p -O qed -o cluster_size=4k "$tmp/ov2.qed" "$tmp/conv.qed"
vg convert_chain_raw convert "$tmp/ov2.qed" "$tmp/conv.raw"
vg convert_error convert -O qed "$tmp/missing" "$tmp/conv2.qed"
cp "$tmp/ov2.qed" "$tmp/rb.qed"
vg rebase_safe rebase -p -b base.raw -F raw "$tmp/rb.qed"
vg rebase_remove rebase -b "" "$tmp/rb.qed"
vg rebase_unsafe rebase -u -b ov.qed -F qed "$tmp/rb.qed"
vg rebase_error rebase -b missing.qed -F qed "$tmp/rb.qed"
vg commit_into_qed commit -p "$tmp/ov2.qed"
vg commit_into_raw commit "$tmp/ov.qed"
vg commit_error commit "$tmp/a.qed"
printf '/var/lib/a.qed\n/srv/b\\040c.qed 3 ro,sector-size=4096,nofail\n/d.qed - bogus\n/e.qed - noauto\n' \
	>"$tmp/qedtab"
printf '/dev/vda / ext4 defaults 0 1\n/dev/vdb /srv ext4 defaults 0 2\n' >"$tmp/fstab"
vg qedtab qedtab --qedtab "$tmp/qedtab"
vg qedtab_missing qedtab --qedtab "$tmp/nonexistent"
mkdir -p "$tmp/gen"
QEDCTL_QEDTAB=$tmp/qedtab LIBMOUNT_FSTAB=$tmp/fstab vg generate_units generate-units "$tmp/gen"
vg attach_all_no_module attach --all --qedtab "$tmp/qedtab"
printf "/e.qed - noauto\n" >"$tmp/noauto"
vg attach_all_noauto attach --all --qedtab "$tmp/noauto"
vg attach_entry_bad attach --qedtab-entry --qedtab "$tmp/qedtab" /d.qed
vg attach_entry_missing attach --qedtab-entry --qedtab "$tmp/qedtab" /x.qed
vg detach_entry detach --qedtab-entry /var/lib/a.qed
vg mount_no_dir mount "$tmp/a.qed" "$tmp/nodir"
vg mount_loop_refused mount -o loop "$tmp/a.qed" "$tmp"
vg mount_no_module mount -o ro,noatime -t ext4 "$tmp/a.qed" "$tmp"
vg umount_not_qed umount /proc
vg umount_not_mounted umount "$tmp"
# The plan at the end (TAP allows it): a case added is counted by itself.
echo "1..$n"
tap_totals
