#!/usr/bin/env bash
# Runs the chat on this machine and keeps it running: a private PostgreSQL under .data/postgres
# (unless ConnectionStrings__Chat is set), the silos and the gateways.
#
#   ./run.sh                          one silo and one gateway: chat at http://localhost:8080
#   ./run.sh --silos 3 --gateways 2   one cluster: silos on 11111.., gateways on :8080 and :8081
#   ./run.sh --ha                     the same on a highly available PostgreSQL under .data/postgres-ha
#                                     (scripts/postgres-ha.sh: a pg_auto_failover monitor, a primary
#                                     and a synchronous standby; a dead primary is replaced in seconds)
#
# Options (the environment variable that sets the same, and the default):
#   --silos N            how many silos                                           1
#   --gateways N         how many gateways                                        1
#   --http-port P        first gateway's port; the next ones get P+1, P+2, ..     CHAT_HTTP_PORT       8080
#   --silo-http-port P   first silo's HTTP port (/readyz, /metrics)               CHAT_SILO_HTTP_PORT  8090
#   --silo-port P        first silo's silo-to-silo port                           CHAT_SILO_PORT       11111
#   --client-port P      first silo's port for the gateways (Orleans clients)     CHAT_CLIENT_PORT     30000
#   --data DIR           the private PostgreSQL's folder (unused when             CHAT_DATA            .data/postgres
#                        ConnectionStrings__Chat is set)                                               (--ha: .data/postgres-ha)
#   --ha                 the private PostgreSQL is highly available (needs Debian's
#                        postgresql-15-auto-failover and pg-auto-failover-cli)
#   --build              build even when the programs are up to date
#
#   ./run.sh token --user alice [--name Alice] [--role moderator|admin|publisher] [--rooms a,b] [--minutes 60]
#                        prints a sign-in token for this local chat (paste it on the page, or open
#                        http://localhost:8080/#token=...). Tokens are signed with Chat__Auth__SigningKeys__0
#                        when it is set, else with a key made once in .data/auth-signing-key.
#
# Builds the silo and the gateway (Release) only when a source is newer than the built programs.
# Prints "silo N started (pid P)" and "gateway N started (pid P)" for every start.
# A silo or gateway that exits is reported and started again on the same ports, after 1 s, then
# 2, 4, .. up to 30 s if it keeps exiting; one that has exited 6 times in a row, each time within 60 s
# of starting, is given up (the others keep running). If the private PostgreSQL dies, it is started
# again on its port (with --ha: a node that stopped is started again, and rejoins as the standby).
# Ctrl-C (or SIGTERM) stops the gateways, then the silos, then that PostgreSQL
# (only if run.sh started it). A second run.sh on the same data folder or any of the same ports
# refuses to start and names what is in the way.
set -euo pipefail
# A failure inside $(...) fails the assignment too, so an error in the up-to-date check is not "up to date".
shopt -s inherit_errexit

# The key that signs local tokens (PROTOCOL.md, "Identity"): the one given, or one made once for this
# checkout and kept private in .data/.
use_local_signing_key() {
  if [ -n "${Chat__Auth__SigningKeys__0:-}" ]; then return; fi
  local file=.data/auth-signing-key
  if [ ! -s "$file" ]; then
    mkdir -p .data
    (umask 077 && head -c 32 /dev/urandom | base64 >"$file")
  fi
  Chat__Auth__SigningKeys__0=$(cat "$file")
  export Chat__Auth__SigningKeys__0
}

if [ "${1:-}" = token ]; then
  shift
  cd "$(dirname "$0")"
  use_local_signing_key
  if [ ! -f Gateway/bin/Release/net10.0/Chat.Orleans.Gateway.dll ]; then
    dotnet build Gateway/Gateway.csproj -c Release -v quiet -nologo >&2
  fi
  cd Gateway
  exec dotnet bin/Release/net10.0/Chat.Orleans.Gateway.dll token "$@"
fi

