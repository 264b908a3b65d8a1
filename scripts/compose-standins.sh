#!/usr/bin/env bash
# Makes sure the base images that docker-compose.yml and the Dockerfiles name are present:
#   mcr.microsoft.com/dotnet/sdk:10.0, mcr.microsoft.com/dotnet/aspnet:10.0, postgres:15
# For each one: try `docker pull` (with a short timeout); if that fails, use the image already
# present; if there is none, build a local stand-in under the same name and tag:
#   - a Debian 12 root file system made with debootstrap (cached, see STANDIN_CACHE),
#   - sdk:    + this machine's own .NET install (the folder `dotnet` runs from), and this machine's
#             extra CA certificates, so that a restore inside a build reaches the same NuGet
#             source as the host does (here: a TLS-intercepting mirror),
#   - aspnet: + the .NET and ASP.NET Core runtimes of that install, a user `app` (uid 1654) as in
#             the official image,
#   - postgres: + Debian's postgresql-15 (and pg_auto_failover, which docker-compose.ha.yml's
#             nodes run) and an entry point that honours POSTGRES_USER,
#             POSTGRES_PASSWORD, POSTGRES_DB and PGDATA (/var/lib/postgresql/data, a volume) like
#             the official image's, listens on all addresses with password (scram) auth for the
#             network, and has pg_isready on PATH.
# Stand-ins carry the label chat.compose-standin=<what it is>.
#
#   scripts/compose-standins.sh [--no-pull] [--force] [--created FILE]
#     --no-pull       do not try to pull
#     --force         rebuild the stand-ins even when images of those names are present
#     --created FILE  append the name of every image this run pulled or built anew to FILE (for clean-up)
# Output: one line per image, "<image>: official|stand-in ... (how)".
# Needs root (debootstrap, chroot) and a running Docker daemon.
set -euo pipefail

SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ASPNET_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0
POSTGRES_IMAGE=postgres:15
CACHE=${STANDIN_CACHE:-/var/cache/chat-compose-standins}
MIRROR=${STANDIN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PULL_TIMEOUT=${STANDIN_PULL_TIMEOUT:-60}
BASE_PACKAGES=ca-certificates,libicu72,libssl3,zlib1g,tzdata,netbase,procps

pull=1
force=
created_file=/dev/null
while [ $# -gt 0 ]; do
  case "$1" in
    --no-pull) pull=; shift ;;
    --force) force=1; shift ;;
    --created) created_file=$2; shift 2 ;;
    *) echo "usage: compose-standins.sh [--no-pull] [--force] [--created FILE]" >&2; exit 2 ;;
  esac
done

say() { echo "standins: $*"; }

image_present() { docker image inspect "$1" >/dev/null 2>&1; }

standin_label() { docker image inspect -f '{{index .Config.Labels "chat.compose-standin"}}' "$1" 2>/dev/null || true; }

try_pull() {
  [ -n "$pull" ] || return 1
  say "trying docker pull $1 (at most ${PULL_TIMEOUT}s)"
  local error status=0
  error=$(timeout "$PULL_TIMEOUT" docker pull -q "$1" 2>&1 >/dev/null) || status=$?
  [ "$status" -eq 0 ] && return 0
  [ "$status" -ne 124 ] || error="no answer within ${PULL_TIMEOUT}s"
  say "  pull failed: $(tail -n 1 <<<"$error")"
  return 1
}

# The folder the host's `dotnet` runs from, e.g. /usr/share/dotnet.
dotnet_root() {
  local dotnet
  dotnet=$(command -v dotnet) || { echo "no dotnet on PATH to copy into the stand-ins" >&2; exit 1; }
  dirname "$(readlink -f "$dotnet")"
}

# What a rootfs was made from; a changed stamp rebuilds it.
stamp_of() {
  case "$1" in
    base) echo "$SUITE minbase $BASE_PACKAGES $MIRROR" ;;
    postgres) echo "$(stamp_of base) postgresql-15 pg-auto-failover entrypoint-v1" ;;
    sdk) echo "$(stamp_of base) $(ls "$(dotnet_root)/sdk") $(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null | md5sum)" ;;
    aspnet) echo "$(stamp_of base) $(ls "$(dotnet_root)/shared/Microsoft.AspNetCore.App") app-v1" ;;
  esac
}

rootfs_current() { [ -f "$CACHE/$1.stamp" ] && [ "$(cat "$CACHE/$1.stamp")" = "$(stamp_of "$1")" ]; }

