# Production-shaped PostgreSQL parts for the tests, sourced by .ci/run:
#
# - PgBouncer (Debian's package) in transaction mode in front of $DATABASE_URL's
#   server, every database name routed through it:
#   DATAFLOW_PGBOUNCER_URL=postgres://postgres@127.0.0.1:<port>/postgres
# - a primary and a streaming replica (pg_basebackup), two throwaway clusters:
#   DATAFLOW_PG_PRIMARY_URL, DATAFLOW_PG_REPLICA_URL, and DATAFLOW_PG_REPLICA_DATA
#   (the replica's data directory, so a test can stop and start it with
#   `runuser -u postgres -- pg_ctl -D "$DATAFLOW_PG_REPLICA_DATA" ...`).
#
# Run by hand for a local session: `bash .ci/pg-extras.sh start` prints the
# exports; `bash .ci/pg-extras.sh stop <dir>` stops what it started.

pg_extras_dir=""

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1
}

as_postgres() { runuser -u postgres -- "$@"; }

start_pgbouncer() {
  if ! command -v pgbouncer >/dev/null; then
    echo "ci: installing PgBouncer" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer) >/dev/null
  fi
  local hostport target_host target_port port dir
  # host and port of the server behind DATABASE_URL (postgres://user@host:port/db)
  hostport=$(printf '%s' "$DATABASE_URL" | sed -E 's#^[a-z]+://([^@/]*@)?([^/?]*).*#\2#')
  target_host=${hostport%%:*}
  target_port=${hostport##*:}
  [ "$target_port" = "$hostport" ] && target_port=5432
  port=$(free_port)
  dir="$pg_extras_dir/pgbouncer"
  mkdir -p "$dir"
  printf '"postgres" ""\n' >"$dir/userlist.txt"
  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$target_host port=$target_port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
max_db_connections = 40
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
admin_users = postgres
EOF
  chown -R postgres "$dir"
  as_postgres pgbouncer -d "$dir/pgbouncer.ini"
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
  export DATAFLOW_PGBOUNCER_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

start_replica_pair() {
  local bin p1 p2 dir
  bin=$(pg_bin)
  p1=$(free_port)
  p2=$(free_port)
  dir="$pg_extras_dir/replication"
  mkdir -p "$dir"
  chown postgres "$dir"
  as_postgres "$bin/initdb" -D "$dir/primary" -A trust -U postgres >/dev/null
  # fsync off: a throwaway pair; small buffers: two more servers on a CI box.
  local settings="-h 127.0.0.1 -k $dir -c fsync=off -c shared_buffers=16MB -c max_connections=60"
  as_postgres "$bin/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -o "-p $p1 $settings" -w start >/dev/null
  as_postgres "$bin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$dir/replica" -R -X stream
  # The replica's settings live in its own configuration, so a test can stop
  # it and start it again with `pg_ctl -D "$DATAFLOW_PG_REPLICA_DATA" start`.
  cat >>"$dir/replica/postgresql.auto.conf" <<EOF
port = $p2
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
shared_buffers = '16MB'
max_connections = 60
EOF
  as_postgres "$bin/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w start >/dev/null
  export DATAFLOW_PG_PRIMARY_URL="postgres://postgres@127.0.0.1:$p1/postgres"
  export DATAFLOW_PG_REPLICA_URL="postgres://postgres@127.0.0.1:$p2/postgres"
  export DATAFLOW_PG_REPLICA_DATA="$dir/replica"
}

start_pg_extras() {
  pg_extras_dir=$(mktemp -d /tmp/dataflow-pg-extras.XXXXXX)
  chmod 755 "$pg_extras_dir"
  start_pgbouncer
  start_replica_pair
}

stop_pg_extras() {
  local dir=${1:-$pg_extras_dir} bin
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  bin=$(pg_bin)
  if [ -f "$dir/pgbouncer/pgbouncer.pid" ]; then
    kill "$(cat "$dir/pgbouncer/pgbouncer.pid")" 2>/dev/null || true
  fi
  for d in replica primary; do
    if [ -d "$dir/replication/$d" ]; then
      as_postgres "$bin/pg_ctl" -D "$dir/replication/$d" -m immediate stop >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$dir"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start)
      export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
      start_pg_extras >&2
      echo "export DATAFLOW_PGBOUNCER_URL=$DATAFLOW_PGBOUNCER_URL"
      echo "export DATAFLOW_PG_PRIMARY_URL=$DATAFLOW_PG_PRIMARY_URL"
      echo "export DATAFLOW_PG_REPLICA_URL=$DATAFLOW_PG_REPLICA_URL"
      echo "export DATAFLOW_PG_REPLICA_DATA=$DATAFLOW_PG_REPLICA_DATA"
      echo "# stop with: bash .ci/pg-extras.sh stop $pg_extras_dir"
      ;;
    stop) stop_pg_extras "${2:?the directory start printed}" ;;
    *) echo "usage: $0 start | stop <dir>" >&2; exit 2 ;;
  esac
fi
