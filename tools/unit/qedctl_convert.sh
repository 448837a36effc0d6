#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qedctl convert, rebase and commit, checked against qemu-img on the same
# images: the guest contents (qemu-img compare), the tables (qemu-img
# check), the header (qemu-img info), and what stays sparse (qemu-img map).
# Images are built with qemu-img and qemu-io, small.
set -u
SUITE=qedctl_convert
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"

# A QED chain with 4 KiB and 64 KiB clusters, data, zero writes, partial
# clusters and a second L2 table; a raw base with holes.
setup() {
	(
		cd "$tmp" || exit 1
		qemu-img create -q -f qed base.qed 8M &&
		qio base.qed -c 'write -P 5 64k 64k' -c 'write -z 256k 64k' -c 'write -P 6 512k 4k' \
			-c 'write -P 4 1M 1M' &&
		qemu-img create -q -f qed -o cluster_size=4k -b base.qed -F qed over.qed 16M &&
		qio over.qed -c 'write -P 7 0 64k' -c 'write -P 8 600k 4k' -c 'write -z 1280k 64k' \
			-c 'write -P 9 1600k 5000' -c 'write -P 0 3M 8k' -c 'write -P 3 12M 4k' &&
		qemu-img create -q -f raw base.raw 4M &&
		qemu-io -f raw -c 'write -P 5 64k 64k' -c 'write -P 6 512k 4k' -c 'write -P 2 3M 1M' \
			base.raw >/dev/null &&
		qemu-img create -q -f qed -b base.raw -F raw overraw.qed 8M &&
		qio overraw.qed -c 'write -P 7 0 64k' -c 'write -z 3M 128k' -c 'write -P 1 6M 4k'
	)
}

# Guest contents the same, as qemu-img compare says.
same() {
	qemu-img compare "$1" "$2"
}

clean() {
	qemu-img check "$1"
}

# qemu-img map --output=json without the offsets, runs of the same kind
# merged: where each image has data, zeros and nothing, whatever its layout.
map_runs() {
	qemu-img map --output=json "$1" | sed 's/"offset": [0-9]*//' | awk '
		match($0, /"length": [0-9]+/) {
			len = substr($0, RSTART + 10, RLENGTH - 10)
			kind = $0
			sub(/.*"depth"/, "", kind)
			if (kind == last) { total += len; next }
			if (last != "") print total, last
			last = kind; total = len
		}
		END { print total, last }'
}

# The ranges an image holds itself (data or zero clusters), merged.
own_ranges() {
	qemu-img map --output=json "$1" | awk '
		match($0, /"start": [0-9]+/) { start = substr($0, RSTART + 9, RLENGTH - 9) }
		match($0, /"length": [0-9]+/) { len = substr($0, RSTART + 10, RLENGTH - 10) }
		/"depth": 0/ {
			if (have && start == end) { end += len; next }
			if (have) print first, end
			first = start; end = start + len; have = 1
		}
		END { if (have) print first, end }'
}

same_map() {
	diff <(map_runs "$1") <(map_runs "$2")
}

no_temp() {
	local f
	for f in "$tmp"/.qedctl-new-*; do
		[ ! -e "$f" ] || { echo "a temporary file is left: $f"; return 1; }
	done
}

# convert SRC to qed as qemu-img does: same contents, clean, as sparse.
conv_qed() {
	local src=$1 name=$2
	shift 2
	"$QEDCTL" convert -O qed "$@" "$tmp/$src" "$tmp/$name.qed" || return 1
	qemu-img convert -O qed "$@" "$tmp/$src" "$tmp/$name.ref.qed" || return 1
	clean "$tmp/$name.qed" && same "$tmp/$src" "$tmp/$name.qed" &&
		same_map "$tmp/$name.qed" "$tmp/$name.ref.qed" || return 1
	# Flattened: no backing file.
	! qemu-img info "$tmp/$name.qed" | grep -q '^backing file' ||
		{ echo "the output has a backing file"; return 1; }
	no_temp
}

conv_raw() {
	local src=$1 name=$2
	"$QEDCTL" convert "$tmp/$src" "$tmp/$name.raw" || return 1
	qemu-img convert -O raw "$tmp/$src" "$tmp/$name.ref.raw" || return 1
	same "$tmp/$src" "$tmp/$name.raw" || return 1
	cmp "$tmp/$name.raw" "$tmp/$name.ref.raw" || return 1
	# qemu-img allocates a new raw file's first 4 KiB (to probe the
	# alignment); qedctl leaves a hole there when the data is zero.
	[ -n "$(head -c 4096 "$tmp/$name.ref.raw" | tr -d '\0')" ] ||
		fallocate -p -o 0 -l 4096 "$tmp/$name.ref.raw" || return 1
	# The holes where qemu-img makes them.
	same_map "$tmp/$name.raw" "$tmp/$name.ref.raw"
}

