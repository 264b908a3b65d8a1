#!/usr/bin/env bash
# A highly available PostgreSQL in a folder of ours, from Debian's pg_auto_failover packages: a monitor,
# a primary and a synchronous standby, each a PostgreSQL supervised by its own pg_autoctl, run by an
# unprivileged user on free loopback ports. The chat connects to both data nodes and follows the primary.
#
#   scripts/postgres-ha.sh start DIR       creates what is missing, starts every node that is not running
#                                          (a node that was down rejoins as the standby), waits until there
#                                          is a primary and a standby, prints the connection string
#   scripts/postgres-ha.sh stop DIR        stops the monitor, then both data nodes
#   scripts/postgres-ha.sh crash DIR NODE  stops a data node the hard way (pg_autoctl stop --immediate:
#                                          its postgres gets no shutdown checkpoint, as in a crash)
#   scripts/postgres-ha.sh primary DIR     prints the name of the primary (node1 or node2)
#   scripts/postgres-ha.sh wait DIR        waits until there is a primary and a standby again
#   scripts/postgres-ha.sh switchover DIR  a planned switchover: the standby becomes the primary
#   scripts/postgres-ha.sh state DIR       each node's reported and assigned state, as the monitor has them
#   scripts/postgres-ha.sh stopped DIR     prints the nodes whose pg_autoctl is not running (none: nothing)
#
# Used by run.sh --ha, the tests and the benchmark, so all get the same cluster.
set -euo pipefail

command=${1:?usage: postgres-ha.sh start|stop|crash|primary|wait|switchover|state|stopped DIR [NODE]}
dir=$(realpath -m "${2:?usage: postgres-ha.sh $command DIR}")
pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
command -v pg_autoctl >/dev/null \
  || { echo "pg_autoctl not found (apt-get install postgresql-15-auto-failover pg-auto-failover-cli)" >&2; exit 1; }
readonly nodes=(node1 node2)

# Failover timing. The defaults fail over in about a minute; these replace a dead primary in about 6 s.
# The monitor takes a node for failed when its health check cannot connect to it (checked every second,
# with one retry after 0.5 s) AND the node's keeper has not reported for 2 s: a keeper reports every
# second, so a busy primary that is alive is not failed. It then waits primary_demote_timeout (4 s) for
# the old primary to step down before it promotes the standby. A primary cut off from both the monitor
# and the standby steps down by itself after network_partition_timeout (2 s, plus at most a 1 s keeper
# loop): well before the at least 2 + 4 s after which the standby can be promoted, so two primaries
# never take writes at once.
readonly monitor_settings="
  pgautofailover.health_check_period = 1000
  pgautofailover.health_check_timeout = 1000
  pgautofailover.health_check_max_retries = 1
  pgautofailover.health_check_retry_delay = 500
  pgautofailover.node_considered_unhealthy_timeout = 2000
  pgautofailover.primary_demote_timeout = 4000"
readonly network_partition_timeout=2

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_autoctl for one node: its configuration, state and pid files stay in DIR; no Unix socket (Debian's
# socket folder is root's), every connection is TCP on loopback.
autoctl() {
  local node=$1
  shift
  (cd "$dir" && as_owner env -i PATH="$pgbin:/usr/bin:/bin" HOME="$dir" PGHOST=127.0.0.1 PG_REGRESS_SOCK_DIR= \
    XDG_CONFIG_HOME="$dir/config/$node" XDG_DATA_HOME="$dir/state/$node" XDG_RUNTIME_DIR="$dir/run/$node" \
    pg_autoctl "$@")
}

monitor_sql() {
  as_owner "$pgbin/psql" -h 127.0.0.1 -p "$(cat "$dir/monitor.port")" -U postgres -d pg_auto_failover -tAqc "$1"
}

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port found" >&2; exit 1
}

port_of() {
  [ -f "$dir/$1.port" ] || free_port >"$dir/$1.port"
  cat "$dir/$1.port"
}

