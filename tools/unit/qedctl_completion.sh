#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qedctl's bash completion (tools/qedctl/qedctl.bash) called as bash calls
# it, with COMP_WORDS and COMP_CWORD set; then the drift test: every
# command 'qedctl help' lists, every option its --help names and every
# column of 'list --help' must be in qedctl(8) and in the completion, so
# the tool, its manual and its completion cannot drift apart; and the
# manual pages render without a warning.
set -u
SUITE=qedctl_completion
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
self=$top/tools/unit/$(basename "$0")
QEDCTL=$(cd "$(dirname "$QEDCTL")" && pwd)/$(basename "$QEDCTL")
man8=$top/Documentation/man/qedctl.8.rst

# shellcheck source=../qedctl/qedctl.bash
. "$top/tools/qedctl/qedctl.bash"
# The host has no qed devices, and nothing mounted from one: these stand in.
_qedctl_devices() { printf '%s\n' /dev/qed0 /dev/qed7; }
_qedctl_mountpoints() { printf '%s\n' /srv/data; }

skip() {
	n=$((n + 1))
	echo "ok $n $SUITE.$1 # SKIP $2"
}

# comp WORD...: what bash would offer for the last WORD, one a line.
comp() {
	local COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMPREPLY=()
	_qedctl qedctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}"
}

# comp_is 'EXPECTED...' WORD...: exactly those, in any order.
comp_is() {
	local want got
	# shellcheck disable=SC2086 # the expected words, one each
	want=$(printf '%s\n' $1 | sort)
	shift
	got=$(comp "$@" | sort)
	[ "$got" = "$want" ] && return 0
	echo "completing '$*': got '${got//$'\n'/ }', want '${want//$'\n'/ }'"
	return 1
}

# bash splits words at these, '=' and ':' included (its default).
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
cd "$tmp" || exit 1
touch a.qed b.raw
mkdir mnt