t_geometry() {
	"$QEDCTL" convert -O qed -o cluster_size=16k,table_size=2 "$tmp/over.qed" "$tmp/g.qed" &&
		clean "$tmp/g.qed" && same "$tmp/over.qed" "$tmp/g.qed" || return 1
	qemu-img info "$tmp/g.qed" | grep -q 'cluster_size: 16384' ||
		{ qemu-img info "$tmp/g.qed"; return 1; }
	"$QEDCTL" convert -O qed -c 8K -t 8 "$tmp/overraw.qed" "$tmp/g2.qed" &&
		clean "$tmp/g2.qed" && same "$tmp/overraw.qed" "$tmp/g2.qed" || return 1
	"$QEDCTL" info --json "$tmp/g2.qed" | grep -q '"cluster-size": 8192, "table-size": 8'
}

t_progress() {
	local out
	"$QEDCTL" convert -p -O qed "$tmp/over.qed" "$tmp/p.qed" >"$tmp/progress" || return 1
	# As qemu-img -p: from 0.00 to 100.00, one \r-ended update each, a newline last.
	[ "$(tail -c 2 "$tmp/progress" | od -An -c | tr -d ' ')" = '\r\n' ] ||
		{ od -c "$tmp/progress"; return 1; }
	out=$(tr '\r' '\n' <"$tmp/progress")
	printf '%s\n' "$out" | head -1 | grep -qx '    (0.00/100%)' &&
		printf '%s\n' "$out" | grep -v '^$' | tail -1 | grep -qx '    (100.00/100%)' &&
		! printf '%s\n' "$out" | grep -v '^$' | grep -vqE '^    \([0-9]+\.[0-9]{2}/100%\)$' ||
		{ printf '%s\n' "$out"; return 1; }
}

t_declared_format() {
	# A raw file that starts with QED's header is raw when -f raw says so.
	"$QEDCTL" convert -f raw "$tmp/over.qed" "$tmp/asraw.raw" &&
		cmp "$tmp/over.qed" "$tmp/asraw.raw" || return 1
	! "$QEDCTL" convert -f qed "$tmp/base.raw" "$tmp/x.qed" 2>&1 | tee /dev/stderr |
		grep -q . && return 1
	[ ! -e "$tmp/x.qed" ] || { echo "DST made from a failed convert"; return 1; }
}

t_failure_leaves_nothing() {
	local size
	# The last data cluster cut off: the read fails half-way.
	qemu-img create -q -f qed -o cluster_size=4k "$tmp/cut.qed" 8M &&
		qio "$tmp/cut.qed" -c 'write -P 1 0 4k' -c 'write -P 2 4M 4k' || return 1
	size=$(stat -c %s "$tmp/cut.qed")
	truncate -s $((size - 4096)) "$tmp/cut.qed" || return 1
	echo old >"$tmp/keep.qed"
	if "$QEDCTL" convert -O qed "$tmp/cut.qed" "$tmp/keep.qed" ||
	   "$QEDCTL" convert -O qed "$tmp/cut.qed" "$tmp/new.qed"; then
		echo "convert succeeded"
		return 1
	fi
	[ "$(cat "$tmp/keep.qed")" = old ] || { echo "the old DST changed"; return 1; }
	[ ! -e "$tmp/new.qed" ] || { echo "DST made from a failed convert"; return 1; }
	no_temp
}

t_dst_in_use() {
	local before out
	qemu-img create -q -f qed "$tmp/busy.qed" 1M || return 1
	before=$(sha256sum <"$tmp/busy.qed")
	qemu_io_hold "$tmp/busy.qed" || return 1
	out=$("$QEDCTL" convert -O qed "$tmp/over.qed" "$tmp/busy.qed" 2>&1)
	rc=$?
	qemu_io_release
	echo "$out"
	[ $rc -ne 0 ] && echo "$out" | grep -q 'write.* lock' || return 1
	[ "$(sha256sum <"$tmp/busy.qed")" = "$before" ] || { echo "DST changed"; return 1; }
	no_temp
}

