#!/usr/bin/env bash
# Fetches Debian's chromium, and the packages it depends on that this machine lacks, into DEST for the browser test
# of the chat page (tests/ModelGen.Server.Tests). Packages are only downloaded and unpacked, never installed:
#   root/                  the packages' files as dpkg-deb -x lays them out
#   chromium               runs root/usr/lib/chromium/chromium with the unpacked libraries on LD_LIBRARY_PATH
# Besides chromium and chromium-common, what is fetched is what apt would install (`apt-get install -s
# --no-install-recommends chromium`): on a machine that has some of the libraries already, only the others.
# Usage: eng/fetch-chromium.sh DEST
set -euo pipefail
dest=${1:?destination folder}
dest=${dest%/}

[ -f "$dest/.complete" ] && exit 0
command -v apt-get >/dev/null || { echo "fetch-chromium: apt-get is needed to fetch Debian's chromium" >&2; exit 1; }

. "$(dirname "$0")/fetch-lib.sh"
begin_fetch "$dest"

# A fresh machine may have no package lists yet (then apt knows no chromium); reading them needs root, as apt does.
apt-cache show chromium >/dev/null 2>&1 || apt-get update -qq
apt-cache show chromium >/dev/null 2>&1 || { echo "fetch-chromium: apt knows no package chromium" >&2; exit 1; }
# chromium itself always (installed or not, the browser runs from DEST), and what apt would install with it.
packages=$( { echo chromium; echo chromium-common;
  apt-get install -s -qq --no-install-recommends chromium 2>/dev/null | awk '/^Inst /{print $2}'; } | sort -u)
echo "fetch-chromium: fetching" $packages >&2
# shellcheck disable=SC2086 # one package name a word
(cd "$work" && apt-get download -qq $packages)
mkdir "$work/root"
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$work/root"
done
[ -x "$work/root/usr/lib/chromium/chromium" ] || { echo "fetch-chromium: the chromium package has no usr/lib/chromium/chromium" >&2; exit 1; }

cat > "$work/chromium" <<'WRAPPER'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
lib=$here/root/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH="$lib:$lib/pulseaudio${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$here/root/usr/lib/chromium/chromium" "$@"
WRAPPER
chmod +x "$work/chromium"

rm -rf "$dest"
mkdir -p "$dest"
mv "$work/root" "$work/chromium" "$dest/"
end_fetch
