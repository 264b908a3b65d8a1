#!/usr/bin/env bash
# Runs every test (each test class starts its own throwaway PostgreSQL, silos and gateways) and
# ends with a line "N passed, N failed" read from the test results.
set -uo pipefail
cd "$(dirname "$0")"

rm -rf TestResults
dotnet test Chat.Orleans.sln -c Release --logger "trx;LogFileName=results.trx" --results-directory TestResults "$@"
status=$?

counters=$(grep -ho '<Counters [^>]*>' TestResults/*.trx 2>/dev/null | head -n 1)
passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
echo "${passed:-0} passed, ${failed:-0} failed"
if [ -z "$counters" ] && [ "$status" -eq 0 ]; then status=1; fi
exit "$status"