# As qemu-img convert: a source being written is refused, unless -U.
t_src_in_use() {
	local out urc
	cp "$tmp/over.qed" "$tmp/sbusy.qed" || return 1
	qemu_io_hold "$tmp/sbusy.qed" || return 1
	out=$("$QEDCTL" convert "$tmp/sbusy.qed" "$tmp/sbusy.raw" 2>&1)
	rc=$?
	"$QEDCTL" convert -U "$tmp/sbusy.qed" "$tmp/sbusy-U.raw"
	urc=$?
	qemu_io_release
	echo "$out"
	[ $rc -ne 0 ] && echo "$out" | grep -q 'write.* lock' || return 1
	[ ! -e "$tmp/sbusy.raw" ] || { echo "DST made"; return 1; }
	[ $urc -eq 0 ] && same "$tmp/over.qed" "$tmp/sbusy-U.raw"
}

usage_error() {
	local want=$1 out
	shift
	out=$("$QEDCTL" "$@" 2>&1) && { echo "succeeded"; return 1; }
	echo "$out" | grep -q -- "$want" || { echo "$out"; echo "no '$want'"; return 1; }
}

# rebase IMAGE (a copy of SRC) as qemu-img rebase does on another copy:
# the guest contents unchanged, clean, the new backing file in the header,
# no more clusters copied than qemu-img copies.
rebase_safe() {
	local src=$1 name=$2
	shift 2
	cp "$tmp/$src" "$tmp/$name.qed" && cp "$tmp/$src" "$tmp/$name.ref.qed" || return 1
	qemu-img convert -O raw "$tmp/$src" "$tmp/$name.before.raw" || return 1
	"$QEDCTL" rebase "$@" "$tmp/$name.qed" || return 1
	qemu-img rebase "$@" "$tmp/$name.ref.qed" || return 1
	same "$tmp/$name.qed" "$tmp/$name.before.raw" && clean "$tmp/$name.qed" || return 1
	same "$tmp/$name.ref.qed" "$tmp/$name.before.raw" || return 1
	diff <(qemu-img info "$tmp/$name.qed" | grep '^backing') \
	     <(qemu-img info "$tmp/$name.ref.qed" | grep '^backing') || return 1
	# The same clusters copied (qedctl makes zero clusters where qemu-img
	# writes zeros as data).
	diff <(own_ranges "$tmp/$name.qed") <(own_ranges "$tmp/$name.ref.qed")
}

# A rebase that fails half-way (the new backing file's last cluster cut
# off) leaves the old backing file in the header and the guest contents as
# they were, and nothing qemu-img check cannot repair.
t_rebase_failure() {
	local size rc
	cp "$tmp/over.qed" "$tmp/rfail.qed" || return 1
	qemu-img create -q -f qed -o cluster_size=4k "$tmp/cutbase.qed" 16M &&
		qio "$tmp/cutbase.qed" -c 'write -P 2 64k 64k' -c 'write -P 2 8M 4k' || return 1
	size=$(stat -c %s "$tmp/cutbase.qed")
	truncate -s $((size - 4096)) "$tmp/cutbase.qed" || return 1
	qemu-img convert -O raw "$tmp/rfail.qed" "$tmp/rfail.before.raw" || return 1
	! "$QEDCTL" rebase -b cutbase.qed -F qed "$tmp/rfail.qed" || { echo "succeeded"; return 1; }
	qemu-img info "$tmp/rfail.qed" | grep -q '^backing file: base.qed ' ||
		{ qemu-img info "$tmp/rfail.qed"; return 1; }
	same "$tmp/rfail.qed" "$tmp/rfail.before.raw" || return 1
	# Clusters copied whose entries were not written yet are leaks (exit 3),
	# never corruptions; qedctl check -r leaks cuts them off.
	qemu-img check "$tmp/rfail.qed"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 3 ] || return 1
	"$QEDCTL" check -r leaks "$tmp/rfail.qed" && clean "$tmp/rfail.qed" &&
		same "$tmp/rfail.qed" "$tmp/rfail.before.raw"
}

# -u: the header exactly as qemu-img rebase -u writes it.
rebase_unsafe() {
	local src=$1 name=$2
	shift 2
	cp "$tmp/$src" "$tmp/$name.qed" && cp "$tmp/$src" "$tmp/$name.ref.qed" || return 1
	"$QEDCTL" rebase -u "$@" "$tmp/$name.qed" || return 1
	qemu-img rebase -u "$@" "$tmp/$name.ref.qed" || return 1
	cmp "$tmp/$name.qed" "$tmp/$name.ref.qed" && clean "$tmp/$name.qed"
}

