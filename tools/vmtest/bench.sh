#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: one guest, the same fio jobs on qed, loop, qemu-nbd and the
# bare raw file, side by side; medians of the repeats, ratios qed/loop,
# qed/nbd and qed/file, the L2 cache's hit rate and size, as Markdown and
# (with gnuplot) a PNG chart; whether the host was idle meanwhile.
#   bench.sh [KERNEL]   BENCH_RUNTIME=s BENCH_REPEAT=n BENCH_SIZE=MiB
#   BENCH_OUT=DIR (default build/bench); BENCH_SMOKE=1 checks that it runs;
#   BENCH_SETUPS="qed loop" BENCH_JOBS="seqwrite-1m" run only those;
#   BENCH_REPORT_ONLY=1 boots nothing and renders DIR/console.log again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

k=${1:-6.12}
rt=${BENCH_RUNTIME:-5}
rep=${BENCH_REPEAT:-3}
mb=${BENCH_SIZE:-512}
out=${BENCH_OUT:-$QED_TOP/build/bench}
# The list's words, however spaced, one space apart.
read -r -a words <<<"${BENCH_SETUPS:-qed qed-dio loop loop-dio nbd nbd-dio file file-dio}"
setups=${words[*]}
jobs="randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 seqread-1m seqwrite-1m mixed-70-30-fsync alloc-randwrite-4k alloc-seqwrite-1m"
# One line per look at the host: "host: PHASE EPOCH LOAD1 OTHERS", OTHERS
# the comma-separated COMM:PID of what else ran, or "-".
hostlog=$out/host.txt
mkdir -p "$out"

# The qemu, compiler and make processes on the host that are not this
# bench's: neither its ancestors (make bench) nor its descendants (its own
# build, the guest, the sampler) nor the guest whose pid run-vm.sh wrote.
others() {
	local guest
	guest=$(cat "$out/qemu.pid" 2>/dev/null) || guest=
	ps -e -o pid=,ppid=,comm= 2>/dev/null | awk -v me=$$ -v guest="$guest" '
	{ parent[$1] = $2; comm[$1] = $3 }
	END {
		mine[me] = 1
		if (guest != "") mine[guest] = 1
		do {
			n = 0
			for (p in parent)
				if (!(p in mine) && (parent[p] in mine)) { mine[p] = 1; n++ }
		} while (n)
		for (p = parent[me]; p > 1; p = parent[p]) mine[p] = 1
		for (p in comm)
			if (!(p in mine) && comm[p] ~ /^(qemu-system|cc1|make$)/)
				s = s (s == "" ? "" : ",") comm[p] ":" p
		print (s == "" ? "-" : s)
	}'
}
sample_host() {
	echo "host: $1 $(date +%s) $(cut -d' ' -f1 /proc/loadavg) $(others)" >>"$hostlog" || true
}

