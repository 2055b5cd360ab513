#!/usr/bin/env bash
# The one command: runs the service (SupportAgent.SelfHost) on http://127.0.0.1:7071 (PORT to change).
#   scripts/run.sh               with the model and memory in the environment or local.settings.json "Values"
#   scripts/run.sh --fake-model  with the fake model the tests use instead (no account needed; it answers with what it
#                                was told about the user), on a free port of its own
# In order: checks the settings with the service's own check (before anything is installed, built or started), builds
# only what changed (quietly), starts Azurite when storage is the local emulator (or uses the one already running),
# runs the service in the foreground, and on Ctrl-C or SIGTERM stops it gracefully, then what it started.
set -euo pipefail
cd "$(dirname "$0")/.."

fake_model=false
args=()
for arg in "$@"; do
  case "$arg" in
    --fake-model) fake_model=true ;;
    -h|--help) sed -n '2,8p' "$0" | cut -c3-; exit 0 ;;
    *) args+=("$arg") ;;
  esac
done

say() { echo "run: $*" >&2; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The Server header of what answers HTTP on 127.0.0.1:$1 (empty if it does not answer HTTP within 2 s).
server_of() {
  local line
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0
  printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  while IFS= read -r -t 2 line <&3; do
    line=${line%$'\r'}
    [[ -n $line ]] || break
    if [[ ${line,,} == server:* ]]; then echo "${line#*: }"; fi
  done
  exec 3<&- 3>&-
}

if $fake_model; then
  command -v node >/dev/null || { say "Node.js 20+ is required"; exit 1; }
  fake_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  # Environment variables win over local.settings.json: the fake model replaces whichever model it names.
  export OPENAI_BASE_URL="http://127.0.0.1:$fake_port/v1" OPENAI_API_KEY=fake-model AZURE_OPENAI_ENDPOINT= AZURE_OPENAI_DEPLOYMENT= AZURE_OPENAI_API_KEY=
fi

# The service's own settings check. A service built before is asked first, so a wrong setting is reported before
# anything is built; after a build it is asked again (its rules may have changed).
selfhost=artifacts/selfhost/SupportAgent.SelfHost.dll
check() {
  local out errors status=0
  errors=$(mktemp)
  out=$(dotnet "$selfhost" --check 2>"$errors") || status=$?
  cat "$errors" >&2
  if [[ $status -eq 2 ]] && ! $fake_model && grep -q "No chat model" "$errors"; then
    say "no account at hand? scripts/run.sh --fake-model runs it with the fake model the tests use."
  fi
  rm -f "$errors"
  [[ $status -eq 0 ]] || exit "$status"
  port=$(sed -n 's/^port=//p' <<<"$out")
  storage=$(sed -n 's/^storage=//p' <<<"$out")
  mapfile -t emulator_ports < <(sed -n 's/^\(blob\|queue\|table\)-port=//p' <<<"$out")
}
command -v dotnet >/dev/null || { say "the .NET 10 SDK (dotnet) is required"; exit 1; }
checked=false
if [[ -f $selfhost ]]; then check; checked=true; fi
before=$(cat artifacts/selfhost/.sources.sha256 2>/dev/null || true)
scripts/publish.sh selfhost
if ! $checked || [[ "$(cat artifacts/selfhost/.sources.sha256)" != "$before" ]]; then check; fi

if [[ $port != 0 ]] && listening "$port"; then
  say "port $port on 127.0.0.1 is already in use (is SupportAgent already running?); set PORT to another port, e.g. PORT=$((port + 1)) scripts/run.sh"
  exit 2
fi

azurite_pid=""
fake_pid=""
service_pid=""
stop() { # stops a process this script started, gracefully, then for good
  local pid=$1 what=$2
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  say "stopped $what."
}
cleanup() {
  stop "$service_pid" "the service"
  stop "$fake_pid" "the fake model"
  stop "$azurite_pid" "Azurite"
}
trap cleanup EXIT

if [[ $storage == emulator ]]; then
  names=(Blob Queue Table)
  running=0
  for i in 0 1 2; do
    p=${emulator_ports[$i]}
    listening "$p" || continue
    server=$(server_of "$p")
    if [[ $server != Azurite-${names[$i]}/* ]]; then
      say "127.0.0.1:$p (the storage emulator's ${names[$i],,} port in AzureWebJobsStorage) is in use by something that is not Azurite (${server:-no HTTP server header}); stop it, or set AzureWebJobsStorage to other ports or to a storage account"
      exit 2
    fi
    running=$((running + 1))
  done
  if [[ $running -eq 3 ]]; then
    say "using the Azurite already running on 127.0.0.1:${emulator_ports[0]}-${emulator_ports[2]}."
  elif [[ $running -gt 0 ]]; then
    say "an Azurite answers on some of 127.0.0.1:${emulator_ports[*]} but not all; stop it, or start it with blob, queue and table"
    exit 2
  else
    scripts/setup.sh --run-only
    mkdir -p .azurite
    # Its own session, so a Ctrl-C in the terminal reaches only this script: the service stops first, storage after it.
    setsid node_modules/.bin/azurite --silent --disableTelemetry --skipApiVersionCheck --loose --location .azurite \
      --blobHost 127.0.0.1 --blobPort "${emulator_ports[0]}" --queueHost 127.0.0.1 --queuePort "${emulator_ports[1]}" \
      --tableHost 127.0.0.1 --tablePort "${emulator_ports[2]}" > .azurite/azurite.log 2>&1 &
    azurite_pid=$!
    for _ in $(seq 1 150); do
      listening "${emulator_ports[1]}" && break
      kill -0 "$azurite_pid" 2>/dev/null || { say "Azurite did not start; see .azurite/azurite.log"; exit 1; }
      sleep 0.2
    done
    say "started Azurite on 127.0.0.1:${emulator_ports[0]}-${emulator_ports[2]} (data in .azurite/)."
  fi
fi

if $fake_model; then
  scripts/publish.sh fakes
  setsid dotnet artifacts/fakes/SupportAgent.Fakes.dll --openai-port "$fake_port" --no-mem0 > artifacts/fake-model.log 2>&1 &
  fake_pid=$!
  for _ in $(seq 1 150); do
    listening "$fake_port" && break
    kill -0 "$fake_pid" 2>/dev/null || { say "the fake model did not start; see artifacts/fake-model.log"; exit 1; }
    sleep 0.2
  done
  say "started the fake model on $OPENAI_BASE_URL (it answers with what it was told about the user)."
fi

# In the background so this script can forward Ctrl-C / SIGTERM to it as SIGTERM (a graceful stop: requests in
# flight finish, queue work cut off reappears on the queue) and wait for it, leaving nothing behind.
dotnet "$selfhost" ${args[@]+"${args[@]}"} &
service_pid=$!
trap 'say "stopping the service (requests in flight finish first)..."; kill -TERM "$service_pid" 2>/dev/null || true' INT TERM
status=0
while kill -0 "$service_pid" 2>/dev/null; do
  wait "$service_pid" && status=0 || status=$?
done
service_pid=""
trap - INT TERM
exit "$status"
