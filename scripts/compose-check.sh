#!/usr/bin/env bash
# A real `docker compose` check of docker-compose.yml and the Dockerfiles, end to end:
#   1. installs what it needs from Debian when missing (docker.io, docker-compose, python3; and
#      debootstrap when stand-ins must be built);
#   2. starts a Docker daemon when none runs (and stops it at the end only if it started it);
#   3. makes sure the base images are there: the official ones when they can be pulled, local
#      stand-ins under the same names otherwise (scripts/compose-standins.sh);
#   4. with the project's own docker-compose.yml (project name "chatcheck", never rewritten):
#      up --build, waits until postgres, silo and gateway are healthy, chats through
#      localhost:8080 with two WebSocket clients (scripts/compose-chat.py), scales to 3 silos,
#      kills the silo that hosts the room and checks that the chat goes on, then down (keeping
#      the volume) and up again and checks that a new client gets the earlier messages as history;
#   5. tears everything down (down -v, the images it built or imported) on any exit.
# Exits 0 only when every check held; prints each step with its duration and a summary.
#
#   scripts/compose-check.sh        the above
#   scripts/compose-check.sh --ha   docker-compose.ha.yml (project "chatcheck-ha"): up --build, waits
#                                   until the monitor, both PostgreSQL nodes, the silo and the gateway
#                                   are healthy, chats, kills the PostgreSQL primary's container
#                                   (docker kill) and checks that the chat goes on with no error,
#                                   starts it again and waits until it is the standby, then tears down
# Settings (environment):
#   CHATCHECK_PROJECT      compose project name (default chatcheck)
#   CHATCHECK_KEEP_IMAGES  1: keep the base images it imported or pulled (default: remove them)
#   CHATCHECK_WAIT_WHILE   a file; while it exists, wait before CPU-heavy steps (builds), e.g. a
#                          lock another job holds on a small machine
#   CHATCHECK_FAILOVER_BOUND  seconds the chat may take to resume after the kill (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

HA=
if [ "${1:-}" = --ha ]; then HA=1; fi
COMPOSE_FILE=docker-compose${HA:+.ha}.yml
DB_SERVICE=postgres
if [ -n "$HA" ]; then DB_SERVICE=pg2; fi
PROJECT=${CHATCHECK_PROJECT:-chatcheck${HA:+-ha}}
FAILOVER_BOUND=${CHATCHECK_FAILOVER_BOUND:-60}
HEALTH_TIMEOUT=300
RUN_ID=$(date +%H%M%S)-$$
ROOM=compose-check-$RUN_ID
WORK=
CHECK_STARTED=$SECONDS

compose_cmd=()
started_dockerd_pid=
summary=()
step_name=
step_started=

# --- the step log --------------------------------------------------------------------------

step() {
  step_name=$1
  step_started=$SECONDS
  echo
  echo "=== $(date +%H:%M:%S) $step_name"
}

step_done() {
  local seconds=$((SECONDS - step_started))
  echo "--- ${seconds}s: $step_name: ${1:-ok}"
  summary+=("$(printf '%5ss  %s: %s' "$seconds" "$step_name" "${1:-ok}")")
  step_name=
}

fail() {
  echo "FAILED: $*" >&2
  exit 1
}

# --- tools and daemon ----------------------------------------------------------------------

apt_install() {
  echo "installing from Debian: $*"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq "$@"; } \
    >"$WORK/apt.log" 2>&1 || { tail -n 20 "$WORK/apt.log"; fail "apt-get install $* failed"; }
}

