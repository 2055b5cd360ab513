#!/usr/bin/env bash
# The benchmark command (docs/performance.md): installs what is missing (scripts/setup.sh --run-only), builds the
# benchmark and publishes the self host (ReadyToRun, scripts/publish.sh selfhost), then SupportAgent.Benchmark starts
# Azurite (in memory), the fake OpenAI and Mem0 servers (with injected latency) and the self host on free loopback
# ports of their own, drives POST /api/chat (or, with --cold-start, starts the self host again and again), stops
# everything it started, and prints a results table and one final JSON line. Options: scripts/bench.sh --help.
# --cold-start --host real starts the real Azure Functions host instead, with the script FUNCTIONS_HOST_START names
# (run as SCRIPT SCRIPT_ROOT PORT), serving the function app as deployed (published to artifacts/functions).
# Logs and results: artifacts/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  exec dotnet run --project SupportAgent.Benchmark -c Release -- --help
fi

scripts/setup.sh --run-only
echo "bench: building Release..." >&2
dotnet build SupportAgent.Benchmark -c Release -nologo -v quiet -clp:ErrorsOnly >&2
scripts/publish.sh selfhost
if [[ " $* " == *" --host real "* ]]; then
  scripts/publish.sh functions
fi

# Last-resort cleanup: the benchmark stops its children itself (also on Ctrl-C); if it is killed outright, stop the
# PIDs it recorded, each only if it is still one of ours (a recycled PID is left alone).
pids_file=artifacts/bench/children.pids
cleanup() {
  [[ -f $pids_file ]] || return 0
  while read -r pid; do
    [[ -n $pid ]] || continue
    if kill -0 "$pid" 2>/dev/null && grep -qaE 'SupportAgent|azurite|WebJobs.Script.WebHost' "/proc/$pid/cmdline" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done < "$pids_file"
  rm -f "$pids_file"
}
trap cleanup EXIT

set +e
dotnet SupportAgent.Benchmark/bin/Release/net10.0/SupportAgent.Benchmark.dll "$@"
status=$?
set -e
exit $status
