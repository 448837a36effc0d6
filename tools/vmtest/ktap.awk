# SPDX-License-Identifier: GPL-2.0
# Read a guest console log and count results.  Each test program's KTAP
# subtests count one each; a program that fails without a failing subtest
# (crash, timeout) counts one failure more; a kernel splat counts as a
# failure of the program that was running.  Prints one line per failure and
# a last line "counts PASSED FAILED SKIPPED".
function flush_prog() {
	if (cur == "")
		return
	if (!(cur in done_top)) {
		# Never finished: the guest died or timed out inside it.
		failed++
		printf "FAIL %s: did not finish (guest crashed or timed out)\n", cur
	}
	cur = ""
}
BEGIN { passed = 0; failed = 0; skipped = 0; cur = ""; ended = 0 }
{ sub(/\r$/, "") }
/^# selftests: qed: / {
	flush_prog()
	cur = $4
	sub_fail[cur] = 0
	sub_any[cur] = 0
	next
}
/^# (not )?ok [0-9]+ / && cur != "" {
	sub_any[cur]++
	if ($0 ~ /# SKIP/) {
		skipped++
	} else if ($2 == "not") {
		failed++
		sub_fail[cur]++
		line = $0
		sub(/^# not ok [0-9]+ /, "", line)
		printf "FAIL %s: %s\n", cur, line
	} else {
		passed++
	}
	next
}
/^(not )?ok [0-9]+ selftests: qed: / {
	name = ($1 == "not") ? $6 : $5
	done_top[name] = 1
	if (!sub_any[name]) {
		if ($0 ~ /# SKIP/)
			skipped++
		else if ($1 == "not") {
			failed++
			printf "FAIL %s: %s\n", name, $0
		} else
			passed++
	} else if ($1 == "not" && sub_fail[name] == 0) {
		failed++
		printf "FAIL %s: exited with failure: %s\n", name, $0
	}
	if (name == cur)
		cur = ""
	next
}
/^\[ *[0-9]+\.[0-9]+\] .*(WARNING:|BUG:|Oops|KASAN:|UBSAN:|general protection fault|possible circular locking|possible recursive locking|INFO: task .* blocked|Kernel panic|unreferenced object|kernel BUG)/ {
	failed++
	printf "FAIL %s: kernel: %s\n", (cur != "" ? cur : "(outside tests)"), $0
	next
}
/^vmtest: error:/ { failed++; printf "FAIL setup: %s\n", $0; next }
/^vmtest: end / { ended = 1 }
END {
	flush_prog()
	if (!ended) {
		failed++
		print "FAIL guest: no clean end of the test run"
	}
	printf "counts %d %d %d\n", passed, failed, skipped
}
