#!/usr/bin/env bash
# One node of docker-compose.ha.yml: the monitor (PG_HA_ROLE=monitor) or a data node (PG_HA_ROLE=node),
# named PG_HA_NAME (its compose service name, by which the others reach it). It is created on its first
# start, in the volume at /var/lib/postgresql/ha; every later start runs what is there, so a data node
# that was killed comes back and rejoins as the standby. The settings are scripts/postgres-ha.sh's
# (README, "A highly available PostgreSQL"), with one difference: the nodes trust connections from the
# compose network (pg_autoctl --auth trust), whose PostgreSQL ports are not published.
set -euo pipefail

home=/var/lib/postgresql/ha
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$home"
  chown postgres:postgres "$home"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

export PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=$home/pgdata XDG_CONFIG_HOME=$home/config XDG_DATA_HOME=$home/state
# pg_autoctl's pid files. A container started again keeps its /tmp, and the pid file of the keeper that
# was killed names PID 1, which is this script's own: pg_autoctl would take it for itself running.
export XDG_RUNTIME_DIR=/tmp/pg-ha-run
rm -rf "$XDG_RUNTIME_DIR"
mkdir -p "$XDG_RUNTIME_DIR"
name=${PG_HA_NAME:?PG_HA_NAME is not set}
monitor=${PG_HA_MONITOR:-monitor}

if [ ! -f "$PGDATA/PG_VERSION" ]; then
  case "${PG_HA_ROLE:?PG_HA_ROLE is not set (monitor or node)}" in
    monitor)
      pg_autoctl create monitor --pgdata "$PGDATA" --pgport 5432 --hostname "$name" --auth trust --no-ssl
      cat >>"$PGDATA/postgresql.conf" <<'SETTINGS'
# A dead primary replaced in about 6 s (README, "A highly available PostgreSQL").
pgautofailover.health_check_period = 1000
pgautofailover.health_check_timeout = 1000
pgautofailover.health_check_max_retries = 1
pgautofailover.health_check_retry_delay = 500
pgautofailover.node_considered_unhealthy_timeout = 2000
pgautofailover.primary_demote_timeout = 4000
SETTINGS
      ;;
    node)
      # --pg-hba-lan: the silos and gateways, on the same network, may connect to the chat database.
      pg_autoctl create postgres --pgdata "$PGDATA" --pgport 5432 --hostname "$name" --name "$name" \
        --auth trust --no-ssl --pg-hba-lan --dbname chat \
        --monitor "postgres://autoctl_node@$monitor:5432/pg_auto_failover?sslmode=disable"
      # Below the monitor's demote timeout: a primary cut off from both steps down before a promotion.
      pg_autoctl config set --pgdata "$PGDATA" timeout.network_partition_timeout 2
      grep -q '^max_connections = 300' "$PGDATA/postgresql.conf" || echo "max_connections = 300" >>"$PGDATA/postgresql.conf"
      ;;
    *)
      echo "PG_HA_ROLE must be monitor or node" >&2
      exit 2
      ;;
  esac
fi

exec pg_autoctl run --pgdata "$PGDATA"
