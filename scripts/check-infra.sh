#!/usr/bin/env bash
# Builds infra/main.bicep (and every other .bicep file under infra/, such as modules) with the Bicep linter (rules in infra/bicepconfig.json) and fails on ANY diagnostic:
# errors, warnings and infos alike. `bicep build` exits 0 on warnings, so its diagnostics output is checked too.
# Installs the Bicep CLI from NuGet first when needed (scripts/install-bicep.sh).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bicep="$(bash "$repo/scripts/install-bicep.sh")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
mapfile -t files < <(find "$repo/infra" -name '*.bicep' -type f | sort)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "check-infra: no .bicep file under infra/" >&2
  exit 1
fi
for file in "${files[@]}"; do
  rel="${file#"$repo"/}"
  rc=0
  "$bicep" build "$file" --outfile "$work/out.json" >"$work/stdout.txt" 2>"$work/diagnostics.txt" || rc=$?
  cat "$work/stdout.txt" >&2
  if [[ $rc -ne 0 ]] || grep -q '[^[:space:]]' "$work/diagnostics.txt"; then
    echo "check-infra: $rel has diagnostics (bicep exit code $rc); every error, warning and info fails the build:" >&2
    cat "$work/diagnostics.txt" >&2
    status=1
  else
    echo "check-infra: $rel builds with no errors and no linter warnings ($("$bicep" --version))"
  fi
done

# infra/main.parameters.json is checked by the tests (InfraTemplateTests), which parse it against the template.

exit $status
