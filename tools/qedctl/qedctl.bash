# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# bash completion for qedctl(8): its commands, each command's options and
# their values, image files where an image goes, /dev/qedN where a device
# goes, and losetup's options at the top level.  Installed as
# /usr/share/bash-completion/completions/qedctl; or source it.  It needs
# nothing from the bash-completion package.
#
# The command and option lists follow tools/qedctl/*.c; the host test
# tools/unit/qedctl_completion.sh fails when they drift apart.

_qedctl_commands='attach detach list resize set snapshot mount umount qedtab
	generate-units info create check map compare convert rebase commit help
	version'

# list -O: the columns of 'qedctl list --help'.
_qedctl_columns='NAME SIZE AUTOCLEAR RO DIO DIRTY LOG-SEC BACK-FILE PARTSCAN
	MAJ:MIN BACK-INO BACK-MAJ:MIN CLUSTER TABLE CHAIN BACKING'

# The attached devices, /dev/qedN (not their partitions), one a line.
_qedctl_devices()
{
	local d
	for d in /dev/qed[0-9]*; do
		[[ -b $d && $d =~ ^/dev/qed[0-9]+$ ]] && printf '%s\n' "$d"
	done
}

# Where the file systems on qed devices are mounted, one a line.
_qedctl_mountpoints()
{
	local src dir _
	[[ -r /proc/self/mounts ]] || return 0
	while read -r src dir _; do
		[[ $src == /dev/qed[0-9]* ]] && printf '%b\n' "$dir"
	done </proc/self/mounts
}

# File system types mount(8) can be given: those of /proc/filesystems
# that need a device.
_qedctl_fstypes()
{
	local a b
	[[ -r /proc/filesystems ]] || return 0
	while read -r a b; do
		[[ $a != nodev && -n $a && -z $b ]] && printf '%s\n' "$a"
	done </proc/filesystems
}

# Add to COMPREPLY the words of $1 that begin with $cur.
_qedctl_add()
{
	local IFS=$' \t\n' w
	for w in $1; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
}

# Add each line of standard input that begins with $cur (give it input
# with < <(...): in a pipe it would run in a subshell).
_qedctl_add_lines()
{
	local line
	while IFS= read -r line; do
		[[ $line == "$cur"* ]] && COMPREPLY+=("$line")
	done
}

# Files (images, qedtab files), or with $1 = -d directories only.
_qedctl_files()
{
	compopt -o filenames 2>/dev/null
	if [[ ${1-} == -d ]]; then
		_qedctl_add_lines < <(compgen -d -- "$cur")
	else
		_qedctl_add_lines < <(compgen -f -- "$cur")
	fi
}

# A comma-separated list in $cur: complete its last item from the words
# of $1, keeping what comes before it; $2 the separator to add after.
_qedctl_add_list()
{
	local head=${cur%"${cur##*,}"} item=${cur##*,} w
	local IFS=$' \t\n'
	for w in $1; do
		[[ $w == "$item"* && ,$head != *,"$w$2",* ]] && COMPREPLY+=("$head$w")
	done
	compopt -o nospace 2>/dev/null
}

# The options of command $1 (all of them, for '--').
_qedctl_options()
{
	case $1 in
	attach) echo '-r --read-only --autoclear --direct-io --direct-io=
		-b --sector-size -P --partscan --no-partscan --copy-on-read --index --show -f
		--find -v --verbose -q --quiet --all --qedtab-entry --qedtab
		-h --help' ;;
	detach) echo '-a --all --detach-all -l --lazy --qedtab-entry -h
		--help' ;;
	list) echo '-a --all -l --list -j --associated -O --output --output-all
		-n --noheadings --raw -J --json --bytes -h --help' ;;
	resize) echo '--shrink -h --help' ;;
	set) echo '--direct-io --direct-io= -h --help' ;;
	snapshot) echo '-n --no-freeze -q --quiet -h --help' ;;
	info) echo '--json --output= -U --force-share -h --help' ;;
	create) echo '-s --size -c --cluster-size -t --table-size -b --backing
		-F --backing-format -o --options -f --force -h --help' ;;
	check) echo '-r --repair --repair= -U --force-share --json --output=
		-h --help' ;;
	map) echo '--output= -U --force-share -h --help' ;;
	compare) echo '-U --force-share -s --strict -q --quiet -h --help' ;;
	convert) echo '-p -U --force-share -f -O -o --options -c -t -h --help' ;;
	rebase) echo '-u -U --force-share -p -b -F -h --help' ;;
	commit) echo '-p -d -h --help' ;;
	mount) echo '-r --read-only -t --types -o --options --direct-io -v
		--verbose -h --help' ;;
	umount) echo '-h --help' ;;
	qedtab) echo '--qedtab -h --help' ;;
	generate-units) echo '-h --help' ;;
	-) echo '-a --all -l --list -j --associated -d --detach -D --detach-all
		-f --find -s --show -r --read-only -P --partscan -b --sector-size
		--direct-io --direct-io= -n --noheadings --raw -O --output
		--output-all -J --json -v --verbose -V --version -h --help' ;;
	esac
}

