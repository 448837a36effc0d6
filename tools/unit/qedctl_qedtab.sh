#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# /etc/qedtab as qedctl reads it (qedtab.c, the one parser): good lines as
# understood, each bad line named FILE:LINE with one reason and exit
# status 1, and the commands built on it where they need no module.
set -u
SUITE=qedctl_qedtab
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

[ -e /dev/qed-control ] && { echo "1..0 # SKIP qedblk is loaded on this host"; exit 0; }
echo "TAP version 13"

# refused LINE MESSAGE: a qedtab of a good line and LINE (line 3) is
# refused with exactly "qedctl: FILE:3: MESSAGE", the good line kept.
refused() {
	local out rc
	printf '# images\n/var/lib/good.qed\n%s\n' "$1" >"$tmp/bad"
	out=$("$QEDCTL" qedtab --qedtab "$tmp/bad" 2>"$tmp/err")
	rc=$?
	[ $rc = 1 ] || { echo "exit status $rc"; return 1; }
	[ "$(cat "$tmp/err")" = "qedctl: $tmp/bad:3: $2" ] ||
		{ echo "stderr:"; cat "$tmp/err"; echo "wanted: qedctl: $tmp/bad:3: $2"; return 1; }
	[ "$out" = "/var/lib/good.qed - defaults" ] || { echo "stdout: $out"; return 1; }
}

t_good() {
	cat >"$tmp/good" <<'EOF'
# A comment, a blank line, a comment after blanks.

   # indented comment
/var/lib/images/a.qed
/var/lib/images/b.qed	3	ro,direct-io,sector-size=4096
  /srv/my\040disk.qed  -  nofail,no-partscan
/data/c.qed - _netdev,noauto
/data/d.qed 7 defaults
/data/e.qed - ro,rw,no-partscan,partscan,noauto,auto,nofail,fail,sector-size=4k
//data//f.qed/ 0 -
EOF
	"$QEDCTL" qedtab --qedtab "$tmp/good" >"$tmp/out" || return 1
	diff -u - "$tmp/out" <<'EOF'
/var/lib/images/a.qed - defaults
/var/lib/images/b.qed 3 ro,direct-io,sector-size=4096
/srv/my\040disk.qed - no-partscan,nofail
/data/c.qed - noauto,_netdev
/data/d.qed 7 defaults
/data/e.qed - sector-size=4096
/data/f.qed 0 defaults
EOF
}
t good_lines t_good

# What qedctl qedtab prints is a qedtab that reads the same.
t_round_trip() {
	"$QEDCTL" qedtab --qedtab "$tmp/out" >"$tmp/out2" && diff -u "$tmp/out" "$tmp/out2"
}
t round_trip t_round_trip