t_rebase_in_use() {
	local before out
	cp "$tmp/over.qed" "$tmp/rbusy.qed" || return 1
	before=$(sha256sum <"$tmp/rbusy.qed")
	qemu_io_hold "$tmp/rbusy.qed" || return 1
	out=$("$QEDCTL" rebase -b newbase.qed -F qed "$tmp/rbusy.qed" 2>&1)
	rc=$?
	qemu_io_release
	echo "$out"
	[ $rc -ne 0 ] && echo "$out" | grep -q 'write.* lock' || return 1
	[ "$(sha256sum <"$tmp/rbusy.qed")" = "$before" ] || { echo "IMAGE changed"; return 1; }
}

# commit OVERLAY into its backing file, and qemu-img commit copies of both:
# the backing file reads what the overlay read, is clean, the overlay is
# left as it was (as qemu-img 7.2 leaves a QED overlay).
commit_case() {
	local base=$1 fmt=$2 name=$3 sum
	shift 3
	(
		cd "$tmp" || exit 1
		mkdir -p "$name" "$name.ref" && cp "$base" "$name/b.$fmt" &&
			cp "$base" "$name.ref/b.$fmt" &&
			qemu-img create -q -f qed -o cluster_size=4k -b "b.$fmt" -F "$fmt" \
				"$name/o.qed" 16M &&
			qio "$name/o.qed" -c 'write -P 7 0 6k' -c 'write -P 8 600k 4k' \
				-c 'write -z 1280k 64k' -c 'write -P 9 1600k 5000' \
				-c 'write -z 260k 4k' -c 'write -P 3 12M 4k' &&
			cp "$name/o.qed" "$name.ref/o.qed" &&
			qemu-img convert -O raw "$name/o.qed" "$name.before.raw"
	) || return 1
	sum=$(sha256sum <"$tmp/$name/o.qed")
	"$QEDCTL" commit "$@" "$tmp/$name/o.qed" >"$tmp/$name.out" || return 1
	grep -q '^Image committed.$' "$tmp/$name.out" || { cat "$tmp/$name.out"; return 1; }
	qemu-img commit -q "$tmp/$name.ref/o.qed" || return 1
	[ "$(sha256sum <"$tmp/$name/o.qed")" = "$sum" ] || { echo "the overlay changed"; return 1; }
	same "$tmp/$name/o.qed" "$tmp/$name.before.raw" || return 1
	if [ "$fmt" = raw ]; then
		cmp "$tmp/$name/b.raw" "$tmp/$name.ref/b.raw" || return 1
		same "$tmp/$name/b.raw" "$tmp/$name.before.raw"
	else
		clean "$tmp/$name/b.qed" && same "$tmp/$name/b.qed" "$tmp/$name.before.raw" &&
			same "$tmp/$name/b.qed" "$tmp/$name.ref/b.qed" || return 1
		# Grown as qemu-img grows it.
		diff <(qemu-img info "$tmp/$name/b.qed" | grep '^virtual size') \
		     <(qemu-img info "$tmp/$name.ref/b.qed" | grep '^virtual size')
	fi
}

# A commit that fails half-way (the overlay's last cluster cut off) leaves
# what the overlay shows as it was, and a backing file QEMU opens: leaks at
# most, no corruption.
t_commit_failure() {
	local size rc
	mkdir -p "$tmp/cfail" && cp "$tmp/base.qed" "$tmp/cfail/b.qed" &&
		qemu-img create -q -f qed -o cluster_size=4k -b b.qed -F qed "$tmp/cfail/o.qed" &&
		qio "$tmp/cfail/o.qed" -c 'write -P 1 64k 8k' -c 'write -P 2 6M 4k' || return 1
	size=$(stat -c %s "$tmp/cfail/o.qed")
	truncate -s $((size - 4096)) "$tmp/cfail/o.qed" || return 1
	qemu-img convert -O raw "$tmp/cfail/b.qed" "$tmp/cfail.before.raw" || return 1
	! "$QEDCTL" commit "$tmp/cfail/o.qed" || { echo "succeeded"; return 1; }
	qemu-img check "$tmp/cfail/b.qed"
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 3 ] || return 1
	# The base changed where the overlay hides it (64k): nowhere else.
	qemu-img compare "$tmp/cfail/b.qed" "$tmp/cfail.before.raw" && return 1
	qemu-io -f raw -c 'write -P 1 64k 8k' "$tmp/cfail.before.raw" >/dev/null &&
		same "$tmp/cfail/b.qed" "$tmp/cfail.before.raw"
}

