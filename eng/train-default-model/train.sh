#!/usr/bin/env bash
# Retrains the default model, models/modelgen-fortunes.gguf, and prints its perplexity on the held-out fortunes.
# For maintainers: CI never trains. Needs root for Debian's python3-torch, fortunes and OpenBLAS (without OpenBLAS,
# Debian's torch multiplies matrices with the reference BLAS, about 20 times slower): a quiet machine is needed.
# Usage: eng/train-default-model/train.sh [train.py options]
set -euo pipefail
cd "$(dirname "$0")/../.."

packages=(python3-torch fortunes libopenblas0-pthread)
if ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 eng/train-default-model/train.py --out "$work/fortunes-f32.gguf" --heldout "$work/heldout.txt" "$@"
modelgen=(dotnet run -c Release --project src/ModelGen.Cli --)
"${modelgen[@]}" quantize "$work/fortunes-f32.gguf" models/modelgen-fortunes.gguf Q8_0
"${modelgen[@]}" perplexity models/modelgen-fortunes.gguf -f "$work/heldout.txt" -c 256
