#!/bin/sh
# Installs a released violet binary, verified: downloads the archive of this
# platform from the GitHub release, checks the Sigstore signature of the
# release's checksums.txt with cosign (the release workflow of
# github.com/violet-mlsecops/violet, for this tag, must have signed it), checks
# the archive's SHA-256 against checksums.txt, and installs the binary. Used by
# the GitHub Action (action.yml); runs in any POSIX shell (docs/ci.md).
#
# Usage: sh install.sh [-b DIR] [-c DIR] [-n] [VERSION]
#   VERSION  the release, a tag such as v1.2.3 (default: VIOLET_VERSION, else
#            the release this copy of the script pins, below)
#   -b DIR   install violet in DIR (default: VIOLET_INSTALL_DIR, else $HOME/.local/bin)
#   -c DIR   keep the downloads in DIR/VERSION and reuse them next time; they
#            are verified again on every run (default: VIOLET_INSTALL_CACHE, else none)
#   -n       print what would be installed (version=, os=, arch=, archive=,
#            url= lines) and download nothing
#
# Environment:
#   VIOLET_DOWNLOAD_URL      where the releases are, one folder per tag (default
#                            https://github.com/violet-mlsecops/violet/releases/download);
#                            https, or http on loopback only
#   VIOLET_VERIFY_SIGNATURE  "true" (default): cosign must be on PATH and the
#                            signature must verify. "false": check the SHA-256
#                            against checksums.txt only, which proves nothing when
#                            checksums.txt comes from the same place as the archive
#   VIOLET_OS, VIOLET_ARCH   the platform (default: uname); GitHub's runner.os and
#                            runner.arch (Linux, macOS, Windows; X64, ARM64) work too
#
# Needs curl or wget, tar (unzip for Windows), sha256sum, shasum or openssl,
# and cosign. Exit: 0 installed; 1 a check failed (signature, no checksum
# for the archive, SHA-256 mismatch): nothing was installed; 2 could not
# install (usage, platform, download, a missing tool).
set -eu

# The release this copy installs by default. Set to the new tag, with
# VIOLET_VERSION in ci/gitlab/violet.gitlab-ci.yml, in the commit that is
# tagged (cmd/violet/ci_files_test.go checks that they agree).
default_version=v0.1.0

repository=github.com/violet-mlsecops/violet
oidc_issuer=https://token.actions.githubusercontent.com

die() {
	code=$1
	shift
	if [ "${GITHUB_ACTIONS:-}" = true ]; then
		printf '::error title=violet install::%s\n' "$*" >&2
	fi
	printf 'violet install: %s\n' "$*" >&2
	exit "$code"
}

usage() {
	printf 'usage: sh install.sh [-b DIR] [-c DIR] [-n] [VERSION]\n' >&2
	exit "$1"
}

have() {
	command -v "$1" >/dev/null 2>&1
}

install_dir=${VIOLET_INSTALL_DIR:-}
cache_dir=${VIOLET_INSTALL_CACHE:-}
dry_run=false
while getopts b:c:nh opt; do
	case $opt in
	b) install_dir=$OPTARG ;;
	c) cache_dir=$OPTARG ;;
	n) dry_run=true ;;
	h) usage 0 ;;
	*) usage 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage 2
version=${1:-${VIOLET_VERSION:-$default_version}}

# A release tag: vMAJOR.MINOR.PATCH, with an optional pre-release. Nothing
# else ("latest", a branch, a path) names a signed release.
case $version in
*[!0-9A-Za-z.-]*) die 2 "version '$version' is not a release tag such as v1.2.3" ;;
esac
printf '%s\n' "$version" | grep -Eq '^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$' ||
	die 2 "version '$version' is not a release tag such as v1.2.3"

