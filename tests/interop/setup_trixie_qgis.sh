#!/usr/bin/env bash
# QGIS 3.40 (Debian trixie) in a minbase chroot, for the interop checks that need a current QGIS
# (WMTS time, OAPIF editing). Debian 12's QGIS is 3.22. Root only; ~2.5 min and ~2.5 GB once.
# Usage: setup_trixie_qgis.sh [DIR]   (default /var/lib/tumen/trixie-qgis)
#        setup_trixie_qgis.sh --print-mirror   (the mirror it would use, and nothing else)
set -euo pipefail
print_mirror=""
if [ "${1:-}" = --print-mirror ]; then print_mirror=1; shift; fi
dir="${1:-/var/lib/tumen/trixie-qgis}"
stamp="$dir/.tumen-qgis-ready"
[ -z "$print_mirror" ] && [ -f "$stamp" ] && exit 0
if [ -z "$print_mirror" ] && [ "$(id -u)" != 0 ]; then
  echo "setup_trixie_qgis.sh: needs root (debootstrap and chroot)" >&2
  exit 1
fi
[ -n "$print_mirror" ] || command -v debootstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 debootstrap >/dev/null
}
# The Debian mirror (and proxy) this machine's own apt uses, whatever its sources format: the
# archive that serves "<codename>/main", as apt-cache policy lists it. No host is named here.
. /etc/os-release
archive_of() { apt-cache policy | awk -v want="$VERSION_CODENAME/main" '$3 == want && !found { print $2; found = 1 }'; }
mirror="$(archive_of)"
if [ -z "$mirror" ]; then
  apt-get update -qq
  mirror="$(archive_of)"
fi
if [ -z "$mirror" ]; then
  echo "setup_trixie_qgis.sh: apt has no source for $VERSION_CODENAME/main; add a Debian mirror to" \
    "/etc/apt/sources.list.d/ and retry" >&2
  exit 1
fi
eval "$(apt-config shell http_proxy Acquire::http::Proxy https_proxy Acquire::https::Proxy)"
export http_proxy="${http_proxy:-}" https_proxy="${https_proxy:-}"
[ -n "$http_proxy" ] || unset http_proxy
[ -n "$https_proxy" ] || unset https_proxy
if [ -n "$print_mirror" ]; then
  echo "$mirror${http_proxy:+ via $http_proxy}"
  exit 0
fi
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
echo "debootstrap trixie into $dir (from $mirror)"
debootstrap --variant=minbase trixie "$dir" "$mirror" >/dev/null
cp /etc/resolv.conf "$dir/etc/resolv.conf"
# The chroot's apt goes through the same proxy as the machine's (its sources name $mirror).
apt-config dump | grep -E '^Acquire::https?::Proxy ' >"$dir/etc/apt/apt.conf.d/01tumen-proxy" || true
chroot "$dir" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends qgis python3-qgis ca-certificates >/dev/null
chroot "$dir" /usr/bin/env QT_QPA_PLATFORM=offscreen /usr/bin/python3 -c \
  "from qgis.core import Qgis; print('QGIS', Qgis.QGIS_VERSION, 'ready in', '$dir')"
touch "$stamp"
