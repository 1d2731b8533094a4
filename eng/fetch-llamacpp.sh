#!/usr/bin/env bash
# Fetches the pinned llama.cpp reference build (prebuilt libllama/libggml for linux-x64, from the npm registry)
# into DEST, for differential tests and benchmarks. No install scripts run; the package is only unpacked.
# Usage: eng/fetch-llamacpp.sh VERSION DEST
set -euo pipefail
version=${1:?version}
dest=${2:?destination folder}
dest=${dest%/}

[ -f "$dest/.complete" ] && exit 0
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "fetch-llamacpp: the pinned llama.cpp reference build exists for linux-x64 only (this is $(uname -s)-$(uname -m))" >&2
  exit 1
fi
command -v npm >/dev/null || { echo "fetch-llamacpp: npm is needed to fetch @node-llama-cpp/linux-x64@$version" >&2; exit 1; }

. "$(dirname "$0")/fetch-lib.sh"
begin_fetch "$dest"
echo "fetch-llamacpp: fetching @node-llama-cpp/linux-x64@$version" >&2
(cd "$work" && npm pack --silent "@node-llama-cpp/linux-x64@$version" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work"
rm -rf "$dest"
mv "$work/package/bins/linux-x64" "$dest"
end_fetch
