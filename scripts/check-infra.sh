#!/usr/bin/env bash
# Builds infra/main.bicep with the Bicep linter (rules in infra/bicepconfig.json) and fails on ANY diagnostic:
# errors, warnings and infos alike. `bicep build` exits 0 on warnings, so its diagnostics output is checked too.
# Installs the Bicep CLI from NuGet first when needed (scripts/install-bicep.sh).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bicep="$(bash "$repo/scripts/install-bicep.sh")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
for file in "$repo"/infra/main.bicep; do
  rel="${file#"$repo"/}"
  rc=0
  "$bicep" build "$file" --outfile "$work/$(basename "$file" .bicep).json" >"$work/stdout.txt" 2>"$work/diagnostics.txt" || rc=$?
  cat "$work/stdout.txt" >&2
  if [[ $rc -ne 0 ]] || grep -q '[^[:space:]]' "$work/diagnostics.txt"; then
    echo "check-infra: $rel has diagnostics (bicep exit code $rc); every error, warning and info fails the build:" >&2
    cat "$work/diagnostics.txt" >&2
    status=1
  else
    echo "check-infra: $rel builds with no errors and no linter warnings ($("$bicep" --version))"
  fi
done

# The parameters file must be JSON (azd substitutes ${VARS} in it before use).
if ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$repo/infra/main.parameters.json" 2>"$work/json.txt"; then
  echo "check-infra: infra/main.parameters.json is not valid JSON:" >&2
  cat "$work/json.txt" >&2
  status=1
fi

exit $status
