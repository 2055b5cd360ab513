#!/usr/bin/env bash
# The memory evaluation (docs/memory.md): the evaluation set (SupportAgent.MemoryEvaluation/) written to the
# built-in store on a fresh in-memory Azurite, then each follow-up searched; prints recall@1, recall@5 and the mean
# number of memories put in the prompt, for the built-in store, variants of it, and the old keyword ranking, plus
# isolation. About a minute. Installs what is missing first (scripts/setup.sh --run-only).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --run-only
echo "eval-memory: building Release..." >&2
dotnet build SupportAgent.Benchmark -c Release -nologo -v quiet -clp:ErrorsOnly >&2
exec dotnet SupportAgent.Benchmark/bin/Release/net10.0/SupportAgent.Benchmark.dll --memory-eval