running() {
  local pid=
  read -r pid 2>/dev/null <"$dir/run/$1/pg_autoctl/${dir#/}/$1/pg_autoctl.pid" || true
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# pg_autoctl run supervises the node's postgres (it restarts one that dies) and follows the monitor.
run_node() {
  local node=$1
  if running "$node"; then return; fi
  as_owner mkdir -p "$dir/run/$node"
  autoctl "$node" run --pgdata "$dir/$node" </dev/null >>"$dir/$node.log" 2>&1 &
  disown
}

wait_until() {
  local what=$1 seconds=$2 check=$3 tenths=0
  until eval "$check"; do
    if ((tenths >= seconds * 10)); then
      echo "postgres-ha.sh: $what did not happen within $seconds s; the monitor has:" >&2
      monitor_sql "SELECT nodename || ' ' || reportedstate || ' (assigned ' || goalstate || ')' FROM pgautofailover.node ORDER BY nodeid" >&2 || true
      exit 1
    fi
    sleep 0.1
    tenths=$((tenths + 1))
  done
}

states() {
  monitor_sql "SELECT string_agg(nodename || ':' || reportedstate || '/' || goalstate, ' ' ORDER BY nodeid) FROM pgautofailover.node" 2>/dev/null
}

# A primary and a standby, both in the state assigned to them, both just reported by their keepers and
# reached by the monitor's health check (rows a restarted monitor still has from before do not count).
healthy() {
  local s
  s=$(monitor_sql "SELECT string_agg(nodename || ':' || reportedstate || '/' || goalstate, ' ' ORDER BY nodeid)
    FROM pgautofailover.node WHERE health = 1 AND reporttime > now() - interval '2 seconds'
      AND healthchecktime > now() - interval '3 seconds'" 2>/dev/null) || return 1
  [[ " $s " == *":primary/primary "* && " $s " == *":secondary/secondary "* ]]
}

create_monitor() {
  autoctl monitor create monitor --pgdata "$dir/monitor" --pgport "$(port_of monitor)" --hostname 127.0.0.1 \
    --auth trust --no-ssl >"$dir/monitor.log" 2>&1 || { tail -n 20 "$dir/monitor.log" >&2; exit 1; }
  # The monitor has no --listen; its listen_addresses lives in pg_autoctl's configuration.
  autoctl monitor config set --pgdata "$dir/monitor" postgresql.listen_addresses 127.0.0.1 >/dev/null
}

create_node() {
  local node=$1
  autoctl "$node" create postgres --pgdata "$dir/$node" --pgport "$(port_of "$node")" --listen 127.0.0.1 \
    --hostname 127.0.0.1 --name "$node" --auth trust --no-ssl --dbname chat \
    --monitor "postgres://autoctl_node@127.0.0.1:$(cat "$dir/monitor.port")/pg_auto_failover?sslmode=disable" \
    >>"$dir/$node.log" 2>&1 || { tail -n 20 "$dir/$node.log" >&2; exit 1; }
  autoctl "$node" config set --pgdata "$dir/$node" timeout.network_partition_timeout "$network_partition_timeout" >/dev/null
  # As scripts/postgres.sh: each process pools up to 100 connections, and join storms need more than 100.
  # The standby is a copy of the first node, so it gets the same setting.
  if [ "$node" = node1 ]; then echo "max_connections = 300" | as_owner tee -a "$dir/$node/postgresql.conf" >/dev/null; fi
}

connection_string() {
  echo "Host=127.0.0.1:$(cat "$dir/node1.port"),127.0.0.1:$(cat "$dir/node2.port");Username=postgres;Database=chat;Target Session Attributes=read-write"
}

case "$command" in
  start)
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    if [ -f "$dir/monitor/PG_VERSION" ]; then
      # The data nodes before the monitor: a monitor that runs while a node is still starting would
      # take that node for failed (if it is the primary, it would fail over).
      for node in "${nodes[@]}"; do run_node "$node"; done
      run_node monitor
      wait_until "the monitor's start" 60 "monitor_sql 'SELECT 1' >/dev/null 2>&1"
    else
      create_monitor
      run_node monitor
      wait_until "the monitor's start" 60 "monitor_sql 'SELECT 1' >/dev/null 2>&1"
    fi
    while read -r setting; do
      [ -n "$setting" ] && monitor_sql "ALTER SYSTEM SET ${setting% = *} = ${setting#* = }"
    done <<<"$monitor_settings"
    monitor_sql "SELECT pg_reload_conf()" >/dev/null
    for node in "${nodes[@]}"; do
      if [ ! -f "$dir/$node/PG_VERSION" ]; then
        create_node "$node"
        run_node "$node"
        # The standby is copied from a running primary.
        if [ "$node" = node1 ]; then
          wait_until "node1's start as the primary" 60 "[[ \"\$(states)\" == *node1:single/single* ]]"
        fi
      else
        run_node "$node"
      fi
    done
    wait_until "a primary and a standby" 120 healthy
    connection_string
    ;;
  stop)
    # The monitor first: with it gone nobody fails over while the data nodes stop.
    for node in monitor "${nodes[@]}"; do
      if running "$node"; then autoctl "$node" stop --pgdata "$dir/$node" || true; fi
    done
    for node in monitor "${nodes[@]}"; do
      wait_until "the stop of $node" 60 "! running $node"
    done
    ;;
  crash)
    node=${3:?usage: postgres-ha.sh crash DIR NODE}
    autoctl "$node" stop --pgdata "$dir/$node" --immediate
    wait_until "the crash of $node" 30 "! running $node"
    ;;
  primary)
    monitor_sql "SELECT nodename FROM pgautofailover.node WHERE reportedstate IN ('primary', 'wait_primary') AND goalstate = reportedstate ORDER BY nodeid LIMIT 1"
    ;;
  wait)
    wait_until "a primary and a standby" 120 healthy
    ;;
  switchover)
    autoctl monitor perform switchover --pgdata "$dir/monitor" >>"$dir/switchover.log" 2>&1 \
      || { tail -n 20 "$dir/switchover.log" >&2; exit 1; }
    ;;
  state)
    states
    ;;
  stopped)
    for node in monitor "${nodes[@]}"; do
      if ! running "$node"; then echo "$node"; fi
    done
    ;;
  *)
    echo "usage: postgres-ha.sh start|stop|crash|primary|wait|switchover|state|stopped DIR [NODE]" >&2; exit 2
    ;;
esac
