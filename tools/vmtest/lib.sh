# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Shared helpers for the VM test bench; sourced, not executed.

QED_CACHE=${QED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qed}
QED_TOP=${QED_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
mkdir -p "$QED_CACHE"

die() { echo "vmtest: error: $*" >&2; exit 1; }
log() { echo "vmtest: $*" >&2; }

# The machine's own Debian mirror, read from its apt sources so that no
# host name is written into the project.
debian_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri=$(awk '/^URIs:/ { print $2; exit }' "$f")
		case "$uri" in *debian-security*|"") continue ;; esac
		echo "$uri"
		return 0
	done
	uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^http/) { print $i; exit } }' \
		/etc/apt/sources.list 2>/dev/null)
	[ -n "$uri" ] || die "cannot find a Debian mirror in /etc/apt"
	echo "$uri"
}

# A private apt state that knows the suites the kernel matrix needs.  It
# never touches the host's own lists or installed packages: pulling from a
# newer suite into the host once broke its libc.
APT_X="$QED_CACHE/apt"
apt_x_opts() {
	echo "-o Dir::Etc::sourcelist=$APT_X/sources.list -o Dir::Etc::sourceparts=-" \
	     "-o Dir::State::Lists=$APT_X/lists -o Dir::Cache=$APT_X/cache" \
	     "-o Dir::State::status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
}

# fetch_linux_source DIR [TAR-ARGS...]: Debian's linux-source-6.12 unpacked
# into DIR (created), all of it or the members TAR-ARGS name.
fetch_linux_source() {
	local dir=$1 opts
	shift
	apt_x_update
	opts=$(apt_x_opts)
	mkdir -p "$dir/.dl"
	# shellcheck disable=SC2086 # apt_x_opts is a list of options, one word each
	(cd "$dir/.dl" && apt-get $opts -q download linux-source-6.12 >/dev/null) ||
		die "downloading linux-source-6.12 failed"
	dpkg-deb --fsys-tarfile "$dir"/.dl/linux-source-6.12_*.deb |
		tar -x -C "$dir/.dl" ./usr/src/linux-source-6.12.tar.xz
	tar -xJf "$dir/.dl/usr/src/linux-source-6.12.tar.xz" -C "$dir" --strip-components=1 "$@" ||
		die "unpacking linux-source-6.12 failed"
	rm -rf "$dir/.dl"
}

apt_x_update() {
	local m stamp="$APT_X/updated"
	mkdir -p "$APT_X/lists/partial" "$APT_X/cache/archives/partial"
	# Lists older than a day are refreshed; a kernel once cached is kept.
	if [ -f "$stamp" ] && [ -z "$(find "$stamp" -mmin +1440)" ]; then
		return 0
	fi
	m=$(debian_mirror)
	local kr=/usr/share/keyrings/debian-archive-keyring.gpg
	cat >"$APT_X/sources.list" <<EOT
deb [signed-by=$kr] $m bookworm main
deb [signed-by=$kr] $m bookworm-updates main
deb [signed-by=$kr] ${m%/debian}/debian-security bookworm-security main
deb [signed-by=$kr] $m bookworm-backports main
deb [signed-by=$kr] $m trixie main
deb [signed-by=$kr] $m trixie-backports main
EOT
	# shellcheck disable=SC2046 # apt_x_opts is a list of options, one word each
	apt-get $(apt_x_opts) -q update >"$APT_X/update.log" 2>&1 ||
		{ cat "$APT_X/update.log" >&2; die "apt-get update (private state) failed"; }
	touch "$stamp"
}
