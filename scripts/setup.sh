#!/usr/bin/env bash
# Installs what is missing on a fresh machine, and nothing when it is already there.
#   scripts/setup.sh              everything the tests, CI and the benchmark need (scripts/test.sh and .ci/run call this)
#   scripts/setup.sh --run-only   only what running the service needs (scripts/run.sh and scripts/bench.sh call this)
set -euo pipefail
cd "$(dirname "$0")/.."

run_only=false
[[ " $* " == *" --run-only "* ]] && run_only=true

# --- Running the service: the .NET SDK, and Azurite (the Azure Storage emulator) from package-lock.json ---

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "setup: Node.js 20+ and npm are required (for Azurite)" >&2; exit 1; }

stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -x node_modules/.bin/azurite || ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup: installing npm packages (Azurite) from package-lock.json..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi

if $run_only; then
  exit 0
fi

# --- Tests and CI as well ---

# The Bicep CLI (from NuGet), which the infrastructure tests and scripts/check-infra.sh compile infra/main.bicep with.
bash scripts/install-bicep.sh >/dev/null

# Debian's chromium, which the browser tests drive with Playwright (it cannot download browsers of its own here).
if ! command -v chromium >/dev/null && [[ -z ${CHROMIUM_PATH:-} ]]; then
  if command -v apt-get >/dev/null && [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing chromium (apt) for the browser tests..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends chromium >&2
  else
    echo "setup: chromium is not installed and cannot be installed here (needs apt as root); the browser tests will fail. Install the chromium package, or set CHROMIUM_PATH." >&2
  fi
fi