echo "TAP version 13"
commands=$("$QEDCTL" help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
t commands_listed sh -c '[ $(echo "$1" | wc -w) -ge 13 ]' - "$commands"
t first_word_is_a_command comp_is "$commands help version" qedctl ''
t command_prefix comp_is 'compare convert commit' qedctl co
t attach_options_by_prefix comp_is '--direct-io --direct-io=' qedctl attach --dir
t attach_image_is_a_file comp_is 'a.qed b.raw mnt' qedctl attach ''
t sector_sizes comp_is '512 1024 2048 4096' qedctl attach -b ''
t direct_io_values comp_is 'on off' qedctl set --direct-io = ''
t direct_io_value_prefix comp_is 'on off' qedctl set --direct-io = o
# Where COMP_WORDBREAKS has no '=', the word is whole.
unsplit() {
	local COMP_WORDBREAKS=$' \t\n'
	comp_is '--direct-io=on --direct-io=off' qedctl set --direct-io=o
}
t direct_io_unsplit unsplit
t set_takes_a_device comp_is '/dev/qed0 /dev/qed7' qedctl set --direct-io ''
t detach_takes_devices comp_is '/dev/qed0 /dev/qed7' qedctl detach /dev/qed0 ''
t detach_qed7 comp_is '/dev/qed7' qedctl detach /dev/qed7
t list_columns comp_is 'NAME,SIZE' qedctl list -O NAME,SI
t list_column_with_colon comp_is 'MIN' qedctl list -O BACK-MAJ : M
t list_columns_by_prefix comp_is 'NAME,DIO NAME,DIRTY' qedctl list -O NAME,DI
t list_column_once comp_is 'NAME,DIRTY,DIO' qedctl list -O NAME,DIRTY,DI
t list_associated_file comp_is 'a.qed' qedctl list -j a
t check_repair_modes comp_is 'leaks all' qedctl check -r ''
t check_repair_long comp_is 'leaks' qedctl check --repair = l
t check_output comp_is 'json' qedctl check --output = j
t create_formats comp_is 'raw qed' qedctl create -b b.raw -F ''
t create_o_names comp_is '64K,table_size=' qedctl create -o cluster_size = 64K,t
t create_image_after_options comp_is 'a.qed' qedctl create -s 1G -c 64K a
t convert_formats comp_is 'raw qed' qedctl convert -O ''
t resize_device_or_image comp_is '/dev/qed0 /dev/qed7 a.qed b.raw mnt' qedctl resize ''
t resize_size_is_not_a_file comp_is '' qedctl resize a.qed ''
mount_args() {
	comp_is 'a.qed' qedctl mount a && comp_is 'mnt' qedctl mount -o ro a.qed ''
}
t mount_image_then_directory mount_args
t umount_mountpoint_or_device comp_is '/srv/data /dev/qed0 /dev/qed7' qedctl umount ''
t mount_options comp_is '--read-only' qedctl mount --r
t qedtab_entry_is_an_image comp_is 'a.qed' qedctl detach --qedtab-entry a
t qedtab_file comp_is 'b.raw' qedctl attach --all --qedtab b
t generate_units_directories comp_is 'mnt' qedctl generate-units m
t help_takes_nothing comp_is '' qedctl help ''
t losetup_options comp_is '--detach --detach-all --direct-io --direct-io=' qedctl --d
t losetup_detach_devices comp_is '/dev/qed0 /dev/qed7' qedctl -d ''
t losetup_list_devices comp_is '/dev/qed0 /dev/qed7' qedctl -a -n ''
t losetup_attach_image comp_is 'a.qed b.raw mnt' qedctl -f --show -b 4096 ''
t losetup_direct_io_device_or_image comp_is '/dev/qed0 /dev/qed7 a.qed b.raw mnt' \
	qedctl --direct-io = on ''
t losetup_output_columns comp_is 'BACK-FILE BACK-INO BACK-MAJ:MIN BACKING' qedctl -l -O BA

# --- drift: qedctl, qedctl(8) and the completion ---------------------------

# The options a --help text offers: those of its usage lines ("usage:
# qedctl ..." and the lines that go on with "qedctl ..."), and those an
# option line begins with ("  -r, --repair=leaks  ...", "  -U: ...");
# not the options of other commands that its prose mentions.
help_options() {
	awk '/^(usage:| +qedctl )/ {
		line = $0
		while (match(line, /(^|[] ,(|[])--?[A-Za-z][A-Za-z-]*/)) {
			opt = substr(line, RSTART, RLENGTH)
			sub(/^[] ,(|[]/, "", opt)
			print opt
			line = substr(line, RSTART + RLENGTH)
		}
		next
	}
	match($0, /^ +-[^ :]*(, -[^ :]*)*/) {
		n = split(substr($0, RSTART, RLENGTH), opts, ", ")
		for (i = 1; i <= n; i++) {
			opt = opts[i]
			sub(/^ +/, "", opt)
			sub(/[=[].*/, "", opt)
			print opt
		}
	}' | sort -u
}

# In qedctl(8) an option is bold: **-x**, **--long**, **--long=...**,
# **-r leaks**, **--direct-io**\ [=...
in_man() {
	grep -qE "\*\*$(printf '%s' "$1" | sed 's/[.]/\\./g')(\*\*|[= ])" "$man8"
}

# drift COMMAND: the command and each option of its --help in qedctl(8)
# and offered by the completion.
drift() {
	local cmd=$1 opt missing=
	grep -qx -- "$cmd" "$man8" || missing+=" man:section"
	grep -qE -- "^\| \*\*qedctl $cmd(\*\*| )" "$man8" || missing+=" man:synopsis"
	comp qedctl '' | grep -qx -- "$cmd" || missing+=" completion:command"
	for opt in $("$QEDCTL" "$cmd" --help | help_options); do
		# resize -U is named only to say that it is refused.
		[ "$cmd:$opt" = resize:-U ] || [ "$cmd:$opt" = resize:--force-share ] && continue
		in_man "$opt" || missing+=" man:$opt"
		comp qedctl "$cmd" - | grep -qxE -- "$opt=?" || missing+=" completion:$opt"
	done
	[ -z "$missing" ] || { echo "$cmd: missing$missing"; return 1; }
}

for c in $commands; do
	t "drift_$c" drift "$c"
done

# No command in qedctl(8) that qedctl does not have: each subsection of
# COMMANDS but "help, version" is one of 'qedctl help'.
man_commands() {
	local c extra=
	while read -r c; do
		grep -qx -- "$c" <<<"$commands" || extra+=" $c"
	done < <(awk '/^COMMANDS$/ { on = 1 } /^[A-Z ]+$/ && !/^COMMANDS$/ { on = 0 }
		on && prev ~ /^[a-z][a-z-]*$/ && /^-+$/ { print prev } { prev = $0 }' "$man8")
	[ -z "$extra" ] || { echo "qedctl(8) documents commands qedctl lacks:$extra"; return 1; }
}
t no_stray_man_commands man_commands

drift_losetup() {
	local opt missing=
	for opt in $("$QEDCTL" help | sed -n '/losetup/,$p' | help_options); do
		in_man "$opt" || missing+=" man:$opt"
		comp qedctl - | grep -qxE -- "$opt=?" || missing+=" completion:$opt"
	done
	[ -z "$missing" ] || { echo "losetup options: missing$missing"; return 1; }
}
t drift_losetup_options drift_losetup

drift_columns() {
	local col missing=
	for col in $("$QEDCTL" list --help | sed -n '/^Columns/,$p' | awk 'NR > 1 { print $1 }'); do
		grep -qx -- "\*\*$col\*\*" "$man8" || missing+=" man:$col"
		comp qedctl list -O '' | grep -qx -- "$col" || missing+=" completion:$col"
	done
	[ -z "$missing" ] || { echo "list columns: missing$missing"; return 1; }
}
t drift_list_columns drift_columns

# The manual pages name the version qedctl and the module report.
version=$(sed -n 's/^#define QED_VERSION "\(.*\)"/\1/p' "$top/drivers/block/qed/qed_version.h")
t man_version sh -c 'for f in "$1"/Documentation/man/*.rst; do
	grep -qx ":Version: qed $2" "$f" || { echo "$f: not :Version: qed $2"; exit 1; }; done' - "$top" "$version"

# --- the pages render: rst2man, then groff's warnings -----------------------

render() {
	local out
	rst2man --halt=warning "$1" >"$tmp/page" || return 1
	out=$(groff -ww -z -man "$tmp/page" 2>&1)
	[ -z "$out" ] || { echo "$out"; return 1; }
	out=$(MANWIDTH=80 man -l "$tmp/page" 2>&1) || { echo "$out"; return 1; }
	if printf '%s\n' "$out" | grep -q 'System Message'; then
		echo "docutils left a message in the page"
		return 1
	fi
}
for f in "$top"/Documentation/man/*.rst; do
	name=$(basename "$f" .rst)
	if command -v rst2man >/dev/null && command -v groff >/dev/null &&
		command -v man >/dev/null; then
		t "render_$name" render "$f"
	else
		skip "render_$name" "rst2man, groff or man is missing"
	fi
done

if command -v shellcheck >/dev/null; then
	t shellcheck shellcheck -x -P SCRIPTDIR -s bash -S warning \
		"$top/tools/qedctl/qedctl.bash" "$self"
else
	skip shellcheck "shellcheck is missing"
fi

echo "1..$n"
tap_totals
