#!/usr/bin/env bash
# The test command. Installs what the tests need if missing (scripts/setup.sh), runs every test in the solution
# (the tests start their own Azurite on free ports and their own fake OpenAI and Mem0 servers on 127.0.0.1),
# and ends with one summary line: "Tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || exit 1

results=artifacts/test-results
rm -rf "$results"
dotnet test SupportAgent.sln --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
status=$?

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [[ -f $trx ]] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { local v; v=$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"); echo "${v:-0}"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done

if [[ $files -eq 0 ]]; then
  echo "No test results were written (the build probably failed)."
  [[ $status -ne 0 ]] || status=1
fi
echo "Tests: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]] || [[ $status -ne 0 ]] || status=1
exit $status
