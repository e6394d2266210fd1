#!/usr/bin/env bash
# scripts/postgres.sh start|stop|status|url|env
#
# A private PostgreSQL server for vmap's journal (cluster-config/journal-postgres.conf): tests,
# CI (.ci/run) and trying a cluster on one machine. Not for production servers.
#
#   start   Installs PostgreSQL from Debian's packages if it is missing (root only: apt-get update,
#           then apt-get install -y postgresql), creates a cluster with initdb in
#           $VMAP_PG_DIR/data (as the postgres user when run as root), starts it on
#           127.0.0.1:$VMAP_PG_PORT only with fsync=on and synchronous_commit=on, waits until it
#           accepts connections, creates the role and database, and applies the
#           akka-persistence-jdbc PostgreSQL schema. Idempotent: on a running server it only
#           re-checks role, database and schema. Fails (non-zero) on any error.
#   stop    Stops it (fast shutdown). Not running is not an error. Keeps the data. With
#           VMAP_PG_STARTED_FILE set, stops it only if that file exists (then removes it).
#   status  Prints whether it runs and accepts connections; exit 0 only if it does.
#   url     Prints its JDBC URL.
#   env     Prints `export VMAP_PG_...=...` lines for journal-postgres.conf and the tests:
#           eval "$(scripts/postgres.sh env)".
#
# Environment (defaults match journal-postgres.conf):
#   VMAP_PG_DIR       /tmp/vmap-pg   data/ (the cluster), run/ (socket), postgres.log, schema.sql
#   VMAP_PG_PORT      5433           TCP port on 127.0.0.1 (5433: stays off a system server's 5432)
#   VMAP_PG_DB        vmap           database, owned by VMAP_PG_USER
#   VMAP_PG_USER      vmap           login role (password authentication over TCP)
#   VMAP_PG_PASSWORD  vmap
#   VMAP_PG_BIN       newest /usr/lib/postgresql/*/bin, else pg_ctl's directory on PATH
#   VMAP_PG_STARTED_FILE  (optional) start writes this file when it started the server (not when
#                     it was already running); stop then stops only a server whose file exists. The
#                     build (tests/pom.xml) uses it so `mvn verify` stops only the server it started.
#
# The schema comes from the akka-persistence-jdbc jar the build uses (version from pom.xml):
# taken from ~/.m2/repository when it is there, otherwise fetched with Maven
# (`mvn dependency:copy` of that one jar, no project build), so this works on a fresh clone before
# the first build, as in CI. The shipped DDL's CREATE INDEX statements lack IF NOT EXISTS; they
# get it here so every start can apply the script again.
#
# Everything this script does is logged to stderr; stdout carries only url/env/status output.
# Run as root (the postgres user runs the server) or as the user owning VMAP_PG_DIR (then
# PostgreSQL must already be installed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_DIR="${VMAP_PG_DIR:-/tmp/vmap-pg}"
PG_PORT="${VMAP_PG_PORT:-5433}"
PG_DB="${VMAP_PG_DB:-vmap}"
PG_USER="${VMAP_PG_USER:-vmap}"
PG_PASSWORD="${VMAP_PG_PASSWORD:-vmap}"
DATA="$PG_DIR/data"
SOCK="$PG_DIR/run"
LOG="$PG_DIR/postgres.log"
READY_TRIES=60 # pg_isready attempts, 0.5 s apart

log() { echo "postgres.sh: $*" >&2; }
die() {
  echo "postgres.sh: ERROR: $*" >&2
  exit 1
}

usage() {
  echo "usage: scripts/postgres.sh start|stop|status|url|env" >&2
  exit 2
}

is_root() { [ "$(id -u)" = 0 ]; }

# Runs a command as the server's owner: postgres when we are root, else ourselves. From a
# directory that user can read (initdb and psql complain about an unreadable cwd).
as_pg() {
  if is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

find_bin() {
  if [ -n "${VMAP_PG_BIN:-}" ]; then
    [ -x "$VMAP_PG_BIN/pg_ctl" ] || die "VMAP_PG_BIN=$VMAP_PG_BIN has no pg_ctl"
    echo "$VMAP_PG_BIN"
    return 0
  fi
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] || continue
    if [ -z "$best" ] || [ "${d//[!0-9]/}" -gt "${best//[!0-9]/}" ]; then best="$d"; fi
  done
  if [ -n "$best" ]; then
    echo "$best"
    return 0
  fi
  local ctl
  ctl="$(command -v pg_ctl 2>/dev/null)" || return 1
  dirname "$(readlink -f "$ctl")"
}