os=${VIOLET_OS:-$(uname -s)}
arch=${VIOLET_ARCH:-$(uname -m)}
case $os in
Linux | linux) os=linux ;;
Darwin | darwin | macOS) os=darwin ;;
Windows | windows | MINGW* | MSYS* | CYGWIN*) os=windows ;;
*) die 2 "no violet release for the operating system '$os' (linux, darwin and windows only)" ;;
esac
case $arch in
x86_64 | amd64 | X64) arch=amd64 ;;
aarch64 | arm64 | ARM64) arch=arm64 ;;
*) die 2 "no violet release for the architecture '$arch' (amd64 and arm64 only)" ;;
esac

binary=violet
archive=violet_${version#v}_${os}_${arch}.tar.gz
if [ "$os" = windows ]; then
	binary=violet.exe
	archive=violet_${version#v}_${os}_${arch}.zip
fi

base=${VIOLET_DOWNLOAD_URL:-https://$repository/releases/download}
base=${base%/}
case $base in
https://*) https=true ;;
http://127.0.0.1:* | http://127.0.0.1/* | http://localhost:* | http://localhost/* | http://\[::1\]:* | http://\[::1\]/*) https=false ;;
*) die 2 "VIOLET_DOWNLOAD_URL '$base' is not an https URL" ;;
esac
url=$base/$version

if [ "$dry_run" = true ]; then
	printf 'version=%s\nos=%s\narch=%s\narchive=%s\nurl=%s/%s\n' "$version" "$os" "$arch" "$archive" "$url" "$archive"
	exit 0
fi

verify_signature=${VIOLET_VERIFY_SIGNATURE:-true}
case $verify_signature in
true)
	have cosign || die 2 "cosign is not on PATH: it verifies the signature of the release's checksums.txt (install it: https://docs.sigstore.dev/cosign/system_config/installation/), or set VIOLET_VERIFY_SIGNATURE=false to rely on the SHA-256 alone"
	;;
false) ;;
*) die 2 "VIOLET_VERIFY_SIGNATURE must be true or false, not '$verify_signature'" ;;
esac

if [ -z "$install_dir" ]; then
	[ -n "${HOME:-}" ] || die 2 "HOME is not set: name the folder to install in with -b DIR"
	install_dir=$HOME/.local/bin
fi

if have sha256sum; then
	sha256() { sha256sum "$1" | awk '{ print $1 }'; }
elif have shasum; then
	sha256() { shasum -a 256 "$1" | awk '{ print $1 }'; }
elif have openssl; then
	sha256() { openssl dgst -sha256 -r "$1" | awk '{ print $1 }'; }
else
	die 2 "needs sha256sum, shasum or openssl to check the archive"
fi
if [ "$os" = windows ]; then
	have unzip || die 2 "needs unzip to open $archive"
else
	have tar || die 2 "needs tar to open $archive"
fi

# download URL FILE
if have curl; then
	download() {
		if [ "$https" = true ]; then
			curl -fsSL --proto =https --proto-redir =https --retry 3 --connect-timeout 30 --max-filesize 536870912 -o "$2" "$1"
		else
			curl -fsSL --retry 3 --connect-timeout 30 --max-filesize 536870912 -o "$2" "$1"
		fi
	}
elif have wget; then
	download() { wget -q -T 30 -O "$2" "$1"; }
else
	die 2 "needs curl or wget to download the release"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/violet-install.XXXXXX") || die 2 "could not make a temporary folder"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

# fetch NAME: the release file NAME in $tmp, from the cache if it has it.
fetch() {
	if [ -n "$cache_dir" ] && [ -f "$cache_dir/$version/$1" ]; then
		cp "$cache_dir/$version/$1" "$tmp/$1" || die 2 "could not read $cache_dir/$version/$1"
		from="the cache $cache_dir/$version"
		return
	fi
	from=$url
	download "$url/$1" "$tmp/$1" || die 2 "could not download $url/$1 (is $version released, for $os/$arch?)"
}

fetch checksums.txt

