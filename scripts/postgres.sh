#!/usr/bin/env bash
# A private PostgreSQL instance in a folder of ours, run by an unprivileged user on a free loopback port.
#   scripts/postgres.sh start DIR   creates it if needed, starts it, prints its connection string
#   scripts/postgres.sh stop DIR    stops it
# Used by run.sh and by the tests, so both get the same database setup.
set -euo pipefail

command=${1:?usage: postgres.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: postgres.sh start|stop DIR}")
pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL binaries not found (install postgresql, or set PGBIN)" >&2; exit 1; }
data="$dir/data"
sockets="$dir/sockets"

# initdb and postgres refuse to run as root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

connection_string() {
  local port
  port=$(sed -n 4p "$data/postmaster.pid")
  echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=chat"
}

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port found" >&2; exit 1
}

case "$command" in
  start)
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    mkdir -p "$data" "$sockets"
    [ "$(id -u)" = 0 ] && chown -R postgres "$dir" && chmod 700 "$data"
    if [ ! -f "$data/PG_VERSION" ]; then
      as_owner "$pgbin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    # A postmaster killed with SIGKILL stays a zombie where nothing reaps orphans (a container's
    # PID 1 that is not an init): pg_ctl then takes it for running. A zombie is dead: forget it.
    if [ -f "$data/postmaster.pid" ]; then
      old_pid=$(head -n 1 "$data/postmaster.pid")
      if [ "$(awk '/^State:/ { print $2 }' "/proc/$old_pid/status" 2>/dev/null)" = Z ]; then
        rm -f "$data/postmaster.pid"
      fi
    fi
    if ! as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      # A restarted instance keeps its port, so running clients reconnect to it. 300 connections:
      # each process pools up to 100 per connection string, and a silo activating thousands of rooms
      # at once (the benchmark's join storms) ran past PostgreSQL's default of 100.
      [ -f "$dir/port" ] || free_port >"$dir/port"
      port=$(cat "$dir/port")
      as_owner "$pgbin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $sockets -c max_connections=300" start >/dev/null \
        || { tail -n 20 "$dir/postgres.log" >&2; exit 1; }
    fi
    port=$(sed -n 4p "$data/postmaster.pid")
    if ! as_owner "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'chat'" | grep -q 1; then
      as_owner "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE chat" >/dev/null
    fi
    connection_string
    ;;
  stop)
    if [ -f "$data/postmaster.pid" ]; then
      as_owner "$pgbin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    ;;
  *)
    echo "usage: postgres.sh start|stop DIR" >&2; exit 2
    ;;
esac