t relative refused "disk.qed" "IMAGE 'disk.qed' is not an absolute path"
t dotdot refused "/a/../b.qed" "IMAGE '/a/../b.qed' has a '.' or '..' in it (name it plainly)"
t dot refused "/a/./b.qed -" "IMAGE '/a/./b.qed' has a '.' or '..' in it (name it plainly)"
t root refused "/ -" "IMAGE '/' is a directory"
t bad_escape refused '/a\9.qed' "a '\\' in IMAGE that is not \\NNN (octal, as \\040 for a blank)"
t control_char refused '/a\011b.qed' "IMAGE holds a control character"
t four_fields refused "/a.qed - ro extra" "more than 3 fields (IMAGE INDEX OPTIONS; a blank in IMAGE is \\040)"
t bad_index refused "/a.qed qed3" "INDEX 'qed3' is neither '-' nor a number from 0 to 65535"
t index_too_big refused "/a.qed 65536" "INDEX '65536' is neither '-' nor a number from 0 to 65535"
t negative_index refused "/a.qed -1" "INDEX '-1' is neither '-' nor a number from 0 to 65535"
t unknown_option refused "/a.qed - ro,bogus" "unknown option 'bogus'"
t empty_option refused "/a.qed - ro,,nofail" "an empty option (two commas, or one at an end)"
t trailing_comma refused "/a.qed - ro," "an empty option (two commas, or one at an end)"
t value_on_flag refused "/a.qed - ro=1" "option 'ro' takes no value"
t sector_size refused "/a.qed - sector-size=1000" "sector-size=1000 is not 512, 1024, 2048 or 4096"
t sector_size_empty refused "/a.qed - sector-size" "sector-size= is not 512, 1024, 2048 or 4096"
t duplicate_image refused "/var/lib//good.qed" "/var/lib/good.qed is listed already, at line 2"
t_duplicate_index() {
	printf '/a.qed 5\n/b.qed 5\n' >"$tmp/dup"
	out=$("$QEDCTL" qedtab --qedtab "$tmp/dup" 2>&1)
	[ $? = 1 ] && [ "$out" = "qedctl: $tmp/dup:2: INDEX 5 is taken already, at line 1
/a.qed 5 defaults" ]
}
t duplicate_index t_duplicate_index
t_nul() {
	printf '/var/lib/good.qed\n/a.qed\0/b.qed\n' >"$tmp/nul"
	out=$("$QEDCTL" qedtab --qedtab "$tmp/nul" 2>&1)
	[ $? = 1 ] && [ "$out" = "qedctl: $tmp/nul:2: a NUL byte in the line
/var/lib/good.qed - defaults" ]
}
t nul_byte t_nul

# Every bad line is named, each once, in order.
t_every_bad_line() {
	printf '/a.qed bad\n/b.qed\nrel\n/c.qed - x\n' >"$tmp/many"
	"$QEDCTL" qedtab --qedtab "$tmp/many" >/dev/null 2>"$tmp/err"
	[ $? = 1 ] && diff -u - "$tmp/err" <<EOF
qedctl: $tmp/many:1: INDEX 'bad' is neither '-' nor a number from 0 to 65535
qedctl: $tmp/many:3: IMAGE 'rel' is not an absolute path
qedctl: $tmp/many:4: unknown option 'x'
EOF
}
t every_bad_line_named t_every_bad_line

# No qedtab at its default place: nothing to attach.  One named: an error.
t missing_default_is_empty sh -c 'out=$(QEDCTL_QEDTAB=/nonexistent/qedtab "$1" qedtab) &&
	[ -z "$out" ] && QEDCTL_QEDTAB=/nonexistent/qedtab "$1" attach --all' - "$QEDCTL"
t missing_named_is_error sh -c 'out=$("$1" qedtab --qedtab /nonexistent/qedtab 2>&1); [ $? = 1 ] &&
	[ "$out" = "qedctl: /nonexistent/qedtab: No such file or directory" ]' - "$QEDCTL"
t default_path_in_env sh -c 'printf "/x.qed - bogus\n" >"$2/env" &&
	out=$(QEDCTL_QEDTAB="$2/env" "$1" qedtab 2>&1); [ $? = 1 ] &&
	[ "$out" = "qedctl: $2/env:1: unknown option '\''bogus'\''" ]' - "$QEDCTL" "$tmp"

# attach --all: noauto entries need no module; bad lines are named first.
t_all_noauto() {
	printf '/a.qed - noauto\n# c\n' >"$tmp/noauto"
	"$QEDCTL" attach --all --qedtab "$tmp/noauto"
}
t attach_all_only_noauto t_all_noauto
t_all_bad_line() {
	printf '/a.qed - noauto,bogus\n' >"$tmp/noauto2"
	out=$("$QEDCTL" attach --all --qedtab "$tmp/noauto2" 2>&1)
	[ $? = 1 ] && [ "$out" = "qedctl: $tmp/noauto2:1: unknown option 'bogus'" ]
}
t attach_all_names_bad_line t_all_bad_line
t_all_no_module() {
	printf '/a.qed\n' >"$tmp/one"
	out=$("$QEDCTL" attach --all --qedtab "$tmp/one" 2>&1)
	[ $? = 1 ] && echo "$out" | grep -q "is the qedblk module loaded"
}
t attach_all_without_module t_all_no_module

# attach --qedtab-entry: the entry by its path, however spelled.
t_entry_not_listed() {
	out=$("$QEDCTL" attach --qedtab-entry --qedtab "$tmp/good" /var/lib/images/z.qed 2>&1)
	[ $? = 1 ] && [ "$out" = "qedctl: /var/lib/images/z.qed: not listed in $tmp/good" ]
}
t entry_not_listed t_entry_not_listed
t_entry_bad_line() {
	printf '/a.qed\n/b.qed - bogus\n' >"$tmp/entry"
	out=$("$QEDCTL" attach --qedtab-entry --qedtab "$tmp/entry" /b.qed 2>&1)
	[ $? = 1 ] && [ "$out" = "qedctl: $tmp/entry:2: unknown option 'bogus'" ]
}
t entry_bad_line_named t_entry_bad_line
# Found (spelled with doubled slashes), it goes on to the module: not here.
t_entry_found() {
	out=$("$QEDCTL" attach --qedtab-entry --qedtab "$tmp/good" //srv/my\ disk.qed 2>&1)
	[ $? = 1 ] && echo "$out" | grep -q "is the qedblk module loaded"
}
t entry_found_by_normal_path t_entry_found
# Other bad lines are the generator's to report, not a unit's failure.
t_entry_others_bad() {
	printf '/a.qed - bogus\n/b.qed - noauto\n' >"$tmp/others"
	out=$("$QEDCTL" attach --qedtab-entry --qedtab "$tmp/others" /b.qed 2>&1)
	! echo "$out" | grep -q bogus
}
t entry_ignores_other_bad_lines t_entry_others_bad

t usage_errors sh -c '
	"$1" attach --all /a.qed 2>&1 | grep -q "^qedctl: attach: --all takes no IMAGE$" &&
	"$1" attach --all --qedtab-entry /a.qed 2>&1 | grep -q "exclude each other" &&
	"$1" attach --qedtab-entry 2>&1 | grep -q "^qedctl: attach: --qedtab-entry takes one IMAGE$" &&
	"$1" attach --qedtab-entry -r /a.qed 2>&1 | grep -q "come from the qedtab" &&
	"$1" attach --qedtab /etc/qedtab /a.qed 2>&1 | grep -q "goes with --all or --qedtab-entry" &&
	"$1" detach --qedtab-entry 2>&1 | grep -q "takes one IMAGE" &&
	"$1" qedtab extra 2>&1 | grep -q "no arguments"' - "$QEDCTL"
# At shutdown without the module there is nothing to detach: no failure.
t detach_entry_without_module "$QEDCTL" detach --qedtab-entry /var/lib/images/a.qed
t help_names_options sh -c '"$1" qedtab --help | grep -q "sector-size=N" &&
	"$1" attach --help | grep -q -- "--qedtab-entry" && "$1" detach --help | grep -q -- "--qedtab-entry" &&
	"$1" --help | grep -q "^  qedtab "' - "$QEDCTL"
echo "1..$n"
tap_totals
