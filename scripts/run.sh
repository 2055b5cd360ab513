#!/usr/bin/env bash
# The one command: installs what is missing, starts Azurite (unless one already listens on 127.0.0.1:10001),
# builds and runs the self host on http://127.0.0.1:7071 (PORT to change), and stops the Azurite it started on exit.
# Settings come from the environment and from local.settings.json "Values" (the same file `func start` reads).
set -euo pipefail
cd "$(dirname "$0")/.."

# Fail at once, before any install or build, when no chat model is configured.
if ! node -e '
  const fs = require("fs");
  let values = {};
  try { values = JSON.parse(fs.readFileSync("local.settings.json", "utf8")).Values || {}; } catch (e) {
    if (e.code !== "ENOENT") { console.error("local.settings.json is not valid JSON: " + e.message); process.exit(1); }
  }
  const has = k => (process.env[k] || values[k] || "").trim().length > 0;
  if (!["OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT"].some(has)) {
    console.error("SupportAgent needs a chat model. Set one of these (environment or local.settings.json \"Values\"; see local.settings.json.example):");
    console.error("  OPENAI_API_KEY                                   OpenAI (optional OPENAI_MODEL, default gpt-4o-mini)");
    console.error("  OPENAI_BASE_URL                                  any OpenAI-compatible server, e.g. http://localhost:11434/v1 (Ollama)");
    console.error("  AZURE_OPENAI_ENDPOINT + AZURE_OPENAI_DEPLOYMENT  Azure OpenAI (AZURE_OPENAI_API_KEY, or Entra ID when absent)");
    process.exit(2);
  }'; then
  exit 2
fi

scripts/setup.sh

azurite_pid=""
stop_azurite() {
  if [[ -n $azurite_pid ]] && kill -0 "$azurite_pid" 2>/dev/null; then
    kill "$azurite_pid" 2>/dev/null || true
    wait "$azurite_pid" 2>/dev/null || true
    echo "run: stopped Azurite." >&2
  fi
}
trap stop_azurite EXIT

if (exec 3<>/dev/tcp/127.0.0.1/10001) 2>/dev/null; then
  echo "run: using the Azurite (or storage emulator) already listening on 127.0.0.1:10001." >&2
else
  mkdir -p .azurite
  # Its own session, so Ctrl-C reaches the service first and storage stays up while in-flight work finishes.
  setsid node_modules/.bin/azurite --silent --disableTelemetry --skipApiVersionCheck --loose --location .azurite \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 > .azurite/azurite.log 2>&1 &
  azurite_pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/10001) 2>/dev/null && break
    kill -0 "$azurite_pid" 2>/dev/null || { echo "run: Azurite failed to start; see .azurite/azurite.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "run: started Azurite (data in .azurite/)." >&2
fi

dotnet build SupportAgent.SelfHost -c Release -nologo -v quiet -clp:ErrorsOnly
set +e
dotnet SupportAgent.SelfHost/bin/Release/net10.0/SupportAgent.SelfHost.dll "$@"
status=$?
set -e
exit $status
