#!/usr/bin/env bash
# Runs the benchmark suite (Bench/): a private PostgreSQL with its durable settings (fsync on), one
# silo, gateways and bare-Kestrel floor servers as needed, and load workers, all on this machine.
# Results: bench-results/results.jsonl (one JSON line per scenario) and bench-results/report.md.
#   ./bench.sh                      the whole suite (about 13 minutes on 2 cores)
#   ./bench.sh --only hot,join      some scenarios: hot, many, saturation, join, durability, limit, 100k,
#                                   failover (a silo killed; then, on scripts/postgres-ha.sh, the primary)
#   ./bench.sh --smoke              a few seconds, as the tests run it
set -euo pipefail
cd "$(dirname "$0")"

dotnet build Chat.Orleans.sln -c Release -v quiet -nologo
exec dotnet Bench/bin/Release/net10.0/Chat.Orleans.Bench.dll suite "$@"