run_bench() {
	local sampler
	"$(dirname "$0")/deps.sh"
	if ! command -v gnuplot >/dev/null && [ "$(id -u)" = 0 ] && [ -z "${BENCH_SMOKE:-}" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox \
			>/dev/null 2>&1 || log "gnuplot-nox not installed: no chart"
	fi
	make -s -C "$QED_TOP" userspace >/dev/null
	ko=$("$(dirname "$0")/build-module.sh" "$k" "$out")
	"$(dirname "$0")/initramfs.sh" "$k" "$ko" "$out/initrd.cpio"
	log "benchmarking on kernel $k: runtime ${rt}s x $rep, ${mb} MiB"
	# A stale pid file would hide whatever process now has that pid.
	rm -f "$out/qemu.pid" "$hostlog"
	# After our own build, so that its compilers are gone by then.
	sample_host before
	(while sleep 30; do sample_host during; done) &
	sampler=$!
	# shellcheck disable=SC2064 # the sampler's pid, now
	trap "kill $sampler 2>/dev/null || true" EXIT
	# shellcheck disable=SC2086 # unquoted: the lists' words, however spaced
	QED_VM_TIMEOUT=${QED_VM_TIMEOUT:-7200} "$(dirname "$0")/run-vm.sh" "$k" "$out/initrd.cpio" \
		"$out/console.log" qed.mode=bench qed.bench="$rt,$rep,$mb" \
		qed.bench_setups="${setups// /:}" qed.bench_jobs="$(echo ${BENCH_JOBS:-} | tr ' ' :)" \
		qed.bench_prefill="${BENCH_PREFILL:-1}"
	kill "$sampler" 2>/dev/null || true
	trap - EXIT
	sample_host after
	grep -q '^bench: done' "$out/console.log" || die "the benchmark did not finish; see $out/console.log"
}

# The host's record as one phrase for the "Measured:" line: idle, or what
# else ran.  The guest's own load is in the maximum: on a 2-core host a
# lone TCG guest with -smp 2 keeps it near 2.
host_phrase() {
	[ -s "$hostlog" ] || { echo "host load not recorded"; return; }
	awk '$1 == "host:" {
		n++
		if ($4 + 0 > max) max = $4 + 0
		if ($5 == "-") next
		busy++
		m = split($5, a, ",")
		for (i = 1; i <= m; i++) {
			split(a[i], cp, ":")
			if (!(a[i] in seen)) { seen[a[i]] = 1; cnt[cp[1]]++ }
		}
	}
	END {
		if (!busy) { printf "host idle alongside (max load %.2f)\n", max; exit }
		for (c in cnt) s = s (s == "" ? "" : ", ") c " x" cnt[c]
		printf "host NOT idle: %s in %d of %d samples, max load %.2f; rerun on an idle host\n", s, busy, n, max
	}' "$hostlog"
}