ensure_tools() {
  local packages=()
  command -v dockerd >/dev/null || packages+=(docker.io)
  command -v python3 >/dev/null || packages+=(python3)
  if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
    packages+=(docker-compose)
  fi
  if [ ${#packages[@]} -gt 0 ]; then apt_install "${packages[@]}"; fi
  if docker compose version >/dev/null 2>&1; then
    compose_cmd=(docker compose)
  else
    compose_cmd=(docker-compose)
  fi
  echo "compose: ${compose_cmd[*]} ($("${compose_cmd[@]}" version --short 2>/dev/null || true)), docker client $(docker version -f '{{.Client.Version}}' 2>/dev/null)"
}

ensure_daemon() {
  if docker info >/dev/null 2>&1; then
    echo "a Docker daemon is running already (server $(docker version -f '{{.Server.Version}}'))"
    return
  fi
  # A pid file left by a daemon that died stops a new one from starting.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  echo "starting dockerd (log: $WORK/dockerd.log)"
  setsid dockerd >"$WORK/dockerd.log" 2>&1 &
  started_dockerd_pid=$!
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
      echo "dockerd $started_dockerd_pid is up (server $(docker version -f '{{.Server.Version}}'))"
      return
    fi
    kill -0 "$started_dockerd_pid" 2>/dev/null || { tail -n 20 "$WORK/dockerd.log"; fail "dockerd exited"; }
    sleep 1
  done
  fail "dockerd did not answer within 60 s"
}

stop_daemon() {
  [ -n "$started_dockerd_pid" ] || return 0
  echo "stopping the dockerd this check started ($started_dockerd_pid)"
  kill -TERM "$started_dockerd_pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    kill -0 "$started_dockerd_pid" 2>/dev/null || { started_dockerd_pid=; return 0; }
    sleep 1
  done
  echo "dockerd did not stop within 30 s; killing it"
  kill -KILL "$started_dockerd_pid" 2>/dev/null || true
  started_dockerd_pid=
}

wait_until_quiet() {
  local lock=${CHATCHECK_WAIT_WHILE:-}
  [ -n "$lock" ] && [ -e "$lock" ] || return 0
  echo "waiting while $lock exists (another job needs the CPU)"
  while [ -e "$lock" ]; do sleep 30; done
}

# --- compose -------------------------------------------------------------------------------

compose() {
  "${compose_cmd[@]}" -p "$PROJECT" -f "$COMPOSE_FILE" "$@"
}

project_containers() {
  docker ps -a -q --filter "label=com.docker.compose.project=$PROJECT" ${1:+--filter "label=com.docker.compose.service=$1"}
}

wait_for_free_port() {
  local waited=0
  while (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; do
    [ $waited -lt 600 ] || fail "localhost:8080 stayed in use by something else for 10 minutes"
    [ $waited -gt 0 ] || echo "localhost:8080 is in use by something else; waiting for it to be free"
    sleep 10
    waited=$((waited + 10))
  done
}

# Compose's output, indented, without its "doing X ... " progress lines (each has a "done" twin).
indent_done_lines() {
  sed -E -e '/ \.\.\.[[:space:]]*$/d' -e 's/\r//g' -e 's/^/  | /'
}

# `compose up ARGS` with its output in LOG, retried when localhost:8080 was taken by something
# else in the meantime.
up_retrying_port() {
  local log=$1 attempt; shift
  for attempt in 1 2 3; do
    wait_for_free_port
    compose up "$@" >"$log" 2>&1 && return 0
    grep -q -e 'port is already allocated' -e 'address already in use' "$log" || return 1
    echo "localhost:8080 was taken meanwhile (attempt $attempt); retrying"
  done
  return 1
}

# Waits until every container of the project is healthy and there are exactly `silos` silos.
wait_healthy() {
  local silos=$1 started=$SECONDS report ids id line unhealthy
  while true; do
    ids=$(project_containers)
    report=
    unhealthy=0
    for id in $ids; do
      line=$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}' "$id")
      report+="${line#/}, "
      case "$line" in
        *" running healthy") ;;
        *" exited "* | *" dead "*) docker logs --tail 30 "$id" 2>&1 | sed 's/^/  | /'; fail "container exited: $line" ;;
        *) unhealthy=$((unhealthy + 1)) ;;
      esac
    done
    if [ "$unhealthy" -eq 0 ] && [ "$(project_containers silo | wc -l)" -eq "$silos" ] &&
      [ -n "$(project_containers "$DB_SERVICE")" ] && [ -n "$(project_containers gateway)" ]; then
      echo "healthy after $((SECONDS - started))s: ${report%, }"
      return
    fi
    if [ $((SECONDS - started)) -gt "$HEALTH_TIMEOUT" ]; then
      for id in $ids; do docker logs --tail 20 "$id" 2>&1 | sed "s/^/  | $(docker inspect -f '{{.Name}}' "$id" | tr -d /): /"; done
      fail "not healthy within ${HEALTH_TIMEOUT}s: ${report%, }"
    fi
    sleep 2
  done
}

