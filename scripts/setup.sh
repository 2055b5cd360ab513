#!/usr/bin/env bash
# Installs what the service, the tests and the benchmark need on a fresh machine, and nothing when it is already there:
# the pinned npm packages (Azurite, the Azure Storage emulator) from package-lock.json, and the Bicep CLI
# (from NuGet) that the infrastructure tests compile infra/main.bicep with.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "setup: Node.js 20+ and npm are required (for Azurite)" >&2; exit 1; }

stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -x node_modules/.bin/azurite || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup: installing npm packages (Azurite) from package-lock.json..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi

bash scripts/install-bicep.sh >/dev/null
