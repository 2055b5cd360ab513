#!/usr/bin/env bash
# Publishes one of the runnable projects to artifacts/<name>, but only when its sources changed since the last publish,
# and quietly: the build's output goes to artifacts/<name>.build.log and is shown only when the build fails.
#   scripts/publish.sh selfhost   the service (SupportAgent.SelfHost, ReadyToRun: it starts and answers sooner)
#   scripts/publish.sh fakes      the fake model and Mem0 servers (SupportAgent.Fakes)
#   scripts/publish.sh functions  the function app as deployed (SupportAgent.Functions, ReadyToRun, linux-x64), for the
#                                 real Functions host (scripts/bench.sh --cold-start --host real)
# Used by scripts/run.sh and scripts/bench.sh. Prints nothing when the published output is up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  selfhost) project=SupportAgent.SelfHost; sources=(SupportAgent.Functions SupportAgent.SelfHost web); what="the service" ;;
  fakes) project=SupportAgent.Fakes; sources=(SupportAgent.Fakes); what="the fake model" ;;
  functions) project=SupportAgent.Functions; sources=(SupportAgent.Functions); what="the function app" ;;
  *) echo "usage: scripts/publish.sh selfhost|fakes|functions" >&2; exit 2 ;;
esac
out=artifacts/$1
stamp=$out/.sources.sha256
log=artifacts/$1.build.log

# Everything the build reads: the projects (minus their build output) and the top-level build files.
want=$({
  find "${sources[@]}" -type f -not -path '*/bin/*' -not -path '*/obj/*' -print0
  for f in host.json Directory.Build.props Directory.Build.targets Directory.Packages.props global.json NuGet.config nuget.config; do
    if [[ -f $f ]]; then printf '%s\0' "$f"; fi
  done
} | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)

if [[ -f $out/$project.dll && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

echo "publish: building $what (first run, or its sources changed; about a minute)..." >&2
mkdir -p artifacts
rm -f "$stamp"
if ! dotnet publish "$project" -c Release -o "$out" -nologo > "$log" 2>&1; then
  grep -E ': error ' "$log" | sort -u | head -n 20 >&2 || tail -n 30 "$log" >&2
  echo "publish: the build failed; its full output is in $log" >&2
  exit 1
fi
echo "$want" > "$stamp"
