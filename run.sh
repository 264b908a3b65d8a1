#!/usr/bin/env bash
# Starts the chat on http://localhost:8080: a private PostgreSQL under .data/ (unless
# ConnectionStrings__Chat is set), the silos and the gateways. Ctrl-C stops them all.
#   ./run.sh                         one silo, one gateway on :8080
#   ./run.sh --silos 3 --gateways 2  silos on 11111.., gateways on :8080 and :8081, one cluster
set -euo pipefail
cd "$(dirname "$0")"

silos=1
gateways=1
while [ $# -gt 0 ]; do
  case "$1" in
    --silos) silos=$2; shift 2 ;;
    --gateways) gateways=$2; shift 2 ;;
    *) echo "usage: run.sh [--silos N] [--gateways N]" >&2; exit 2 ;;
  esac
done

own_postgres=
if [ -z "${ConnectionStrings__Chat:-}" ]; then
  ConnectionStrings__Chat=$(scripts/postgres.sh start .data/postgres)
  export ConnectionStrings__Chat
  own_postgres=1
  echo "PostgreSQL: $ConnectionStrings__Chat (data in .data/postgres)"
fi

dotnet build Chat.Orleans.sln -c Release -v quiet -nologo

silo_pids=()
gateway_pids=()
stop() {
  trap - INT TERM EXIT
  echo "Stopping..."
  # Gateways first, so they can say goodbye to the rooms; then the silos, which flush their writes.
  for pid in "${gateway_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${gateway_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for pid in "${silo_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${silo_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$own_postgres" ]; then scripts/postgres.sh stop .data/postgres; fi
  exit 0
}
trap stop INT TERM EXIT

# Each program runs from its project folder, its content root (appsettings.json, wwwroot/).
for i in $(seq 0 $((silos - 1))); do
  (cd Silo && Chat__Silo__SiloPort=$((11111 + i)) Chat__Silo__ClientPort=$((30000 + i)) \
    exec dotnet bin/Release/net10.0/Chat.Orleans.Silo.dll --urls "http://localhost:$((8090 + i))") &
  silo_pids+=($!)
done
for i in $(seq 0 $((gateways - 1))); do
  (cd Gateway && exec dotnet bin/Release/net10.0/Chat.Orleans.Gateway.dll --urls "http://localhost:$((8080 + i))") &
  gateway_pids+=($!)
  echo "Chat: http://localhost:$((8080 + i))"
done

echo "$silos silo(s), $gateways gateway(s). Ctrl-C to stop."
wait -n "${silo_pids[@]}" "${gateway_pids[@]}"