ensure_installed() {
  if BIN="$(find_bin)"; then
    :
  else
    is_root || die "PostgreSQL is not installed, and installing it needs root (apt-get install postgresql)"
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and there is no apt-get to install it"
    log "PostgreSQL not found: installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    log "+ apt-get update"
    apt-get update -q >&2 || die "apt-get update failed"
    log "+ apt-get install -y --no-install-recommends postgresql"
    apt-get install -y -q --no-install-recommends postgresql >&2 || die "apt-get install postgresql failed"
    BIN="$(find_bin)" || die "postgresql installed but no pg_ctl/initdb found under /usr/lib/postgresql/*/bin"
  fi
  for tool in initdb pg_ctl pg_isready psql; do
    if [ ! -x "$BIN/$tool" ]; then
      # Debian keeps psql and pg_isready in the version's bin too; elsewhere use PATH.
      command -v "$tool" >/dev/null 2>&1 || die "$tool not found (in $BIN or on PATH)"
    fi
  done
  if is_root; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user to run the server"
  fi
}

tool() {
  local t="$1"
  shift
  if [ -x "$BIN/$t" ]; then "$BIN/$t" "$@"; else "$t" "$@"; fi
}

# psql through the private socket, stopping at the first error. $1: role, $2: database.
psql_as() {
  local role="$1" db="$2"
  shift 2
  local psql="psql"
  [ -x "$BIN/psql" ] && psql="$BIN/psql"
  as_pg env PGOPTIONS="-c client_min_messages=warning" \
    "$psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PG_PORT" -U "$role" -d "$db" "$@"
}

running() { as_pg "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

ready() { tool pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -d postgres >/dev/null 2>&1; }

wait_ready() {
  local i
  for ((i = 1; i <= READY_TRIES; i++)); do
    if ready; then
      log "accepting connections on 127.0.0.1:$PG_PORT"
      return 0
    fi
    sleep 0.5
  done
  [ -f "$LOG" ] && tail -n 30 "$LOG" >&2
  die "no connection on 127.0.0.1:$PG_PORT after $READY_TRIES tries (is a server from $DATA running on another port? see $LOG)"
}

# The akka-persistence-jdbc jar of the build's version.
journal_jar() {
  local v sbv repo jar
  v="$(sed -n 's:.*<akka-persistence-jdbc.version>\(.*\)</akka-persistence-jdbc.version>.*:\1:p' "$ROOT/pom.xml" | head -n 1)"
  sbv="$(sed -n 's:.*<scala.binary.version>\(.*\)</scala.binary.version>.*:\1:p' "$ROOT/pom.xml" | head -n 1)"
  [ -n "$v" ] && [ -n "$sbv" ] || die "cannot read akka-persistence-jdbc.version / scala.binary.version from $ROOT/pom.xml"
  repo="${HOME:-/root}/.m2/repository"
  jar="$repo/com/lightbend/akka/akka-persistence-jdbc_$sbv/$v/akka-persistence-jdbc_$sbv-$v.jar"
  if [ -f "$jar" ]; then
    echo "$jar"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "$jar is missing and mvn is not installed to fetch it"
  log "+ mvn dependency:copy com.lightbend.akka:akka-persistence-jdbc_$sbv:$v (for its schema)"
  (cd "$ROOT" && mvn -q -B -N -Dstyle.color=never dependency:copy \
    "-Dartifact=com.lightbend.akka:akka-persistence-jdbc_$sbv:$v" \
    "-DoutputDirectory=$PG_DIR" -Dmdep.overWriteReleases=true) >&2 \
    || die "could not fetch akka-persistence-jdbc_$sbv-$v.jar with Maven"
  jar="$PG_DIR/akka-persistence-jdbc_$sbv-$v.jar"
  [ -f "$jar" ] || die "Maven did not produce $jar"
  echo "$jar"
}

apply_schema() {
  local jar sql="$PG_DIR/schema.sql"
  jar="$(journal_jar)"
  log "schema from $jar!/schema/postgres/postgres-create-schema.sql"
  if command -v unzip >/dev/null 2>&1; then
    unzip -p "$jar" schema/postgres/postgres-create-schema.sql > "$sql.tmp"
  else
    (cd "$PG_DIR" && rm -rf schema && jar xf "$jar" schema/postgres/postgres-create-schema.sql \
      && cat schema/postgres/postgres-create-schema.sql && rm -rf schema) > "$sql.tmp"
  fi
  [ -s "$sql.tmp" ] || die "no schema/postgres/postgres-create-schema.sql in $jar"
  # Idempotent: CREATE [UNIQUE] INDEX [CONCURRENTLY] name -> ... IF NOT EXISTS name.
  sed -E 's/CREATE (UNIQUE )?INDEX (CONCURRENTLY )?(IF NOT EXISTS )?/CREATE \1INDEX \2IF NOT EXISTS /I' "$sql.tmp" > "$sql"
  rm -f "$sql.tmp"
  chmod 644 "$sql"
  log "+ psql -U $PG_USER -d $PG_DB -f $sql"
  psql_as "$PG_USER" "$PG_DB" -f "$sql" || die "applying $sql failed"
}

setup_db() {
  log "role $PG_USER and database $PG_DB"
  psql_as postgres postgres -v "u=$PG_USER" -v "d=$PG_DB" -v "pw=$PG_PASSWORD" <<'SQL' || die "creating role/database failed"
SELECT format('CREATE ROLE %I LOGIN', :'u') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'u') \gexec
ALTER ROLE :"u" WITH LOGIN PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'d', :'u') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'d') \gexec
SQL
  apply_schema
  local sc fs
  sc="$(psql_as postgres postgres -tAc 'SHOW synchronous_commit')"
  fs="$(psql_as postgres postgres -tAc 'SHOW fsync')"
  log "synchronous_commit=$sc fsync=$fs"
  [ "$sc" = on ] && [ "$fs" = on ] || die "expected synchronous_commit=on and fsync=on"
}