# Records that a rootfs was made now (rather than taken from the cache), for the report.
rebuilt=()
mark_current() { stamp_of "$1" >"$CACHE/$1.stamp"; rebuilt+=("$1"); }

ensure_debootstrap() {
  command -v debootstrap >/dev/null && return
  say "installing debootstrap from Debian"
  mkdir -p "$CACHE"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq debootstrap; } \
    >"$CACHE/apt.log" 2>&1 || { tail -n 20 "$CACHE/apt.log" >&2; exit 1; }
}

# Runs a command inside a rootfs with the host's name resolution (the Debian mirror may be
# reachable only through names in the host's /etc/hosts).
in_rootfs() {
  local dir=$1; shift
  cp /etc/hosts "$dir/etc/hosts"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  local status=0
  chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@" || status=$?
  printf '127.0.0.1\tlocalhost\n' >"$dir/etc/hosts"
  : >"$dir/etc/resolv.conf"
  return "$status"
}

build_base_rootfs() {
  rootfs_current base && return
  ensure_debootstrap
  say "debootstrap $SUITE (minbase + $BASE_PACKAGES) into $CACHE/base"
  rm -rf "$CACHE/base" "$CACHE/base.stamp"
  mkdir -p "$CACHE"
  mkdir -p "$CACHE/debs"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" --cache-dir="$CACHE/debs" "$SUITE" "$CACHE/base" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$CACHE/debootstrap.log" >&2; exit 1; }
  rm -rf "$CACHE/base/var/cache/apt/archives/"*.deb
  mark_current base
}

fresh_copy_of_base() {
  rm -rf "$CACHE/$1" "$CACHE/$1.stamp"
  cp -a "$CACHE/base" "$CACHE/$1"
}

build_postgres_rootfs() {
  rootfs_current postgres && return
  build_base_rootfs
  say "installing Debian's postgresql-15 into $CACHE/postgres"
  fresh_copy_of_base postgres
  local dir=$CACHE/postgres
  # No service starts inside the chroot, and no "main" cluster: the entry point makes one in PGDATA.
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod +x "$dir/usr/sbin/policy-rc.d"
  mkdir -p "$dir/etc/postgresql-common/createcluster.d"
  echo "create_main_cluster = false" >"$dir/etc/postgresql-common/createcluster.d/no-main-cluster.conf"
  in_rootfs "$dir" apt-get update -qq >/dev/null
  in_rootfs "$dir" apt-get install -y -qq --no-install-recommends postgresql-15 \
    postgresql-15-auto-failover pg-auto-failover-cli >"$CACHE/postgres-install.log" 2>&1 ||
    { tail -n 20 "$CACHE/postgres-install.log" >&2; exit 1; }
  in_rootfs "$dir" apt-get clean
  rm -rf "$dir/var/lib/apt/lists/"* "$dir/usr/sbin/policy-rc.d"
  write_postgres_entrypoint "$dir/usr/local/bin/docker-entrypoint.sh"
  mark_current postgres
}

# The official image's behaviour that docker-compose.yml relies on, in a few lines of our own:
# initialise PGDATA once (superuser POSTGRES_USER with POSTGRES_PASSWORD, database POSTGRES_DB),
# then run postgres as the postgres user, listening everywhere, password auth from the network.
write_postgres_entrypoint() {
  cat >"$1" <<'ENTRYPOINT'
#!/bin/bash
set -euo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"

if [ "${1:-}" != postgres ]; then exec "$@"; fi

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  database=${POSTGRES_DB:-$user}
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "POSTGRES_PASSWORD is not set: the database would be open to the network; refusing." >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$database" != postgres ]; then
    # Socket only while the database is created, so no client sees a half-made server.
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
    psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -q -c "CREATE DATABASE \"$database\""
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo "initialised $PGDATA (user $user, database $database)"
fi

shift
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
ENTRYPOINT
  chmod 755 "$1"
}

# The user the official .NET images have (uid and gid 1654, home /home/app).
add_app_user() {
  echo "app:x:1654:1654::/home/app:/bin/sh" >>"$1/etc/passwd"
  echo "app:!:20000::::::" >>"$1/etc/shadow"
  echo "app:x:1654:" >>"$1/etc/group"
  mkdir -p "$1/home/app"
  chown 1654:1654 "$1/home/app"
}

