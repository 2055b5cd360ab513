#!/usr/bin/env bash
# Installs what the service, the tests and the benchmark need on a fresh machine, and nothing when it is already there:
# the pinned npm packages (Azurite, the Azure Storage emulator) from package-lock.json, the Bicep CLI (from NuGet)
# that the infrastructure tests compile infra/main.bicep with, and Debian's chromium for the browser tests (not with --run-only).
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

# Debian's chromium, which the browser tests drive with Playwright (it cannot download browsers of its own here).
# Running the service does not need it: --run-only skips it.
if [[ " $* " != *" --run-only "* ]] && ! command -v chromium >/dev/null && [[ -z ${CHROMIUM_PATH:-} ]]; then
  if command -v apt-get >/dev/null && [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing chromium (apt) for the browser tests..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends chromium >&2
  else
    echo "setup: chromium is not installed and cannot be installed here (needs apt as root); the browser tests will fail. Install the chromium package, or set CHROMIUM_PATH." >&2
  fi
fi
