#!/usr/bin/env bash
# Packs the ModelGen library and the modelgen tool, which carries the library's package, into one folder feed:
#   eng/pack.sh [-o DIR] [--version VERSION]        (default: artifacts/packages, the version in eng/Package.props)
# then: dotnet tool install --global ModelGen.Tool --add-source artifacts/packages
# The build runs in its own slot (artifacts/slot-pack), so it leaves a development build's outputs alone.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
output=$repo/artifacts/packages
version=()
while [ $# -gt 0 ]; do
  case $1 in
    -o|--output) output=${2:?$1 needs a folder}; shift 2 ;;
    --version) version=("-p:ModelGenPackageVersion=${2:?$1 needs a version}"); shift 2 ;;
    *) echo "pack.sh: unknown argument '$1' (usage: eng/pack.sh [-o DIR] [--version VERSION])" >&2; exit 1 ;;
  esac
done
mkdir -p "$output"
output=$(cd "$output" && pwd)

export ModelGenBuildSlot=${ModelGenBuildSlot:-pack}
# The tool packs the library's .nupkg from the same folder, so the library goes first.
for project in src/ModelGen/ModelGen.csproj src/ModelGen.Cli/ModelGen.Cli.csproj; do
  dotnet pack "$repo/$project" -c Release -o "$output" "${version[@]}" -nologo -v:q
done
ls "$output"/*.nupkg
