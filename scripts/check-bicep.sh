#!/usr/bin/env bash
# Compiles and lints every Bicep and Bicep parameters file under infra/bicep with the official
# Bicep CLI, restored from NuGet by infra/tools/bicep-cli.csproj. Fails on any error or warning,
# from `build` as well as from `lint`.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.47.16
packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
bicep="$packages/azure.bicep.commandline.linux-x64/$version/tools/bicep"
if [[ ! -x "$bicep" ]]; then
  dotnet restore infra/tools/bicep-cli.csproj --nologo --verbosity quiet
fi
chmod +x "$bicep"
"$bicep" --version

# Runs one CLI command and fails when it exits non-zero or prints any diagnostic.
run_clean() {
  local output
  if ! output=$("$bicep" "$@" 2>&1 >/dev/null); then
    echo "$output"
    exit 1
  fi
  if [[ -n "$output" ]]; then
    echo "$output"
    exit 1
  fi
}

files=(infra/bicep/*.bicep infra/bicep/modules/*.bicep)
for file in "${files[@]}"; do
  echo "bicep build $file"
  run_clean build "$file" --stdout
  echo "bicep lint $file"
  run_clean lint "$file"
done
for file in infra/bicep/*.bicepparam; do
  echo "bicep build-params $file"
  run_clean build-params "$file" --stdout
  echo "bicep lint $file"
  run_clean lint "$file"
done