t_commit_in_use() {
	local before out
	mkdir -p "$tmp/cbusy" && cp "$tmp/base.qed" "$tmp/cbusy/b.qed" &&
		qemu-img create -q -f qed -b b.qed -F qed "$tmp/cbusy/o.qed" &&
		qio "$tmp/cbusy/o.qed" -c 'write -P 1 0 64k' || return 1
	before=$(sha256sum <"$tmp/cbusy/b.qed")
	qemu_io_hold "$tmp/cbusy/b.qed" || return 1
	out=$("$QEDCTL" commit "$tmp/cbusy/o.qed" 2>&1)
	rc=$?
	qemu_io_release
	echo "$out"
	[ $rc -ne 0 ] && echo "$out" | grep -q 'write.* lock' || return 1
	[ "$(sha256sum <"$tmp/cbusy/b.qed")" = "$before" ] || { echo "the base changed"; return 1; }
}

echo "TAP version 13"
setup || { echo "Bail out! cannot build the images"; exit 1; }

t convert_qed_chain_to_qed conv_qed over.qed chain
t convert_raw_backing_to_qed conv_qed overraw.qed chainraw
t convert_raw_to_qed conv_qed base.raw fromraw
t convert_qed_to_qed_4k conv_qed base.qed base4k -o cluster_size=4k
t convert_qed_chain_to_raw conv_raw over.qed chain
t convert_raw_backing_to_raw conv_raw overraw.qed chainraw
t convert_raw_to_raw conv_raw base.raw raw
t convert_geometry t_geometry
t convert_progress t_progress
t convert_declared_format t_declared_format
t convert_failure_leaves_nothing t_failure_leaves_nothing
t convert_dst_in_use t_dst_in_use
t convert_src_in_use t_src_in_use
t convert_missing_dst usage_error "missing DST" convert "$tmp/over.qed"
t convert_options_need_qed usage_error "need -O qed" convert -c 4k "$tmp/over.qed" "$tmp/y.raw"
t convert_help sh -c '"$0" convert --help | grep -q -- "-O FMT"' "$QEDCTL"

(
	cd "$tmp" &&
	qemu-img create -q -f qed newbase.qed 12M &&
	qio newbase.qed -c 'write -P 5 64k 32k' -c 'write -P 4 1M 512k' -c 'write -P 1 3M 1M' &&
	qemu-img create -q -f raw newbase.raw 2M &&
	qemu-io -f raw -c 'write -P 7 0 64k' -c 'write -P 5 64k 64k' newbase.raw >/dev/null &&
	mkdir -p sub && cp newbase.qed sub/nb.qed
) || { echo "Bail out! cannot build the rebase images"; exit 1; }
t rebase_qed_onto_qed rebase_safe over.qed rq -b newbase.qed -F qed
t rebase_qed_onto_raw rebase_safe over.qed rr -b newbase.raw -F raw
t rebase_raw_backing_onto_qed rebase_safe overraw.qed rrq -b newbase.qed -F qed
t rebase_relative_name rebase_safe over.qed rsub -b sub/nb.qed -F qed
t rebase_remove_backing rebase_safe over.qed rnone -b ""
t rebase_progress sh -c 'cp "$1/over.qed" "$1/rp.qed" &&
	"$0" rebase -p -b "" "$1/rp.qed" | tr "\r" "\n" | grep -qx "    (100.00/100%)"' \
	"$QEDCTL" "$tmp"
t rebase_unsafe_qed rebase_unsafe over.qed uq -b newbase.qed -F qed
t rebase_unsafe_raw rebase_unsafe over.qed ur -b newbase.raw -F raw
t rebase_unsafe_remove rebase_unsafe over.qed unone -b ""
t rebase_in_use t_rebase_in_use
t rebase_failure_keeps_contents t_rebase_failure
t rebase_format_needs_backing usage_error "-F needs -b" rebase -F qed "$tmp/over.qed"
t rebase_backing_needs_format usage_error "-b needs -F" rebase -b x.qed "$tmp/over.qed"
t rebase_missing_backing usage_error "missing -b" rebase "$tmp/over.qed"
t rebase_help sh -c '"$0" rebase --help | grep -q -- "-u "' "$QEDCTL"
t commit_into_qed commit_case base.qed qed cq
t commit_into_qed_progress commit_case base.qed qed cqp -p
t commit_into_raw commit_case base.raw raw cr
t commit_into_smaller_raw commit_case newbase.raw raw csr
t commit_in_use t_commit_in_use
t commit_failure_keeps_contents t_commit_failure
t commit_no_backing usage_error "no backing file" commit "$tmp/g.qed"
t commit_help sh -c '"$0" commit --help | grep -q -- "-p "' "$QEDCTL"

echo "1..$n"
tap_totals
