#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Make the seed corpus from images QEMU writes: corpus/header gets the file
# size (8 bytes, little-endian) and the first cluster of each, corpus/check
# small whole images.  Run again only to change the seeds.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p corpus/header corpus/check
le64() { printf "%016x" "$1" | sed 's/../& /g' | awk '{ for (i = NF; i >= 1; i--) printf "\\x%s", $i }'; }
n=0
for geo in "4k 2 1M" "4k 4 8M" "64k 4 64M" "16k 16 1G" "2M 8 1G"; do
	read -r cs ts size <<<"$geo"
	n=$((n + 1))
	img="$tmp/$n.qed"
	qemu-img create -q -f qed -o cluster_size="$cs",table_size="$ts" "$img" "$size"
	[ $n -eq 3 ] && { head -c 65536 /dev/zero >"$tmp/base.raw"
		qemu-img create -q -f qed -b base.raw -F raw "$img" 64M; }
	[ $n -eq 4 ] && qemu-img create -q -f qed -u -b base.qed -F qed "$img" 1G
	qemu-io -f qed -c "write -P 1 0 8k" -c "write -z 16k 4k" "$img" >/dev/null 2>&1 || true
	{ printf '%b' "$(le64 "$(stat -c %s "$img")")"; head -c 4096 "$img"; } >corpus/header/seed-$n
	if [ "$(stat -c %s "$img")" -le 65536 ]; then cp "$img" corpus/check/seed-$n; fi
done
qemu-io -f qed -c "write -P 2 512k 12k" -c "write -P 3 100k 4k" "$tmp/1.qed" >/dev/null
cp "$tmp/1.qed" corpus/check/seed-1b
ls -l corpus/*
