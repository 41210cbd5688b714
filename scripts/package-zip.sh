#!/usr/bin/env bash
# Builds the function app's zip deployment package without azd: compiles the app, keeps only the
# production dependencies in node_modules and leaves out what .funcignore lists. The dev
# dependencies are installed again at the end, so the working copy still builds and tests.
# Usage: scripts/package-zip.sh [OUTPUT.zip]   (default: mailsweep-app.zip in the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
output=$(realpath -m "${1:-mailsweep-app.zip}")

npm ci --no-audit --no-fund
npm run build
npm prune --omit=dev --no-audit --no-fund

# .funcignore contains root-anchored patterns (/src/) and file names; zip matches paths relative to
# the root, so the leading slash goes and a folder pattern matches everything below it.
excludes=(-x "$(basename "$output")")
while IFS= read -r pattern; do
  pattern=${pattern#/}
  if [[ $pattern == */ ]]; then
    excludes+=(-x "${pattern}*")
  else
    excludes+=(-x "$pattern")
  fi
done < <(grep -Ev '^[[:space:]]*(#|$)' .funcignore)
rm -f "$output"
zip -qr "$output" . "${excludes[@]}"

npm ci --no-audit --no-fund
echo "wrote $output"
