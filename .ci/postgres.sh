#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback for the test suite; print its URL on stdout.
# Usage: eval "$(.ci/postgres.sh start)"   ...   .ci/postgres.sh stop "$APSCN_PG_DATA"
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_pg() {  # the server refuses to run as root
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
  if [ -z "$(pg_bin)" ]; then
    echo "installing postgresql" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  fi
  bin=$(pg_bin)
  data=$(mktemp -d /tmp/apscn-pg.XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres "$data"
  port=${APSCN_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
  as_pg "$bin/initdb" -D "$data/db" -A trust -U postgres -E UTF8 >/dev/null
  as_pg "$bin/pg_ctl" -D "$data/db" -l "$data/log" -w -o "-p $port -k $data -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >&2
  echo "export APSCN_PG_DATA=$data"
  echo "export APSCN_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  data=${2:?data folder}
  as_pg "$(pg_bin)/pg_ctl" -D "$data/db" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$data"
  ;;
*)
  echo "usage: $0 start|stop DATA" >&2
  exit 2
  ;;
esac