# The signature first: until it verifies, checksums.txt is only a claim.
if [ "$verify_signature" = true ]; then
	fetch checksums.txt.sigstore.json
	identity="^https://github\\.com/violet-mlsecops/violet/\\.github/workflows/release\\.yml@refs/tags/$(printf '%s' "$version" | sed 's/\./\\./g')\$"
	cosign verify-blob \
		--bundle "$tmp/checksums.txt.sigstore.json" \
		--certificate-identity-regexp "$identity" \
		--certificate-oidc-issuer "$oidc_issuer" \
		"$tmp/checksums.txt" >&2 ||
		die 1 "the signature of checksums.txt ($from) does not verify as the release workflow of $repository for $version: nothing installed"
	signature="signature of checksums.txt verified (release workflow of $repository, $version)"
else
	printf 'violet install: warning: VIOLET_VERIFY_SIGNATURE=false: the signature of checksums.txt is NOT verified\n' >&2
	signature="signature NOT verified (VIOLET_VERIFY_SIGNATURE=false)"
fi

# Exactly one well-formed entry for the archive ("HASH  NAME", or "HASH *NAME").
expected=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print tolower($1) }' "$tmp/checksums.txt" | sort -u)
[ -n "$expected" ] || die 1 "checksums.txt ($from) has no entry for $archive: nothing installed"
case $expected in
*[!0-9a-f]*) die 1 "checksums.txt ($from) has no single SHA-256 for $archive: nothing installed" ;;
esac
[ ${#expected} -eq 64 ] || die 1 "checksums.txt ($from) has no single SHA-256 for $archive: nothing installed"

fetch "$archive"
actual=$(sha256 "$tmp/$archive" | tr 'A-F' 'a-f')
[ "$actual" = "$expected" ] ||
	die 1 "SHA-256 mismatch for $archive ($from): checksums.txt says $expected, the file is $actual: nothing installed"

mkdir "$tmp/x"
if [ "$os" = windows ]; then
	unzip -q "$tmp/$archive" "$binary" -d "$tmp/x" >/dev/null 2>&1 || die 2 "$archive holds no $binary"
else
	tar -xzf "$tmp/$archive" -C "$tmp/x" "$binary" >/dev/null 2>&1 || die 2 "$archive holds no $binary"
fi
if [ -h "$tmp/x/$binary" ] || [ ! -f "$tmp/x/$binary" ]; then
	die 2 "$binary in $archive is not a regular file"
fi

# Verified: keep the downloads for the next run (which verifies them again).
if [ -n "$cache_dir" ]; then
	if mkdir -p "$cache_dir/$version"; then
		for f in checksums.txt checksums.txt.sigstore.json "$archive"; do
			if [ -f "$tmp/$f" ]; then
				cp "$tmp/$f" "$cache_dir/$version/$f" || printf 'violet install: warning: could not cache %s\n' "$f" >&2
			fi
		done
	else
		printf 'violet install: warning: could not make the cache folder %s\n' "$cache_dir/$version" >&2
	fi
fi

# Staged beside its final name, tried, then moved in place in one step.
mkdir -p "$install_dir" || die 2 "could not make the folder $install_dir"
staged=$install_dir/.$$.$binary
if ! { cp "$tmp/x/$binary" "$staged" && chmod 755 "$staged"; }; then
	rm -f "$staged"
	die 2 "could not write $staged"
fi
if ! "$staged" version >/dev/null 2>&1; then
	rm -f "$staged"
	die 2 "the $os/$arch violet of $archive does not run here: nothing installed"
fi
mv -f "$staged" "$install_dir/$binary" || {
	rm -f "$staged"
	die 2 "could not install $install_dir/$binary"
}

printf 'violet install: %s installed in %s (%s/%s, from %s; SHA-256 %s matches checksums.txt; %s)\n' \
	"$version" "$install_dir/$binary" "$os" "$arch" "$from" "$actual" "$signature"
# A hint for a shell; the action puts the folder on $GITHUB_PATH itself.
if [ "${GITHUB_ACTIONS:-}" != true ]; then
	case ":${PATH:-}:" in
	*":$install_dir:"*) ;;
	*) printf 'violet install: %s is not on PATH: export PATH="%s:$%s"\n' "$install_dir" "$install_dir" PATH ;;
	esac
fi