# The options of command $1 whose value is the next word.
_qedctl_takes_arg()
{
	case $1 in
	attach) echo '-b --sector-size --index --qedtab' ;;
	list) echo '-j --associated -O --output' ;;
	info | map) echo '--output' ;;
	create) echo '-s --size -c --cluster-size -t --table-size -b --backing
		-F --backing-format -o --options' ;;
	check) echo '-r --output' ;;
	convert) echo '-f -O -o --options -c -t' ;;
	rebase) echo '-b -F' ;;
	mount) echo '-t --types -o --options' ;;
	qedtab) echo '--qedtab' ;;
	-) echo '-j --associated -b --sector-size -O --output' ;;
	esac
}

# Complete the value of option $2 of command $1: 0 if it takes one.
_qedctl_value()
{
	local cmd=$1 opt=$2
	case $cmd:$opt in
	*:--direct-io)
		_qedctl_add 'on off' ;;
	attach:-b | attach:--sector-size | -:-b | -:--sector-size)
		_qedctl_add '512 1024 2048 4096' ;;
	attach:--index) ;;
	list:-O | list:--output | -:-O | -:--output)
		_qedctl_add_list "$_qedctl_columns" '' ;;
	list:-j | list:--associated | -:-j | -:--associated | create:-b | \
	create:--backing | rebase:-b | attach:--qedtab | qedtab:--qedtab)
		_qedctl_files ;;
	info:--output | map:--output | check:--output)
		_qedctl_add 'json human' ;;
	check:-r | check:--repair)
		_qedctl_add 'leaks all' ;;
	create:-F | create:--backing-format | rebase:-F | convert:-f | convert:-O)
		_qedctl_add 'raw qed' ;;
	create:-c | create:--cluster-size | convert:-c)
		_qedctl_add '4K 8K 16K 32K 64K 128K 256K 512K 1M 2M 4M' ;;
	create:-t | create:--table-size | convert:-t)
		_qedctl_add '2 4 8 16' ;;
	create:-o | create:--options)
		_qedctl_add_list 'size= cluster_size= table_size= backing_file=
			backing_fmt= help' '' ;;
	convert:-o | convert:--options)
		_qedctl_add_list 'cluster_size= table_size= help' '' ;;
	mount:-t | mount:--types)
		_qedctl_add_lines < <(_qedctl_fstypes) ;;
	create:-s | create:--size | mount:-o | mount:--options) ;;
	*) return 1 ;;
	esac
	return 0
}