start() {
  ensure_installed
  log "PostgreSQL binaries: $BIN; cluster: $DATA; port: $PG_PORT"
  mkdir -p "$PG_DIR"
  if is_root; then chown postgres:postgres "$PG_DIR"; fi
  chmod 700 "$PG_DIR"
  if [ ! -s "$DATA/PG_VERSION" ]; then
    log "+ initdb -D $DATA (trust on the private socket, scram-sha-256 over TCP)"
    as_pg "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 \
      || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  as_pg mkdir -p "$SOCK"
  as_pg chmod 700 "$SOCK"
  if running; then
    log "already running from $DATA"
  else
    if [ -n "${VMAP_PG_STARTED_FILE:-}" ]; then
      mkdir -p "$(dirname "$VMAP_PG_STARTED_FILE")"
      echo "$DATA" > "$VMAP_PG_STARTED_FILE"
    fi
    log "+ pg_ctl start (listen_addresses=127.0.0.1 port=$PG_PORT fsync=on synchronous_commit=on), log $LOG"
    as_pg "$BIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 -o \
      "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$SOCK -c fsync=on -c synchronous_commit=on" >&2 \
      || { [ -f "$LOG" ] && tail -n 30 "$LOG" >&2; die "pg_ctl start failed (port $PG_PORT taken?)"; }
  fi
  wait_ready
  setup_db
  log "ready: $(url)"
}

stop() {
  if [ -n "${VMAP_PG_STARTED_FILE:-}" ]; then
    if [ ! -f "$VMAP_PG_STARTED_FILE" ]; then
      log "leaving the server running: it was not started with VMAP_PG_STARTED_FILE=$VMAP_PG_STARTED_FILE"
      return 0
    fi
    rm -f "$VMAP_PG_STARTED_FILE"
  fi
  BIN="$(find_bin)" || { log "PostgreSQL is not installed: nothing to stop"; return 0; }
  if [ -s "$DATA/PG_VERSION" ] && running; then
    log "+ pg_ctl stop -D $DATA -m fast"
    as_pg "$BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 >&2 || die "pg_ctl stop failed"
  else
    log "not running ($DATA)"
  fi
}

status() {
  BIN="$(find_bin)" || { echo "PostgreSQL is not installed"; return 3; }
  if [ -s "$DATA/PG_VERSION" ] && running; then
    if ready; then
      echo "running from $DATA, accepting connections: $(url)"
      return 0
    fi
    echo "running from $DATA, but not accepting connections on 127.0.0.1:$PG_PORT"
    return 1
  fi
  echo "not running ($DATA)"
  return 3
}

url() { echo "jdbc:postgresql://127.0.0.1:$PG_PORT/$PG_DB"; }

env_lines() {
  printf 'export VMAP_PG_HOST=%q\n' 127.0.0.1
  printf 'export VMAP_PG_PORT=%q\n' "$PG_PORT"
  printf 'export VMAP_PG_DB=%q\n' "$PG_DB"
  printf 'export VMAP_PG_USER=%q\n' "$PG_USER"
  printf 'export VMAP_PG_PASSWORD=%q\n' "$PG_PASSWORD"
}

[ $# -eq 1 ] || usage
case "$1" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) url ;;
  env) env_lines ;;
  *) usage ;;
esac
