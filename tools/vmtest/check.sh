#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: host unit tests, then for each kernel of the matrix build the
# module, boot a guest, run the selftests there and count the results.
#   check.sh [KERNEL...]            (default: 6.1 6.12 7.3)
#   QED_TESTS=qed_write.sh,...      runs only those selftests
set -uo pipefail
. "$(dirname "$0")/lib.sh"

kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(6.1 6.12 7.3)
# The debug lane (KASAN, lockdep, kmemleak, UBSAN, fault injection) takes
# hours under TCG, far more than CI's 90 minutes: make check-debug runs it,
# and QED_DEBUG=1 adds it here when its kernel is already cached.
debug_note=
case " ${kernels[*]} " in
*" debug "*) ;;
*)
	if [ "${QED_DEBUG:-0}" = 1 ] && "$(dirname "$0")/debug-kernel.sh" --cached >/dev/null 2>&1; then
		kernels+=(debug)
	else
		debug_note="debug lane not run here: make check-debug runs it (hours under TCG)"
	fi
	;;
esac
build="$QED_TOP/build/vm"
mkdir -p "$build"

step() { echo "==> $*"; }
fail() { echo "check: FAILED: $*"; echo "0 passed, 1 failed"; exit 1; }

step "host packages"
"$(dirname "$0")/deps.sh" || fail "installing host packages"

step "userspace build (qedctl, selftests)"
make -s -C "$QED_TOP" userspace || fail "building qedctl and the selftests"

step "host unit tests"
unit_out=$(make -s -C "$QED_TOP/tools/unit" run 2>&1)
unit_rc=$?
echo "$unit_out"
[ $unit_rc -eq 0 ] || fail "host unit tests"
read -r unit_pass unit_fail < <(echo "$unit_out" | awk '/^# Totals:/ { for (i = 1; i <= NF; i++) { split($i, kv, ":"); if (kv[1] == "pass") p += kv[2]; if (kv[1] == "fail") f += kv[2] } } END { print p + 0, f + 0 }')

step "host fuzzing (libFuzzer, ${QED_FUZZ_SECONDS:-15}s a target)"
fuzz_out=$(make -s -C "$QED_TOP/tools/fuzz" run FUZZ_SECONDS="${QED_FUZZ_SECONDS:-15}" 2>&1)
fuzz_rc=$?
printf '%s\n' "$fuzz_out" | sed 's/^/    /'
fuzz_targets=$(echo "$fuzz_out" | grep -c "^Done ")
if [ $fuzz_rc -eq 0 ] && [ "$fuzz_targets" -eq 4 ]; then
	unit_pass=$((unit_pass + 4))
else
	unit_fail=$((unit_fail + 1))
fi

