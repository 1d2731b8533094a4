#!/usr/bin/env bash
# Fetches what NativeAOT needs to link linux-arm64 executables on linux-x64, and to run them, into DEST:
#   sysroot/                 Debian's arm64 glibc, kernel headers and libgcc as their -cross packages lay them out
#                            (/usr/aarch64-linux-gnu, /usr/lib/gcc-cross), which clang finds with --sysroot
#   sysroot/usr/lib/llvm-14  Debian's ld.lld (lld-14): links any architecture, needs only libllvm14, which clang-14 has
#   aarch64-linux-gnu-clang  the linker driver NativeAOT is given: the machine's clang, told where ld.lld is
#   qemu-aarch64-static      Debian's user-mode emulator; QEMU_LD_PREFIX=DEST/sysroot/usr/aarch64-linux-gnu runs a build
# Packages are only downloaded and unpacked. The machine's clang (clang-14, which this kind of machine comes with, or
# any clang) and llvm-objcopy (Debian's llvm) are expected to be there.
# Usage: eng/fetch-arm64-toolchain.sh DEST
set -euo pipefail
dest=${1:?destination folder}
dest=${dest%/}

[ -f "$dest/.complete" ] && exit 0
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "fetch-arm64-toolchain: cross-linking linux-arm64 is set up on linux-x64 only (this is $(uname -s)-$(uname -m))" >&2
  exit 1
fi
command -v apt-get >/dev/null || { echo "fetch-arm64-toolchain: apt-get is needed to fetch Debian's arm64 cross packages" >&2; exit 1; }
clang=$(command -v clang || command -v clang-14) || { echo "fetch-arm64-toolchain: clang is needed as the linker driver (Debian package clang-14)" >&2; exit 1; }
command -v llvm-objcopy >/dev/null || { echo "fetch-arm64-toolchain: llvm-objcopy is needed to strip arm64 symbols (Debian package llvm)" >&2; exit 1; }

packages=(libc6-arm64-cross libc6-dev-arm64-cross linux-libc-dev-arm64-cross libgcc-12-dev-arm64-cross libgcc-s1-arm64-cross
  lld-14 qemu-user-static)

. "$(dirname "$0")/fetch-lib.sh"
begin_fetch "$dest"
echo "fetch-arm64-toolchain: fetching ${packages[*]}" >&2
# A fresh machine may have no package lists yet; reading them needs root, as apt does.
if ! (cd "$work" && apt-get download -qq "${packages[@]}" 2>/dev/null); then
  apt-get update -qq
  (cd "$work" && apt-get download -qq "${packages[@]}")
fi
mkdir "$work/sysroot" "$work/qemu"
for deb in "$work"/*.deb; do
  case $(basename "$deb") in
    qemu-user-static_*) dpkg-deb -x "$deb" "$work/qemu" ;;
    *) dpkg-deb -x "$deb" "$work/sysroot" ;;
  esac
done
[ -x "$work/sysroot/usr/lib/llvm-14/bin/ld.lld" ] || { echo "fetch-arm64-toolchain: lld-14 has no usr/lib/llvm-14/bin/ld.lld" >&2; exit 1; }

# NativeAOT passes --target=aarch64-linux-gnu, --sysroot and -fuse-ld=lld itself; -B points clang at this ld.lld.
cat > "$work/aarch64-linux-gnu-clang" <<EOF
#!/bin/sh
here=\$(dirname "\$(readlink -f "\$0")")
exec "$clang" -B"\$here/sysroot/usr/lib/llvm-14/bin" "\$@"
EOF
chmod +x "$work/aarch64-linux-gnu-clang"

rm -rf "$dest"
mkdir -p "$dest"
mv "$work/sysroot" "$work/aarch64-linux-gnu-clang" "$dest/"
mv "$work/qemu/usr/bin/qemu-aarch64-static" "$dest/"
end_fetch
