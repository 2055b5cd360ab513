#!/usr/bin/env bash
# The test command. Installs what the tests need if missing (scripts/setup.sh), runs every test in the solution
# (the tests start their own Azurite on free ports and their own fake OpenAI and Mem0 servers on 127.0.0.1),
# and ends with one summary line: "Tests: N passed, N failed, N skipped". The line above it counts the tests under the
# real Azure Functions host, which run when FUNCTIONS_HOST_START names the script that starts it (README, func start).
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh || exit 1

results=artifacts/test-results
rm -rf "$results"
dotnet test SupportAgent.sln --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
status=$?

passed=0; failed=0; skipped=0; files=0
real_passed=0; real_failed=0; real_skipped=0
for trx in "$results"/*.trx; do
  [[ -f $trx ]] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { local v; v=$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"); echo "${v:-0}"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  # A skipped xunit test is a result with outcome NotExecuted; the counters leave it out.
  all=$(grep -o '<UnitTestResult [^>]*>' "$trx")
  skipped=$((skipped + $(grep -c 'outcome="NotExecuted"' <<<"$all")))
  # The real Functions host's collection, counted on its own (it is skipped unless FUNCTIONS_HOST_START is set).
  real=$(grep 'testName="SupportAgent.Functions.Tests.RealHost\.' <<<"$all")
  real_passed=$((real_passed + $(grep -c 'outcome="Passed"' <<<"$real")))
  real_failed=$((real_failed + $(grep -c 'outcome="Failed"' <<<"$real")))
  real_skipped=$((real_skipped + $(grep -c 'outcome="NotExecuted"' <<<"$real")))
done

if [[ $files -eq 0 ]]; then
  echo "No test results were written (the build probably failed)."
  [[ $status -ne 0 ]] || status=1
fi
echo "Under the real Functions host: $real_passed passed, $real_failed failed, $real_skipped skipped"
# CI (REQUIRE_REAL_HOST=1, set by .ci/run) needs that collection to have run: skipped or absent fails the run.
if [[ ${REQUIRE_REAL_HOST:-} == 1 && ( $real_skipped -gt 0 || $real_passed -eq 0 ) ]]; then
  echo "The real Functions host tests did not run (FUNCTIONS_HOST_START=${FUNCTIONS_HOST_START:-unset}): CI needs them."
  [[ $status -ne 0 ]] || status=1
fi
echo "Tests: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]] || [[ $status -ne 0 ]] || status=1
exit $status
