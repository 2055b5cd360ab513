#!/usr/bin/env bash
# Publishes the self host (Release, ReadyToRun: precompiled, so it starts and answers its first request sooner) to
# artifacts/selfhost, but only when its sources changed since the last publish. Quiet: the build's output goes to
# artifacts/selfhost.build.log and is shown only when the build fails. Used by scripts/run.sh and scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

out=artifacts/selfhost
stamp=$out/.sources.sha256
log=artifacts/selfhost.build.log

# Everything the build reads: both projects (minus their build output) and the top-level build files.
want=$({
  find SupportAgent.Functions SupportAgent.SelfHost -type f -not -path '*/bin/*' -not -path '*/obj/*' -print0
  for f in host.json Directory.Build.props Directory.Build.targets Directory.Packages.props global.json NuGet.config nuget.config; do
    if [[ -f $f ]]; then printf '%s\0' "$f"; fi
  done
} | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)

if [[ -f $out/SupportAgent.SelfHost.dll && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

echo "building the self host (first run, or its sources changed; about a minute)..." >&2
mkdir -p artifacts
rm -f "$stamp"
if ! dotnet publish SupportAgent.SelfHost -c Release -o "$out" -nologo > "$log" 2>&1; then
  grep -E ': error ' "$log" | sort -u | head -n 20 >&2 || tail -n 30 "$log" >&2
  echo "the build failed; its full output is in $log" >&2
  exit 1
fi
echo "$want" > "$stamp"