report() {
	local con=$out/console.log info run ns s j v row
	[ -r "$con" ] || die "no $con to report on"
	# The serial console ends its lines with CR.
	info=$(grep -m1 '^bench: info' "$con" | tr -d '\r' | cut -d' ' -f3-) || info=
	# The run's own runtime, not this shell's, for a report rendered again.
	run=$(sed -n 's/.*runtime=\([0-9][0-9]*\)s.*/\1/p' <<<"$info")
	rt=${run:-$rt}

	# Medians per setup and job: the value is IOPS for 4k jobs, MiB/s for 1m.
	# The CPU figure is the guest's busy time per I/O in microseconds, all
	# CPUs and the kernel's workers included (fio's own figure leaves those out).
	# For qed the L2 cache's hit rate in % (runs without a lookup left out)
	# and its size at the end of the run in KiB.
	: >"$out/cache.txt"
	awk -v rt="$rt" -v cache="$out/cache.txt" '
	{ sub(/\r$/, "") }
	$1 == "bench:" && NF == 11 {
		key = $2 " " $3
		# $4 repeat, $5/$6 read/write IOPS, $7/$8 read/write KiB/s, $11 busy ticks
		v = ($3 ~ /1m/) ? ($7 + $8) / 1024 : ($5 + $6)
		vals[key] = vals[key] " " v
		ios = ($5 + $6) * rt
		cpu[key] = cpu[key] " " (ios > 0 ? $11 * 10000 / ios : 0)
	}
	# $4 repeat, $5/$6 hits/misses during the run, $7 4 KiB pages at its end
	$1 == "bench-cache:" && NF == 7 {
		key = $2 " " $3
		if ($5 + $6 > 0) rate[key] = rate[key] " " 100 * $5 / ($5 + $6)
		kib[key] = kib[key] " " $7 * 4
	}
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n ? ((n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) : 0
	}
	END {
		for (k in vals) printf "%s %.1f %.1f\n", k, median(vals[k]), median(cpu[k])
		for (k in kib)
			printf "%s %s %.0f\n", k, (k in rate) ? sprintf("%.1f", median(rate[k])) : "-",
				median(kib[k]) > cache
	}' "$con" | sort >"$out/medians.txt"
	sort -o "$out/cache.txt" "$out/cache.txt"

	val() { awk -v s="$1" -v j="$2" '$1 == s && $2 == j { print $3 }' "$out/medians.txt"; }
	cpu() { awk -v s="$1" -v j="$2" '$1 == s && $2 == j { print $4 }' "$out/medians.txt"; }
	hit() { awk -v s="$1" -v j="$2" '$1 == s && $2 == j { print $3 }' "$out/cache.txt"; }
	kib() { awk -v s="$1" -v j="$2" '$1 == s && $2 == j { print $4 }' "$out/cache.txt"; }
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
	# The ratios of the setups this run has, both sides of each.
	local pairs="" p qeds=" "
	for p in qed/loop qed-dio/loop-dio qed/nbd qed-dio/nbd-dio qed/file qed-dio/file-dio; do
		[[ " $setups " != *" ${p%/*} "* || " $setups " != *" ${p#*/} "* ]] || pairs+="$p "
	done
	for s in $setups; do [[ $s != qed* ]] || qeds+="$s "; done
	{
		row="| job (IOPS; MiB/s for 1m) | ${setups// / | } |"
		for p in $pairs; do row+=" $p |"; done
		echo "$row"
		echo "|---|$(for _ in $setups $pairs; do printf -- '---:|'; done)"
		for j in $jobs; do
			row="| $j"
			for s in $setups; do row+=" | $(val "$s" "$j")"; done
			for p in $pairs; do row+=" | $(ratio "$(val "${p%/*}" "$j")" "$(val "${p#*/}" "$j")")"; done
			echo "$row |"
		done
		echo
		echo "| job (guest CPU µs per I/O) | ${setups// / | } |"
		echo "|---|$(for _ in $setups; do printf -- '---:|'; done)"
		for j in $jobs; do
			row="| $j"
			for s in $setups; do row+=" | $(cpu "$s" "$j")"; done
			echo "$row |"
		done
		if [ "$qeds" != " " ]; then
			echo
			row="| job (L2 cache)"
			for s in $qeds; do row+=" | $s hit % | $s KiB"; done
			echo "$row |"
			echo "|---|$(for _ in $qeds $qeds; do printf -- '---:|'; done)"
			for j in $jobs; do
				row="| $j"
				for s in $qeds; do row+=" | $(hit "$s" "$j") | $(kib "$s" "$j")"; done
				echo "$row |"
			done
		fi
	} >"$out/table.md"
	echo "Measured: $info; $(date -u -r "$con" +%Y-%m-%d), QEMU TCG guest (-smp 2 -m 2G) on $(nproc) host cores; $(host_phrase)." >>"$out/table.md"
	cat "$out/table.md"

	if command -v gnuplot >/dev/null; then
		# A setup without a figure for a job plots nothing there, not the next one's.
		for j in $jobs; do
			printf '%s' "$j"
			for s in $setups; do v=$(val "$s" "$j"); printf ' %s' "${v:--}"; done
			echo
		done >"$out/chart.dat"
		ns=$(wc -w <<<"$setups")
		gnuplot <<EOT 2>/dev/null || log "gnuplot failed; no chart"
set terminal pngcairo size 1400,600
set output "$out/chart.png"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel "IOPS (4k jobs), MiB/s (1m jobs), log scale"
set xtics rotate by -30
set key top right
plot for [i=2:$((ns + 1))] "$out/chart.dat" using i:xtic(1) title word("$setups", i-1)
EOT
	fi
	case "$(host_phrase)" in
	"host NOT idle"*) log "warning: $(host_phrase)" ;;
	esac
	if [ -z "${BENCH_SMOKE:-}" ]; then
		log "results in $out (table.md, chart.png, console.log, host.txt)"
	else
		# The smoke only proves the bench runs: every setup measured
		# something, and every qed setup read its cache's counters.
		for s in $setups; do
			grep -q "^$s " "$out/medians.txt" || die "bench smoke: no result for $s"
			[[ $s != qed* ]] || grep -q "^$s " "$out/cache.txt" ||
				die "bench smoke: no L2 cache figures for $s"
		done
	fi
}

[ -n "${BENCH_REPORT_ONLY:-}" ] || run_bench
report
