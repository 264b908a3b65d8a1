#!/usr/bin/env bash
# Starts the chat on http://localhost:8080: a private PostgreSQL under .data/ (unless
# ConnectionStrings__Chat is set), one silo and the gateway. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")"

own_postgres=
if [ -z "${ConnectionStrings__Chat:-}" ]; then
  ConnectionStrings__Chat=$(scripts/postgres.sh start .data/postgres)
  export ConnectionStrings__Chat
  own_postgres=1
  echo "PostgreSQL: $ConnectionStrings__Chat (data in .data/postgres)"
fi

dotnet build Chat.Orleans.sln -c Release -v quiet -nologo

pids=()
stop() {
  trap - INT TERM EXIT
  echo "Stopping..."
  # The gateway first, so it can say goodbye to the rooms; then the silo, which flushes its writes.
  [ ${#pids[@]} -gt 1 ] && kill -TERM "${pids[1]}" 2>/dev/null && wait "${pids[1]}" 2>/dev/null || true
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[0]}" 2>/dev/null && wait "${pids[0]}" 2>/dev/null || true
  [ -n "$own_postgres" ] && scripts/postgres.sh stop .data/postgres
  exit 0
}
trap stop INT TERM EXIT

# Each program runs from its project folder, its content root (appsettings.json, wwwroot/).
(cd Silo && exec dotnet bin/Release/net10.0/Chat.Orleans.Silo.dll) &
pids+=($!)
(cd Gateway && exec dotnet bin/Release/net10.0/Chat.Orleans.Gateway.dll --urls "${CHAT_URLS:-http://localhost:8080}") &
pids+=($!)

echo "Chat: ${CHAT_URLS:-http://localhost:8080} (Ctrl-C to stop)"
wait -n "${pids[@]}"