step "kernel style: checkpatch --strict"
ksrc=$("$(dirname "$0")/ksrc.sh") || fail "fetching linux-source for checkpatch"
(cd "$QED_TOP" && perl "$ksrc/scripts/checkpatch.pl" --strict --no-tree --quiet -f \
	drivers/block/qed/*.[ch] include/uapi/linux/qedblk.h) || fail "checkpatch --strict"
unit_pass=$((unit_pass + 1))

step "shell scripts: shellcheck (every script of the tree)"
"$(dirname "$0")/shellcheck.sh" | sed 's/^/    /' || fail "shellcheck"
unit_pass=$((unit_pass + 1))
# sparse runs in every module build below that has it (QED_SPARSE).
export QED_SPARSE=1

# The system lane's root (debootstrap, apt, the packages, DKMS) is mostly
# downloads and disk: it is made while the first kernel's guest runs.
system_kernel=${QED_SYSTEM_KERNEL:-6.1}
if [ -z "${QED_NO_EXTRAS:-}" ]; then
	mkdir -p "$build/system"
	# Fetched here, not by both this and the first lane at once.
	"$(dirname "$0")/kernel.sh" "$system_kernel" >/dev/null || fail "fetching kernel $system_kernel"
	"$(dirname "$0")/system.sh" prepare "$system_kernel" >"$build/system/prepare.log" 2>&1 &
	system_prep=$!
fi

total_pass=$unit_pass
total_fail=$unit_fail
total_skip=0
# Every failure's line, printed again last: CI shows only the tail.
failures=""
table=$(printf '%-8s %8s %8s %8s\n' "kernel" "passed" "failed" "skipped")
table+=$'\n'$(printf '%-8s %8d %8d %8d' "host" "$unit_pass" "$unit_fail" 0)

for k in "${kernels[@]}"; do
	out="$build/$k"
	mkdir -p "$out"
	step "kernel $k: fetch"
	"$(dirname "$0")/kernel.sh" "$k" >/dev/null || fail "fetching kernel $k"
	step "kernel $k: build qedblk.ko (W=1, -Werror)"
	ko=$("$(dirname "$0")/build-module.sh" "$k" "$out") || fail "building the module for $k"
	step "kernel $k: initramfs"
	"$(dirname "$0")/initramfs.sh" "$k" "$ko" "$out/initrd.cpio" || fail "building the initramfs for $k"
	step "kernel $k: boot and run the selftests"
	start=$(date +%s)
	"$(dirname "$0")/run-vm.sh" "$k" "$out/initrd.cpio" "$out/console.log" \
		${QED_TESTS:+qed.tests=$QED_TESTS} || fail "running the guest for $k"
	echo "    guest ran $(( $(date +%s) - start ))s; console: $out/console.log"
	res=$(awk -f "$(dirname "$0")/ktap.awk" "$out/console.log")
	read -r _ p f s <<<"$(echo "$res" | tail -n 1)"
	if [ "$f" -gt 0 ]; then
		echo "$res" | grep '^FAIL' | sed "s/^/    [$k] /"
		failures+=$(echo "$res" | grep '^FAIL' | sed "s/^/[$k] /")$'\n'
		# The lines around the first failing subtest, for the same reason.
		failures+=$(grep -n -B 6 -m 1 '^# not ok [0-9]' "$out/console.log" | tail -n 7 | cut -c 1-160 | sed "s/^/[$k]   | /")$'\n'
		echo "    last console lines:"
		grep -v '^$' "$out/console.log" | tail -n 25 | sed 's/^/      | /'
	fi
	echo "    kernel $k: $p passed, $f failed, $s skipped"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
	table+=$'\n'$(printf '%-8s %8d %8d %8d' "$k" "$p" "$f" "$s")
done

[ -n "$debug_note" ] && echo "==> $debug_note"

# DKMS, as the qedblk-dkms package builds it, against every kernel of the
# matrix (now all fetched): in the background of the guests below.
if [ -z "${QED_NO_EXTRAS:-}" ]; then
	(
		for k in "${kernels[@]}"; do
			[ "$k" = debug ] && continue
			"$(dirname "$0")/dkms.sh" "$k" >"$build/dkms-$k.log" 2>&1
		done
	) &
	dkms_job=$!
fi

# make bench must keep working; its numbers mean nothing here and a slow
# machine never fails it: only a bench that produces no result does.  Every
# setup runs, but only three jobs (random, sequential, allocating), which
# the full bench runs as the others; a hang (the bench drives nbd too) must
# not eat the CI budget, so the guest gets 10 minutes.
step "bench smoke (kernel ${kernels[0]})"
if [ -n "${QED_NO_EXTRAS:-}" ]; then
	echo "    skipped (QED_NO_EXTRAS)"
elif QED_VM_TIMEOUT=600 BENCH_SMOKE=1 BENCH_JOBS="randread-4k-qd1 seqwrite-1m alloc-randwrite-4k" BENCH_RUNTIME=1 BENCH_REPEAT=1 BENCH_SIZE=64 BENCH_OUT="$build/bench-smoke" \
	"$(dirname "$0")/bench.sh" "${kernels[0]}" >"$build/bench-smoke.log" 2>&1; then
	total_pass=$((total_pass + 1))
	table+=$'\n'$(printf '%-8s %8d %8d %8d' "bench" 1 0 0)
else
	tail -n 5 "$build/bench-smoke.log" | sed 's/^/    /'
	failures+="[bench] smoke run failed: $build/bench-smoke.log"$'\n'
	total_fail=$((total_fail + 1))
	table+=$'\n'$(printf '%-8s %8d %8d %8d' "bench" 0 1 0)
fi

# Power cuts: a short run here, a long one with make crashtest.
if [ -z "${QED_NO_EXTRAS:-}" ]; then
	step "power cuts (kernel ${kernels[0]}, ${QED_CRASH_CYCLES:-5} cycles)"
	"$(dirname "$0")/crashtest.sh" "${kernels[0]}" "${QED_CRASH_CYCLES:-5}" >"$build/crash.log" 2>&1
	grep -E "^crashtest: |^    crash: not ok" "$build/crash.log" | sed 's/^/    /'
	read -r cp cf < <(awk '/^crashtest: [0-9]+ passed, [0-9]+ failed/ { print $2, $4 }' "$build/crash.log")
	cp=${cp:-0}
	cf=${cf:-1}
	[ "$cf" -gt 0 ] && failures+=$(grep -E "^    crash: not ok" "$build/crash.log" | sed 's/^ */[crash] /')$'\n'"[crash] $build/crash.log"$'\n'
	total_pass=$((total_pass + cp))
	total_fail=$((total_fail + cf))
	table+=$'\n'$(printf '%-8s %8d %8d %8d' "crash" "$cp" "$cf" 0)
fi

if [ -n "${dkms_job:-}" ]; then
	step "DKMS builds (Debian's dkms, kernels ${kernels[*]})"
	wait "$dkms_job"
	dp=0
	df=0
	for k in "${kernels[@]}"; do
		[ "$k" = debug ] && continue
		read -r p f < <(awk '/^# Totals:/ { for (i = 1; i <= NF; i++) { split($i, kv, ":"); if (kv[1] == "pass") p = kv[2]; if (kv[1] == "fail") f = kv[2] } } END { print p + 0, (NR && p != "" ? f + 0 : 1) }' "$build/dkms-$k.log")
		echo "    $k: $p passed, $f failed"
		[ "$f" -gt 0 ] && grep '^not ok' "$build/dkms-$k.log" | sed 's/^/      /'
		[ "$f" -gt 0 ] && failures+=$(grep '^not ok' "$build/dkms-$k.log" | sed "s/^/[dkms $k] /")$'\n'
		dp=$((dp + p))
		df=$((df + f))
	done
	total_pass=$((total_pass + dp))
	total_fail=$((total_fail + df))
	table+=$'\n'$(printf '%-8s %8d %8d %8d' "dkms" "$dp" "$df" 0)
fi

# The system lane: installed from the packages, attached at boot by
# qedtab, mounted from fstab, rebooted (system.sh).
if [ -n "${system_prep:-}" ]; then
	step "system lane (kernel $system_kernel: packages, udev, systemd, reboot)"
	start=$(date +%s)
	sp=0
	sf=0
	if wait "$system_prep"; then
		"$(dirname "$0")/system.sh" run "$system_kernel" >>"$build/system/prepare.log" 2>&1
		res=$(awk -f "$(dirname "$0")/ktap.awk" "$build/system/console.log")
		read -r _ sp sf _ <<<"$(echo "$res" | tail -n 1)"
		# Both boots must have reported.
		[ "$(grep -c '^ok 1 selftests: qed: system_boot\|^not ok 1 selftests: qed: system_boot' \
			"$build/system/console.log")" = 2 ] || sf=$((sf + 1))
		[ "$sf" -gt 0 ] && { echo "$res" | grep '^FAIL' | sed 's/^/    [system] /'
			failures+=$(echo "$res" | grep '^FAIL' | sed 's/^/[system] /')$'\n'"[system] $build/system/console.log"$'\n'
			grep -v '^$' "$build/system/console.log" | tail -n 40 | sed 's/^/      | /'; }
	else
		tail -n 20 "$build/system/prepare.log" | sed 's/^/    /'
		sf=1
	fi
	echo "    system lane: $sp passed, $sf failed ($(( $(date +%s) - start ))s)"
	total_pass=$((total_pass + sp))
	total_fail=$((total_fail + sf))
	table+=$'\n'$(printf '%-8s %8d %8d %8d' "system" "$sp" "$sf" 0)
fi

# Where the time went: the slowest selftest files of every lane.
slow=$(for k in "${kernels[@]}"; do
	awk -v k="$k" '/^vmtest: time / { t = $4; sub(/s$/, "", t); print t, k, $3 }' "$build/$k/console.log" 2>/dev/null
done | sort -rn | head -n 12)
if [ -n "$slow" ]; then
	echo
	echo "slowest selftests (seconds, kernel, test):"
	echo "$slow" | awk '{ printf "  %6d  %-6s %s\n", $1, $2, $3 }'
fi

if [ -n "$failures" ]; then
	echo
	echo "failures:"
	printf '%s' "$failures" | grep -v '^$' | sed 's/^/  /'
fi

echo
echo "$table"
if [ "$total_skip" -gt 0 ]; then
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
	echo "$total_pass passed, $total_fail failed"
fi
[ "$total_fail" -eq 0 ]
