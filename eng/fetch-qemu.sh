#!/usr/bin/env bash
# Fetches Debian's statically linked qemu-x86_64 (user-mode emulation) into DEST, so that a test can run a NativeAOT
# executable on an emulated CPU that lacks the instruction sets it was built for. The package is only unpacked.
# Usage: eng/fetch-qemu.sh DEST
set -euo pipefail
dest=${1:?destination folder}
dest=${dest%/}

[ -f "$dest/.complete" ] && exit 0
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "fetch-qemu: the CPU-mismatch test emulates x86-64 on linux-x64 only (this is $(uname -s)-$(uname -m))" >&2
  exit 1
fi
command -v apt-get >/dev/null || { echo "fetch-qemu: apt-get is needed to fetch Debian's qemu-user-static" >&2; exit 1; }

. "$(dirname "$0")/fetch-lib.sh"
begin_fetch "$dest"
echo "fetch-qemu: fetching Debian's qemu-user-static" >&2
# A fresh machine may have no package lists yet; reading them needs root, as apt does.
if ! (cd "$work" && apt-get download -qq qemu-user-static 2>/dev/null); then
  apt-get update -qq
  (cd "$work" && apt-get download -qq qemu-user-static)
fi
dpkg-deb -x "$work"/qemu-user-static_*.deb "$work/root"
rm -rf "$dest"
mkdir -p "$dest"
mv "$work/root/usr/bin/qemu-x86_64-static" "$dest/"
end_fetch
