#!/usr/bin/env bash
# Counts the instructions an arm64 executable runs under qemu-aarch64, for docs/PERFORMANCE.md: user mode only (the
# program and its libraries, not the kernel). qemu logs each translation block's instructions when it translates it
# (-d in_asm) and the block's address each time it executes it (-d exec, with nochain so that blocks chained to each
# other are logged too); the count is the sum over executions of the block's length. Single-threaded runs (-t 1)
# only: a worker spinning while it waits would be counted as work.
# Usage: eng/count-arm64-instructions.sh CPU EXECUTABLE [ARGS...]    CPU is qemu's -cpu: max (dot product), cortex-a53 (none)
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 CPU EXECUTABLE [ARGS...]" >&2; exit 1; }
cpu=$1
shift
toolchain=$(cd "$(dirname "$0")/.." && pwd)/.cache/arm64-toolchain
[ -x "$toolchain/qemu-aarch64-static" ] || { echo "count-arm64-instructions: no qemu in $toolchain; run eng/fetch-arm64-toolchain.sh $toolchain" >&2; exit 1; }
# The log goes to descriptor 3, a pipe to the counter; the program's own output is dropped.
# in_asm: "IN:", then "0x5502afe700:  a9b27bfd  stp ..." per instruction, then a blank line.
# exec:   "Trace 0: 0x7f6e70000240 [0000000001009331/0000005502afe700/00000001/00000200]": the block at 5502afe700.
QEMU_LD_PREFIX=$toolchain/sysroot/usr/aarch64-linux-gnu \
  "$toolchain/qemu-aarch64-static" -cpu "$cpu" -d in_asm,exec,nochain -D /dev/fd/3 "$@" 3>&1 >/dev/null 2>/dev/null |
  awk '
    /^IN:/ { block = ""; length_ = 0; translating = 1; next }
    translating && /^0x/ { if (block == "") block = substr($1, 3, length($1) - 3); length_++; next }
    translating { if (block != "") size[block] = length_; translating = 0 }
    /^Trace/ { split($0, fields, "/"); pc = fields[2]; sub(/^0+/, "", pc); total += size[pc] }
    END { printf "%d\n", total }'