silos=1
gateways=1
http_port=${CHAT_HTTP_PORT:-8080}
silo_http_port=${CHAT_SILO_HTTP_PORT:-8090}
silo_port=${CHAT_SILO_PORT:-11111}
client_port=${CHAT_CLIENT_PORT:-30000}
data=${CHAT_DATA:-}
force_build=
ha=

usage() {
  echo "usage: run.sh [--silos N] [--gateways N] [--http-port P] [--silo-http-port P] [--silo-port P]" \
    "[--client-port P] [--data DIR] [--ha] [--build]" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  if [ "$1" = --build ]; then force_build=1; shift; continue; fi
  if [ "$1" = --ha ]; then ha=1; shift; continue; fi
  if [ $# -lt 2 ]; then usage; fi
  case "$1" in
    --silos) silos=$2 ;;
    --gateways) gateways=$2 ;;
    --http-port) http_port=$2 ;;
    --silo-http-port) silo_http_port=$2 ;;
    --silo-port) silo_port=$2 ;;
    --client-port) client_port=$2 ;;
    --data) data=$2 ;;
    *) usage ;;
  esac
  shift 2
done

for number in "$silos" "$gateways" "$http_port" "$silo_http_port" "$silo_port" "$client_port"; do
  [[ $number =~ ^[0-9]+$ ]] || usage
done

# A folder given is relative to where run.sh was called from; the default is in the repository.
if [ -n "$data" ]; then data=$(realpath -m "$data"); fi
cd "$(dirname "$0")"
data=${data:-.data/postgres${ha:+-ha}}
use_local_signing_key

# Restart policy. A process that stayed up this long was healthy: its next exit starts the count anew.
readonly steady_seconds=60
readonly max_restarts=5
readonly max_backoff_seconds=30
# A gateway or silo gets this long to stop after SIGTERM before it is killed (a silo whose cluster is
# gone can wait long in its shutdown).
readonly stop_seconds=30
readonly postgres_check_seconds=5

# ---------------------------------------------------------------------------------------------------
# Build only when needed

# Each program, and the project folders it is built from: its own and those it references (see the
# .csproj files). The tests' and benchmarks' own files do not count.
readonly silo_program=Silo/bin/Release/net10.0/Chat.Orleans.Silo.dll
readonly silo_projects=(Silo Grains Grains.Interfaces ServiceDefaults)
readonly gateway_program=Gateway/bin/Release/net10.0/Chat.Orleans.Gateway.dll
readonly gateway_projects=(Gateway Grains.Interfaces ServiceDefaults)

