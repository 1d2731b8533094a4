#!/usr/bin/env bash
# The whole test suite. Building the test projects fetches the pinned llama.cpp reference build (npm registry) into
# .cache/ first; the differential tests run against it. Prints a one-line summary: "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# Fully optimized code from the first call: kernels are tested as they run in production (a JIT bug that only
# optimized code shows was found this way), and the compute-heavy tests run faster.
export DOTNET_TieredCompilation=0
dotnet test ModelGen.sln -c Release --logger "trx" --results-directory "$results" "$@"
status=$?

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed))); failed=$((failed + $(get failed)))
  skipped=$((skipped + $(get notExecuted)))
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