build_sdk_rootfs() {
  rootfs_current sdk && return
  build_base_rootfs
  local from; from=$(dotnet_root)
  say "copying the .NET SDK from $from into $CACHE/sdk"
  fresh_copy_of_base sdk
  local dir=$CACHE/sdk
  mkdir -p "$dir/usr/share"
  cp -a "$from" "$dir/usr/share/dotnet"
  ln -sf /usr/share/dotnet/dotnet "$dir/usr/bin/dotnet"
  add_app_user "$dir"
  # The host's extra CAs (e.g. a TLS-intercepting egress in front of the NuGet mirror).
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/"
    in_rootfs "$dir" update-ca-certificates >"$CACHE/sdk-ca.log" 2>&1 ||
      { cat "$CACHE/sdk-ca.log" >&2; exit 1; }
  fi
  mark_current sdk
}

build_aspnet_rootfs() {
  rootfs_current aspnet && return
  build_base_rootfs
  local from; from=$(dotnet_root)
  say "copying the .NET and ASP.NET Core runtimes from $from into $CACHE/aspnet"
  fresh_copy_of_base aspnet
  local dir=$CACHE/aspnet
  mkdir -p "$dir/usr/share/dotnet/shared"
  cp -a "$from/dotnet" "$from/host" "$from/LICENSE.txt" "$from/ThirdPartyNotices.txt" "$dir/usr/share/dotnet/"
  cp -a "$from/shared/Microsoft.NETCore.App" "$from/shared/Microsoft.AspNetCore.App" "$dir/usr/share/dotnet/shared/"
  ln -sf /usr/share/dotnet/dotnet "$dir/usr/bin/dotnet"
  add_app_user "$dir"
  mark_current aspnet
}

# Imports a cached rootfs and puts the image's configuration on top (a Dockerfile from stdin, no context).
import_standin() {
  local image=$1 kind=$2 description=$3 config=$4
  local rootfs_image=chat-compose-standin-rootfs:$kind
  say "importing $CACHE/$kind as $image"
  tar -C "$CACHE/$kind" --numeric-owner -c . | docker import - "$rootfs_image" >/dev/null
  printf 'FROM %s\nLABEL chat.compose-standin="%s"\n%s\n' "$rootfs_image" "$description" "$config" |
    DOCKER_BUILDKIT=0 docker build -q -t "$image" - >/dev/null 2>"$CACHE/build-$kind.log" ||
    { cat "$CACHE/build-$kind.log" >&2; exit 1; }
  docker rmi "$rootfs_image" >/dev/null
  echo "$image" >>"$created_file"
}

DOTNET_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true \
    DOTNET_NOLOGO=true DOTNET_CLI_TELEMETRY_OPTOUT=true NUGET_XMLDOC_MODE=skip'

make_standin() {
  local image=$1 host_version
  case "$image" in
    "$SDK_IMAGE")
      rebuilt=()
      build_sdk_rootfs
      host_version=$(ls "$CACHE/sdk/usr/share/dotnet/sdk")
      import_standin "$image" sdk "Debian $SUITE + this machine's .NET SDK $host_version" \
        "$DOTNET_ENV DOTNET_USE_POLLING_FILE_WATCHER=true
CMD [\"bash\"]" ;;
    "$ASPNET_IMAGE")
      rebuilt=()
      build_aspnet_rootfs
      host_version=$(ls "$CACHE/aspnet/usr/share/dotnet/shared/Microsoft.AspNetCore.App")
      import_standin "$image" aspnet "Debian $SUITE + this machine's ASP.NET Core runtime $host_version" \
        "$DOTNET_ENV
CMD [\"bash\"]" ;;
    "$POSTGRES_IMAGE")
      rebuilt=()
      build_postgres_rootfs
      import_standin "$image" postgres "Debian $SUITE + Debian's postgresql-15 and pg_auto_failover" \
        'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]' ;;
  esac
}

standin_how() {
  if [ ${#rebuilt[@]} -gt 0 ]; then
    echo "rootfs made now (${rebuilt[*]}) and imported; cached in $CACHE"
  else
    echo "imported from the rootfs cached in $CACHE"
  fi
}

ensure_image() {
  local image=$1 how label was_present=
  image_present "$image" && was_present=1
  if [ -n "$force" ]; then
    make_standin "$image"; how=$(standin_how)
  elif try_pull "$image"; then
    how="pulled"
    [ -n "$was_present" ] || echo "$image" >>"$created_file"
  elif image_present "$image"; then
    how="already present"
  else
    make_standin "$image"; how=$(standin_how)
  fi
  label=$(standin_label "$image")
  if [ -n "$label" ]; then
    echo "$image: stand-in ($label), $how"
  else
    echo "$image: official, $how"
  fi
}

for image in "$SDK_IMAGE" "$ASPNET_IMAGE" "$POSTGRES_IMAGE"; do
  ensure_image "$image"
done