# Prints the first source of a project folder (or a root *.props) newer than the given file, or
# nothing. find stops at the first match: an up-to-date tree costs one walk, a few milliseconds.
newer_source_than() {
  local reference=$1 folder=$2
  find "$folder" ./*.props \
    \( -name bin -o -name obj -o -name .data \) -prune -o -type f \
    \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.json' \
       -o -path 'Gateway/wwwroot/*' -o -path 'Silo/Schema/*.sql' \) \
    -newer "$reference" -print -quit
}

# Says why the program must be built, or nothing when it is up to date: each project's assembly in
# the program's folder is newer than that project's sources. (A build copies an assembly
# with its compile time, and does not compile a project whose sources did not change: comparing
# with the program's own DLL would find a change to Grains/ newer than the silo's DLL forever.)
reason_to_build() {
  local program=$1 folder assembly reference newer
  shift
  for folder in "$@"; do
    assembly=$(dirname "$program")/Chat.Orleans.$folder.dll
    if [ ! -f "$assembly" ]; then echo "$assembly is missing"; return; fi
    # A build after a change of content only (wwwroot, appsettings.json) rewrites no assembly; run.sh's
    # own builds leave a stamp next to the program so that such a change builds once, not every time.
    reference=$assembly
    if [ "$program.built" -nt "$assembly" ]; then reference=$program.built; fi
    newer=$(newer_source_than "$reference" "$folder")
    if [ -n "$newer" ]; then echo "$newer changed since $assembly was built"; return; fi
  done
}

build_reason() {
  local reason
  if [ -n "$force_build" ]; then echo "--build"; return; fi
  reason=$(reason_to_build "$silo_program" "${silo_projects[@]}")
  if [ -z "$reason" ]; then reason=$(reason_to_build "$gateway_program" "${gateway_projects[@]}"); fi
  echo "$reason"
}

build() {
  local started
  # The stamp gets the time the build started: a file saved during the build is built next time.
  started=$(date +%s.%N)
  dotnet build Silo/Silo.csproj -c Release -v quiet -nologo
  dotnet build Gateway/Gateway.csproj -c Release -v quiet -nologo
  touch -d "@$started" "$silo_program.built" "$gateway_program.built"
}

# ---------------------------------------------------------------------------------------------------
# Supervision
#
# Each silo and gateway has a supervisor: a background subshell of run.sh that starts the program,
# waits for it and starts it again. It waits with a plain `wait PID`, which gets the exit status
# however and whenever the program ended (`wait -n` in one loop over all programs loses a program
# killed by a signal while the shell was busy with another one).
#
# Ctrl-C in a terminal sends SIGINT to run.sh and everything it started; only run.sh acts on it.
# Supervisors, programs and back-off sleeps ignore it, so that run.sh stops them in order (SIGTERM).

# The programs, each on the ports of its number. Each runs from its project folder, its content root
# (appsettings.json, wwwroot/). Called in the background: exec makes the program the job itself.
run_silo() {
  cd Silo
  Chat__Silo__SiloPort=$((silo_port + $1 - 1)) Chat__Silo__ClientPort=$((client_port + $1 - 1)) \
    exec dotnet bin/Release/net10.0/Chat.Orleans.Silo.dll --urls "http://localhost:$((silo_http_port + $1 - 1))" 9>&-
}

run_gateway() {
  cd Gateway
  exec dotnet bin/Release/net10.0/Chat.Orleans.Gateway.dll --urls "http://localhost:$((http_port + $1 - 1))" 9>&-
}

address_of() {
  local kind=$1 n=$2
  if [ "$kind" = silo ]; then
    echo "http://localhost:$((silo_http_port + n - 1)), silo port $((silo_port + n - 1)), client port $((client_port + n - 1))"
  else
    echo "http://localhost:$((http_port + n - 1))"
  fi
}

# "status 137 (SIGKILL)": above 128, the status of a program killed by a signal.
describe_status() {
  local signal
  if (($1 > 128)) && signal=$(kill -l $(($1 - 128)) 2>/dev/null); then
    echo "status $1 (SIG$signal)"
  else
    echo "status $1"
  fi
}

# SIGTERM, then SIGKILL if the program is still running after stop_seconds.
stop_program() {
  local program=$1 name=$2 tenths=0
  kill -TERM "$program" 2>/dev/null || true
  while kill -0 "$program" 2>/dev/null && ((tenths < stop_seconds * 10)); do
    sleep 0.1
    tenths=$((tenths + 1))
  done
  if kill -0 "$program" 2>/dev/null; then
    echo "$name (pid $program) did not stop within $stop_seconds s; killing it" >&2
    kill -KILL "$program" 2>/dev/null || true
  fi
  wait "$program" 2>/dev/null || true
}

# Runs in the background: keeps one silo or gateway running until told to stop (SIGTERM).
supervise() {
  local kind=$1 n=$2
  local program status ran delay quick_exits=0 started what stopping=
  # A supervisor must not end on a failed command, leaving its program running unwatched.
  set +e
  trap '' INT
  # $! is what the supervisor waits for now, the program or the back-off sleep: ending it ends the
  # wait. A SIGTERM just before the next start is seen by the checks of $stopping after each start.
  trap 'stopping=1; kill -TERM "$!" 2>/dev/null || true' TERM
  while true; do
    "run_$kind" "$n" &
    program=$!
    started=$SECONDS
    echo "$kind $n started (pid $program): $(address_of "$kind" "$n")"
    status=0
    if [ -z "$stopping" ]; then wait "$program" || status=$?; fi
    # A SIGTERM interrupts the wait while the program is still shutting down.
    if [ -n "$stopping" ]; then stop_program "$program" "$kind $n"; exit 0; fi

    ran=$((SECONDS - started))
    what="$kind $n (pid $program) exited with $(describe_status "$status") after $ran s"
    # A program that ran for a while was healthy: this exit starts the count of exits in a row anew.
    if ((ran >= steady_seconds)); then quick_exits=0; fi
    quick_exits=$((quick_exits + 1))
    if ((quick_exits > max_restarts)); then
      echo "$what. It exited $quick_exits times in a row within $steady_seconds s of starting:" \
        "giving up on $kind $n. The others keep running; Ctrl-C stops them." >&2
      exit 1
    fi
    delay=$((1 << (quick_exits - 1)))
    if ((delay > max_backoff_seconds)); then delay=$max_backoff_seconds; fi
    echo "$what; restarting in $delay s" >&2
    sleep "$delay" &
    if [ -z "$stopping" ]; then wait "$!" || true; fi
    if [ -n "$stopping" ]; then kill -TERM "$!" 2>/dev/null || true; wait "$!" || true; exit 0; fi
  done
}

# ---------------------------------------------------------------------------------------------------
# One run.sh per data folder and per ports
#
# A second run.sh in the same checkout could not bind the gateway's port, but its silo joined the
# first one's cluster on the same silo address (the first silo was then declared dead, taking its rooms
# down), and its Ctrl-C stopped the first one's PostgreSQL. It refuses instead, naming what is in the way.
# The lock is held by run.sh itself (the programs it starts do not inherit it), so it goes with run.sh.

claim_instance() {
  local port holder owner ports=()
  mkdir -p "$data"
  exec 9>>"$data/run.lock"
  if ! flock -n 9; then
    holder=$(cat "$data/run.pid" 2>/dev/null || true)
    echo "run.sh: another run.sh${holder:+ (pid $holder)} is running with the data folder $data." \
      "Stop it first (Ctrl-C there), or start this one with --data DIR and other ports." >&2
    exit 1
  fi
  echo $$ >"$data/run.pid"
  for n in $(seq 1 "$silos"); do
    ports+=($((silo_http_port + n - 1)) $((silo_port + n - 1)) $((client_port + n - 1)))
  done
  for n in $(seq 1 "$gateways"); do ports+=($((http_port + n - 1))); done
  for port in "${ports[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      owner=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -n 1 | sed 's/users:(("\(.*\)",pid=\(.*\)/\1, pid \2/')
      echo "run.sh: port $port is in use${owner:+ (by $owner)}, perhaps by another run.sh of this checkout." \
        "Stop it, or move this one (--http-port, --silo-http-port, --silo-port, --client-port)." >&2
      exit 1
    fi
  done
}

# ---------------------------------------------------------------------------------------------------
# The private PostgreSQL

own_postgres=
postgres_watch=
postgres_script=scripts/postgres${ha:+-ha}.sh

# True when a PostgreSQL of the data folder is running (with --ha: any of its three nodes).
postgres_running() {
  local postmaster=
  if [ -n "$ha" ]; then
    [ -d "$data/monitor" ] && [ "$("$postgres_script" stopped "$data" 9>&- | wc -l)" -lt 3 ]
  else
    read -r postmaster 2>/dev/null <"$data/data/postmaster.pid" || true
    [ -n "$postmaster" ] && kill -0 "$postmaster" 2>/dev/null
  fi
}

start_postgres() {
  if postgres_running; then
    # Started by someone else (run.sh holds the folder's lock): used, and left running at the end.
    echo "PostgreSQL is already running in $data: using it, and leaving it running."
  else
    # Set first: a Ctrl-C during the start must stop it too (stopping one that never started is harmless).
    own_postgres=1
  fi
  if [ -n "$ha" ] && [ ! -d "$data/monitor" ]; then
    echo "Creating a highly available PostgreSQL in $data (a monitor, a primary, a standby)..."
  fi
  ConnectionStrings__Chat=$("$postgres_script" start "$data" 9>&-)
  export ConnectionStrings__Chat
  echo "PostgreSQL: $ConnectionStrings__Chat (data in $data)"
  if [ -n "$ha" ]; then echo "PostgreSQL nodes: $("$postgres_script" state "$data" 9>&-)"; fi
}

# Runs in the background: starts PostgreSQL again if it dies. postgres.sh start keeps the port, so
# the silos and gateways reconnect to the same address. With --ha, a node whose pg_autoctl stopped is
# started again: a primary that was replaced comes back as the standby, so the next failover has one.
watch_postgres() {
  local postmaster stopped
  set +e
  trap '' INT
  trap 'kill -TERM "$!" 2>/dev/null; wait "$!"; exit 0' TERM
  while true; do
    sleep "$postgres_check_seconds" &
    wait "$!"
    if [ -n "$ha" ]; then
      stopped=$("$postgres_script" stopped "$data" 9>&- | tr '\n' ' ')
      if [ -n "$stopped" ]; then
        echo "PostgreSQL node(s) ${stopped% } not running; starting them again" >&2
        "$postgres_script" start "$data" 9>&- >/dev/null || echo "PostgreSQL did not come back; trying again in $postgres_check_seconds s" >&2
        echo "PostgreSQL nodes: $("$postgres_script" state "$data" 9>&-)" >&2
      fi
      continue
    fi
    postmaster=
    read -r postmaster 2>/dev/null <"$data/data/postmaster.pid"
    if [ -z "$postmaster" ] || ! kill -0 "$postmaster" 2>/dev/null; then
      echo "PostgreSQL${postmaster:+ (pid $postmaster)} is not running; starting it again" >&2
      "$postgres_script" start "$data" 9>&- >/dev/null || echo "PostgreSQL did not start; trying again in $postgres_check_seconds s" >&2
    fi
  done
}

# ---------------------------------------------------------------------------------------------------
# Stopping

silo_supervisors=()
gateway_supervisors=()

# Tells supervisors to stop their programs and waits until they have.
stop_supervisors() {
  local supervisor
  for supervisor in "$@"; do kill -TERM "$supervisor" 2>/dev/null || true; done
  for supervisor in "$@"; do wait "$supervisor" 2>/dev/null || true; done
}

stop() {
  local status=${1:-0}
  # Stopping is bounded (stop_seconds per step); a second Ctrl-C must not leave silos without run.sh.
  trap '' INT TERM
  trap - EXIT
  echo "Stopping..."
  if [ -n "$postgres_watch" ]; then stop_supervisors "$postgres_watch"; fi
  # Gateways first, so they can say goodbye to the rooms; then the silos, which flush their writes.
  stop_supervisors "${gateway_supervisors[@]}"
  stop_supervisors "${silo_supervisors[@]}"
  if [ -n "$own_postgres" ]; then
    "$postgres_script" stop "$data" || echo "PostgreSQL did not stop cleanly" >&2
  fi
  exit "$status"
}

# ---------------------------------------------------------------------------------------------------
# Main

claim_instance

trap 'stop $?' EXIT
trap stop INT TERM

if [ -z "${ConnectionStrings__Chat:-}" ]; then start_postgres; fi

reason=$(build_reason)
if [ -n "$reason" ]; then
  echo "Building ($reason)..."
  build 9>&-
else
  echo "Not building: the silo and gateway are newer than every source (--build forces a build)."
fi

# A Ctrl-C between starting a supervisor and noting its pid would leave that one running: it waits
# until all are noted.
interrupted=
trap 'interrupted=1' INT TERM
for n in $(seq 1 "$silos"); do
  supervise silo "$n" &
  silo_supervisors+=($!)
done
for n in $(seq 1 "$gateways"); do
  supervise gateway "$n" &
  gateway_supervisors+=($!)
done
if [ -n "$own_postgres" ]; then
  watch_postgres &
  postgres_watch=$!
fi
trap stop INT TERM
if [ -n "$interrupted" ]; then stop; fi
echo "$silos silo(s), $gateways gateway(s); chat at http://localhost:$http_port. Ctrl-C to stop."

# Returns when every supervisor has given up; Ctrl-C or SIGTERM interrupts it and stops everything.
wait "${silo_supervisors[@]}" "${gateway_supervisors[@]}" || true
echo "Every silo and gateway was given up." >&2
stop 1