# Kills the silo whose /metrics shows active rooms (the chat room lives there), so that the
# failover really moves the room. Called by compose-chat.py through --kill.
kill_room_silo() {
  local id active best= best_active=-1 name
  for id in $(docker ps -q --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=silo"); do
    active=$(docker exec "$id" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8090 && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' 2>/dev/null |
      awk '/^chat_rooms_active[ {]/ { sum += $NF } END { print sum + 0 }') || active=0
    name=$(docker inspect -f '{{.Name}}' "$id" | tr -d /)
    echo "$name: chat_rooms_active=$active"
    if [ "${active%.*}" -gt "$best_active" ]; then best=$id; best_active=${active%.*}; fi
  done
  [ -n "$best" ] || { echo "no running silo to kill" >&2; return 1; }
  echo "docker kill $(docker inspect -f '{{.Name}}' "$best" | tr -d /) (it hosts $best_active active room(s))"
  docker kill "$best" >/dev/null
}

# The HA variant: what the monitor says about the data nodes ("pg1:primary/primary pg2:secondary/secondary").
node_states() {
  docker exec -u postgres "$(project_containers monitor)" psql -h 127.0.0.1 -d pg_auto_failover -tAc \
    "SELECT string_agg(nodename || ':' || reportedstate || '/' || goalstate, ' ' ORDER BY nodename) FROM pgautofailover.node"
}

# Kills the container of the PostgreSQL primary (docker kill: its keeper and server die with it, as
# with a machine gone). Called by compose-chat.py through --kill; prints the service it killed.
kill_primary() {
  local primary
  primary=$(docker exec -u postgres "$(project_containers monitor)" psql -h 127.0.0.1 -d pg_auto_failover -tAc \
    "SELECT nodename FROM pgautofailover.node WHERE reportedstate = 'primary' AND goalstate = 'primary'")
  [ -n "$primary" ] || { echo "no primary: $(node_states)" >&2; return 1; }
  echo "docker kill the PostgreSQL primary $primary ($(node_states))"
  docker kill "$(project_containers "$primary")" >/dev/null
  echo "$primary" >"${KILLED_FILE:-/dev/null}"
}

chat() {
  python3 scripts/compose-chat.py "$@" --room "$ROOM"
}

# --- clean-up ------------------------------------------------------------------------------

images_before=
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  echo
  echo "=== $(date +%H:%M:%S) clean-up"
  if [ ${#compose_cmd[@]} -gt 0 ] && docker info >/dev/null 2>&1; then
    compose down -v --rmi local --remove-orphans --timeout 20 >"$WORK/down.log" 2>&1 ||
      { cat "$WORK/down.log"; status=1; }
    # Intermediate build images (the sdk stage) that the build left untagged.
    local dangling
    dangling=$(comm -13 <(echo "$images_before" | sort) <(docker images -q --filter dangling=true | sort))
    [ -z "$dangling" ] || docker rmi $dangling >/dev/null 2>&1
    if [ "${CHATCHECK_KEEP_IMAGES:-}" != 1 ] && [ -s "$WORK/created-images" ]; then
      docker rmi $(sort -u "$WORK/created-images") >/dev/null 2>&1
      echo "removed the base images this run pulled or built: $(sort -u "$WORK/created-images" | tr '\n' ' ')"
    fi
    local left
    left=$(project_containers; docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT")
    [ -z "$left" ] || { echo "left behind: $left"; status=1; }
  fi
  stop_daemon
  rm -rf "$WORK"
  echo
  echo "=== summary (project $PROJECT, room $ROOM)"
  printf '%s\n' "${summary[@]}"
  [ -z "$step_name" ] || echo "      step that failed: $step_name"
  echo "total: $((SECONDS - CHECK_STARTED))s"
  if [ "$status" -eq 0 ]; then echo "compose check PASSED"; else echo "compose check FAILED"; fi
  exit "$status"
}

# --- the check -----------------------------------------------------------------------------

# Steps 1 to 3, and the clean-up on any exit: the same for both checks.
prepare() {
  [ "$(id -u)" = 0 ] || fail "run as root (it installs packages and may start dockerd)"
  WORK=$(mktemp -d /tmp/compose-check.XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  step "tools"
  ensure_tools
  step_done "${compose_cmd[*]}"

  step "docker daemon"
  ensure_daemon
  step_done "$([ -n "$started_dockerd_pid" ] && echo "started dockerd" || echo "already running")"

  step "base images"
  wait_until_quiet
  bash scripts/compose-standins.sh --created "$WORK/created-images" | tee "$WORK/base-images"
  step_done "$(grep -c ': stand-in (' "$WORK/base-images" || true) stand-in(s), $(grep -c ': official, ' "$WORK/base-images" || true) official"
}

main() {
  prepare

  step "compose config ($COMPOSE_FILE)"
  compose config -q
  step_done

  step "up --build (1 silo)"
  wait_until_quiet
  images_before=$(docker images -q --filter dangling=true)
  echo "building the silo and gateway images and starting (log: $WORK/up.log);" \
    "NuGet certificate revocation mode in the build: ${NUGET_CERT_REVOCATION_MODE:-online}"
  up_retrying_port "$WORK/up.log" --build -d || { tail -n 40 "$WORK/up.log"; fail "compose up --build failed"; }
  grep -E -e '^Step [0-9]+/[0-9]+ : (FROM|RUN)' -e 'Restored|warn|error|Successfully tagged|^Creating' "$WORK/up.log" |
    indent_done_lines || true
  [ -n "$(project_containers gateway)" ] || fail "compose up did not create the gateway"
  wait_healthy 1
  step_done "postgres, silo, gateway healthy"

  step "chat through localhost:8080"
  chat chat --text "first message $RUN_ID"
  step_done "A and B joined, B got A's message with a timestamp, A got its echo"

  step "scale to 3 silos"
  compose up -d --scale silo=3 --no-recreate 2>&1 | indent_done_lines
  wait_healthy 3
  step_done "3 silos healthy"

  step "kill the room's silo, chat goes on"
  chat failover --text "after the kill $RUN_ID" --bound "$FAILOVER_BOUND" \
    --kill "bash scripts/compose-check.sh --kill-room-silo $PROJECT"
  step_done "the message reached both clients"

  step "down (volume kept), up again"
  local down_started=$SECONDS up_started
  compose down --timeout 30 2>&1 | indent_done_lines
  docker volume inspect "${PROJECT}_postgres-data" >/dev/null || fail "the volume is gone after down"
  echo "down took $((SECONDS - down_started))s; the volume ${PROJECT}_postgres-data is kept"
  up_started=$SECONDS
  up_retrying_port "$WORK/up-again.log" -d || { tail -n 40 "$WORK/up-again.log"; fail "compose up failed"; }
  indent_done_lines <"$WORK/up-again.log"
  wait_healthy 1
  step_done "down in $((up_started - down_started))s, healthy again on the kept volume $((SECONDS - up_started))s after up"

  step "history survives"
  chat history --expect "first message $RUN_ID" --expect "after the kill $RUN_ID (before)" \
    --expect "after the kill $RUN_ID"
  step_done "a new client got the earlier messages before ready"
}

main_ha() {
  prepare

  step "compose config ($COMPOSE_FILE)"
  compose config -q
  step_done

  step "up --build (monitor, 2 PostgreSQL nodes, 1 silo, gateway)"
  wait_until_quiet
  images_before=$(docker images -q --filter dangling=true)
  up_retrying_port "$WORK/up.log" --build -d || { tail -n 40 "$WORK/up.log"; fail "compose up --build failed"; }
  [ -n "$(project_containers gateway)" ] || fail "compose up did not create the gateway"
  wait_healthy 1
  local states
  states=$(node_states)
  [[ "$states" == *":primary/primary"* && "$states" == *":secondary/secondary"* ]] || fail "no primary and standby: $states"
  step_done "healthy; $states"

  step "chat through localhost:8080"
  chat chat --text "first message $RUN_ID"
  step_done "A and B joined, B got A's message with a timestamp, A got its echo"

  step "kill the PostgreSQL primary, chat goes on"
  KILLED_FILE=$WORK/killed
  export KILLED_FILE
  chat failover --text "after the kill $RUN_ID" --bound "$FAILOVER_BOUND" --no-errors \
    --kill "bash scripts/compose-check.sh --kill-primary $PROJECT"
  step_done "the message reached both clients, with no error frame; $(node_states)"

  step "the killed node starts again and rejoins as the standby"
  local killed started=$SECONDS
  killed=$(cat "$KILLED_FILE")
  docker start "$(project_containers "$killed")" >/dev/null
  until [[ "$(node_states)" == *"$killed:secondary/secondary"* ]]; do
    [ $((SECONDS - started)) -lt 120 ] || fail "$killed did not rejoin within 120 s: $(node_states)"
    sleep 1
  done
  step_done "$killed rejoined in $((SECONDS - started))s: $(node_states)"

  step "history survives"
  chat history --expect "first message $RUN_ID" --expect "after the kill $RUN_ID"
  step_done "a new client got the earlier messages before ready"
}

if [ "${1:-}" = --kill-room-silo ]; then
  PROJECT=${2:?project}
  kill_room_silo
  exit
fi
if [ "${1:-}" = --kill-primary ]; then
  PROJECT=${2:?project}
  kill_primary
  exit
fi
if [ -n "$HA" ]; then main_ha; else main "$@"; fi
