#!/usr/bin/env bash
# Coverage-guided fuzzing with afl++ and SharpFuzz, for runs longer than the mutation fuzzing in the test suite.
# Installs what it needs (SharpFuzz.CommandLine into .cache/tools, afl++ through apt-get when missing), publishes
# eng/fuzz, instruments the ModelGen assemblies, seeds a corpus from the small valid files and the regression cases,
# and runs afl-fuzz on one target for SECONDS. Crashes (an exception other than the documented ones) and hangs land
# in .cache/fuzz/TARGET/findings/default/{crashes,hangs}; keep each as a regression case in tests/FuzzRegressions/.
# Usage: eng/fuzz.sh reader|tokenizer|loader [SECONDS=600]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: eng/fuzz.sh reader|tokenizer|loader [SECONDS]}
seconds=${2:-600}
case "$target" in reader|tokenizer|loader) ;; *) echo "fuzz.sh: unknown target '$target'" >&2; exit 2 ;; esac

tools=.cache/tools
work=.cache/fuzz/$target
bin=.cache/fuzz/bin

if ! command -v afl-fuzz >/dev/null; then
  echo "fuzz.sh: installing afl++" >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y --no-install-recommends afl++; else sudo apt-get install -y --no-install-recommends afl++; fi
fi
[ -x "$tools/sharpfuzz" ] || dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0

dotnet publish eng/fuzz/ModelGen.Fuzz.csproj -c Release -o "$bin" -nologo -v q
# The loader reaches the kernels through the runtime; instrumenting them too would only slow each run down.
for assembly in ModelGen.Gguf ModelGen.Runtime; do
  "$tools/sharpfuzz" "$bin/$assembly.dll"
done

# Seeds: afl++ wants them small. Two valid vocabularies (no tensors) for the reader and the tokenizer, the default
# model for the loader, and the target's regression cases.
mkdir -p "$work/in"
rm -f "$work/in"/*
if [ "$target" = loader ]; then cp models/modelgen-tiny.gguf "$work/in/"; else cp eng/fuzz/seeds/*.gguf "$work/in/"; fi
cp tests/FuzzRegressions/"$target"/*.gguf "$work/in/" 2>/dev/null || true

# SharpFuzz's fork server is not a native afl binary (skip the check); .NET reserves far more address space than afl's
# default memory limit; a first input pays for JIT compilation, hence the generous time limit.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_AUTORESUME=1 # a second run continues from the findings of the first
export DOTNET_TieredCompilation=0
afl-fuzz -i "$work/in" -o "$work/findings" -V "$seconds" -t 5000 -m none -- "$bin/ModelGen.Fuzz" "$target"

crashes=$(find "$work/findings/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
hangs=$(find "$work/findings/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
echo "fuzz.sh: $target: $crashes crashes, $hangs hangs in $work/findings/default"
