#!/usr/bin/env bash
# func-host.sh SCRIPT_ROOT PORT — the real-host tests' way of starting the Azure Functions host (FUNCTIONS_HOST_START),
# over Azure Functions Core Tools, for contributors who have them:
#   FUNCTIONS_HOST_START=$PWD/scripts/func-host.sh dotnet test SupportAgent.Functions.Tests --filter "FullyQualifiedName~RealHost"
# The tests call it as SCRIPT SCRIPT_ROOT PORT and expect, as from CI's copy of the host: the host in the foreground on
# 127.0.0.1:PORT serving SCRIPT_ROOT (the app's build output), app settings from the environment, authorization levels
# enforced (--enableAuth) and the keys they pass: HOST_KEY (the host key), MASTER_KEY, and FUNCTION_KEY for each
# function named in FUNCTION_KEYS. Core Tools keeps keys in storage unless told otherwise; here they are file secrets.
# Written from the host's own settings (AzureWebJobsSecretStorageType, FUNCTIONS_SECRETS_PATH); not run on the
# machines this repository is built on, where Core Tools cannot be installed.
set -euo pipefail
root=$(cd "${1:?usage: func-host.sh SCRIPT_ROOT PORT}" && pwd); port=${2:?usage: func-host.sh SCRIPT_ROOT PORT}
command -v func >/dev/null || { echo "func-host.sh: Azure Functions Core Tools (func) are not on PATH" >&2; exit 1; }

secrets=$(mktemp -d)
trap 'rm -rf "$secrets"' EXIT
key() { printf '{"name":"%s","value":"%s","encrypted":false}' "$1" "$2"; }
printf '{"masterKey":%s,"functionKeys":[%s],"systemKeys":[]}' "$(key master "${MASTER_KEY:?}")" "$(key default "${HOST_KEY:?}")" > "$secrets/host.json"
for function in ${FUNCTION_KEYS:-}; do
  printf '{"keys":[%s]}' "$(key default "${FUNCTION_KEY:?}")" > "$secrets/$(tr 'A-Z' 'a-z' <<<"$function").json"
done

cd "$root"
export FUNCTIONS_WORKER_RUNTIME=dotnet-isolated AzureWebJobsSecretStorageType=files FUNCTIONS_SECRETS_PATH=$secrets
func start --port "$port" --enableAuth