_qedctl()
{
	local cur prev pre breaks='' w i
	local -a words=()
	COMPREPLY=()

	# Join what COMP_WORDBREAKS split ('--direct-io' '=' 'on', 'MAJ' ':'
	# 'MIN') back into one word, as the command will see it.
	[[ $COMP_WORDBREAKS == *=* ]] && breaks+='='
	[[ $COMP_WORDBREAKS == *:* ]] && breaks+=':'
	for ((i = 0; i <= COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]-}
		if ((i > 1)) && [[ -n $breaks ]] &&
			[[ $w =~ ^[$breaks]+$ || ${COMP_WORDS[i - 1]} =~ ^[$breaks]+$ ]]; then
			words[${#words[@]} - 1]+=$w
		else
			words+=("$w")
		fi
	done
	cur=${words[${#words[@]} - 1]}
	prev=${words[${#words[@]} - 2]-}
	# What readline replaces is the part after the last word break.
	pre=''
	# shellcheck disable=SC2295 # [$breaks] is meant as a pattern
	[[ -n $breaks && $cur == *[$breaks]* ]] && pre=${cur%"${cur##*[$breaks]}"}

	_qedctl_complete
	if [[ -n $pre ]]; then
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=${COMPREPLY[i]#"$pre"}
		done
	fi
	for w in "${COMPREPLY[@]}"; do
		[[ $w == *= ]] && compopt -o nospace 2>/dev/null
	done
	return 0
}

# The completion itself, on words/cur/prev of _qedctl().
_qedctl_complete()
{
	local cmd opts args nargs=0 i first=2 w skip=false mode=image entry=false

	cmd=${words[1]}
	if [[ $cmd == -* ]]; then
		cmd=-	# losetup's options: words[1] is one of them
		first=1
	elif ((${#words[@]} == 2)); then
		_qedctl_add "$_qedctl_commands"
		return
	fi
	opts=$(_qedctl_options "$cmd")
	[[ -n $opts ]] || return	# help, version, or not a command

	# --opt=VALUE
	if [[ $cur == --*=* ]]; then
		local opt=${cur%%=*} val=${cur#*=}
		local c=$cur
		cur=$val
		_qedctl_value "$cmd" "$opt"
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=$opt=${COMPREPLY[i]}
		done
		cur=$c
		return
	fi
	# -o VALUE
	args=" $(_qedctl_takes_arg "$cmd" | tr -s ' \t\n' ' ') "
	if [[ $args == *" $prev "* ]] && _qedctl_value "$cmd" "$prev"; then
		return
	fi
	if [[ $cur == -* ]]; then
		_qedctl_add "$opts"
		return
	fi

	# An operand: count those before it, and note what changes its kind.
	for ((i = first; i < ${#words[@]} - 1; i++)); do
		w=${words[i]}
		if $skip; then
			skip=false
			continue
		fi
		case $w in
		-*)
			[[ $w != *=* && $args == *" $w "* ]] && skip=true
			[[ $w == --qedtab-entry ]] && entry=true
			[[ $cmd == - ]] || continue
			# losetup -a, -l, -d, -D: the operands are devices;
			# --direct-io: a device to switch, or an image to attach.
			if [[ $w =~ ^(-[aldD]|--(all|list|detach|detach-all))$ ]]; then
				mode=device
			elif [[ $w == --direct-io* && $mode == image ]]; then
				mode=either
			fi
			;;
		*)
			nargs=$((nargs + 1))
			;;
		esac
	done
	case $cmd in
	attach | info | check | map | compare | convert | rebase | commit)
		_qedctl_files ;;
	detach)
		# --qedtab-entry IMAGE: the image of a qedtab entry.
		if $entry; then
			((nargs == 0)) && _qedctl_files
		else
			_qedctl_add_lines < <(_qedctl_devices)
		fi ;;
	list | set)
		_qedctl_add_lines < <(_qedctl_devices) ;;
	snapshot)
		# DEVICE, then the OVERLAY to create.
		if ((nargs == 0)); then
			_qedctl_add_lines < <(_qedctl_devices)
		elif ((nargs == 1)); then
			_qedctl_files
		fi ;;
	resize)
		((nargs == 0)) || return
		_qedctl_add_lines < <(_qedctl_devices)
		_qedctl_files ;;
	create)
		((nargs == 0)) && _qedctl_files ;;
	mount)
		if ((nargs == 0)); then
			_qedctl_files
		elif ((nargs == 1)); then
			_qedctl_files -d
		fi ;;
	generate-units)
		# systemd's normal, early and late directories.
		((nargs < 3)) && _qedctl_files -d ;;
	umount)
		((nargs == 0)) || return
		_qedctl_add_lines < <(_qedctl_mountpoints)
		_qedctl_add_lines < <(_qedctl_devices) ;;
	-)
		[[ $mode == image ]] || _qedctl_add_lines < <(_qedctl_devices)
		[[ $mode == device ]] || _qedctl_files ;;
	esac
}

complete -F _qedctl qedctl
