#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: one guest, the same fio jobs on qed, loop and qemu-nbd, side
# by side; medians of the repeats, ratios qed/loop and qed/nbd, as Markdown
# and (with gnuplot) a PNG chart.
#   bench.sh [KERNEL]   BENCH_RUNTIME=s BENCH_REPEAT=n BENCH_SIZE=MiB
#   BENCH_OUT=DIR (default build/bench); BENCH_SMOKE=1 checks that it runs;
#   BENCH_SETUPS="qed loop" BENCH_JOBS="seqwrite-1m" run only those.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

k=${1:-6.12}
rt=${BENCH_RUNTIME:-5}
rep=${BENCH_REPEAT:-3}
mb=${BENCH_SIZE:-512}
out=${BENCH_OUT:-$QED_TOP/build/bench}
mkdir -p "$out"
"$(dirname "$0")/deps.sh"
if ! command -v gnuplot >/dev/null && [ "$(id -u)" = 0 ] && [ -z "${BENCH_SMOKE:-}" ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox \
		>/dev/null 2>&1 || log "gnuplot-nox not installed: no chart"
fi
make -s -C "$QED_TOP" userspace >/dev/null
ko=$("$(dirname "$0")/build-module.sh" "$k" "$out")
"$(dirname "$0")/initramfs.sh" "$k" "$ko" "$out/initrd.cpio"
log "benchmarking on kernel $k: runtime ${rt}s x $rep, ${mb} MiB"
# shellcheck disable=SC2086 # unquoted: the lists' words, however spaced
QED_VM_TIMEOUT=${QED_VM_TIMEOUT:-7200} "$(dirname "$0")/run-vm.sh" "$k" "$out/initrd.cpio" \
	"$out/console.log" qed.mode=bench qed.bench="$rt,$rep,$mb" \
	qed.bench_setups="$(echo ${BENCH_SETUPS:-} | tr ' ' :)" qed.bench_jobs="$(echo ${BENCH_JOBS:-} | tr ' ' :)"
grep -q '^bench: done' "$out/console.log" || die "the benchmark did not finish; see $out/console.log"

# Medians per setup and job: the value is IOPS for 4k jobs, MiB/s for 1m.
# The CPU figure is the guest's busy time per I/O in microseconds, all
# CPUs and the kernel's workers included (fio's own figure leaves those out).
awk -v rt="$rt" '
$1 == "bench:" && NF == 11 {
	key = $2 " " $3
	# $4 repeat, $5/$6 read/write IOPS, $7/$8 read/write KiB/s, $11 busy ticks
	v = ($3 ~ /1m/) ? ($7 + $8) / 1024 : ($5 + $6)
	vals[key] = vals[key] " " v
	ios = ($5 + $6) * rt
	cpu[key] = cpu[key] " " (ios > 0 ? $11 * 10000 / ios : 0)
	jobs[$3] = 1; setups[$2] = 1
}
function median(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n ? ((n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) : 0
}
END {
	for (k in vals) printf "%s %.1f %.1f\n", k, median(vals[k]), median(cpu[k])
}' "$out/console.log" | sort >"$out/medians.txt"

info=$(grep -m1 '^bench: info' "$out/console.log" | cut -d' ' -f3-)
setups="qed qed-dio loop loop-dio nbd nbd-dio"
jobs="randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 seqread-1m seqwrite-1m mixed-70-30-fsync alloc-randwrite-4k alloc-seqwrite-1m"
val() { awk -v s="$1" -v j="$2" '$1 == s && $2 == j { print $3 }' "$out/medians.txt"; }
cpu() { awk -v s="$1" -v j="$2" '$1 == s && $2 == j { print $4 }' "$out/medians.txt"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
{
	echo "| job (IOPS; MiB/s for 1m) | ${setups// / | } | qed/loop | qed-dio/loop-dio | qed/nbd | qed-dio/nbd-dio |"
	echo "|---|$(for _ in $setups; do printf -- '---:|'; done)---:|---:|---:|---:|"
	for j in $jobs; do
		row="| $j"
		for s in $setups; do row+=" | $(val "$s" "$j")"; done
		row+=" | $(ratio "$(val qed "$j")" "$(val loop "$j")")"
		row+=" | $(ratio "$(val qed-dio "$j")" "$(val loop-dio "$j")")"
		row+=" | $(ratio "$(val qed "$j")" "$(val nbd "$j")")"
		row+=" | $(ratio "$(val qed-dio "$j")" "$(val nbd-dio "$j")") |"
		echo "$row"
	done
	echo
	echo "| job (guest CPU µs per I/O) | ${setups// / | } |"
	echo "|---|$(for _ in $setups; do printf -- '---:|'; done)"
	for j in $jobs; do
		row="| $j"
		for s in $setups; do row+=" | $(cpu "$s" "$j")"; done
		echo "$row |"
	done
} >"$out/table.md"
echo "Measured: $info; $(date -u +%Y-%m-%d), QEMU TCG guest (-smp 2 -m 2G) on $(nproc) host cores." >>"$out/table.md"
cat "$out/table.md"

if command -v gnuplot >/dev/null; then
	for j in $jobs; do
		printf '%s' "$j"
		for s in $setups; do printf ' %s' "$(val "$s" "$j")"; done
		echo
	done >"$out/chart.dat"
	gnuplot <<EOT 2>/dev/null || log "gnuplot failed; no chart"
set terminal pngcairo size 1400,600
set output "$out/chart.png"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel "IOPS (4k jobs), MiB/s (1m jobs), log scale"
set xtics rotate by -30
set key top right
plot for [i=2:7] "$out/chart.dat" using i:xtic(1) title word("$setups", i-1)
EOT
fi
if [ -z "${BENCH_SMOKE:-}" ]; then
	log "results in $out (table.md, chart.png, console.log)"
else
	# The smoke only proves the bench runs: every setup measured something.
	for s in $setups; do
		[ -n "$(val "$s" randread-4k-qd1)" ] || die "bench smoke: no result for $s"
	done
fi
