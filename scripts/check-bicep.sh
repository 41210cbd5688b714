#!/usr/bin/env bash
# Compiles and lints every Bicep file under infra/bicep with the official Bicep CLI, restored from
# NuGet by infra/tools/bicep-cli.csproj. Fails on any error or linter warning.
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

for file in infra/bicep/main.bicep infra/bicep/modules/*.bicep; do
  echo "bicep build $file"
  "$bicep" build "$file" --stdout > /dev/null
  echo "bicep lint $file"
  output=$("$bicep" lint "$file" 2>&1)
  if [[ -n "$output" ]]; then
    echo "$output"
    exit 1
  fi
done
