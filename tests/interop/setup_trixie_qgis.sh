#!/usr/bin/env bash
# QGIS 3.40 (Debian trixie) in a minbase chroot, for the interop checks that need a current QGIS
# (WMTS time, OAPIF editing). Debian 12's QGIS is 3.22. Root only; ~2.5 min and ~2.5 GB once.
# Usage: setup_trixie_qgis.sh [DIR]   (default /var/lib/tumen/trixie-qgis)
set -euo pipefail
dir="${1:-/var/lib/tumen/trixie-qgis}"
stamp="$dir/.tumen-qgis-ready"
[ -f "$stamp" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "setup_trixie_qgis.sh: needs root (debootstrap and chroot)" >&2
  exit 1
fi
command -v debootstrap >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 debootstrap >/dev/null
}
mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)"
mirror="${mirror:-http://deb.debian.org/debian}"
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
echo "debootstrap trixie into $dir (from $mirror)"
debootstrap --variant=minbase trixie "$dir" "$mirror" >/dev/null
cp /etc/resolv.conf "$dir/etc/resolv.conf"
chroot "$dir" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends qgis python3-qgis ca-certificates >/dev/null
chroot "$dir" /usr/bin/env QT_QPA_PLATFORM=offscreen /usr/bin/python3 -c \
  "from qgis.core import Qgis; print('QGIS', Qgis.QGIS_VERSION, 'ready in', '$dir')"
touch "$stamp"
