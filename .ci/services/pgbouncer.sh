#!/usr/bin/env bash
# PgBouncer in transaction mode on 127.0.0.1:$PGBOUNCER_PORT (6432), in front of the machine's
# PostgreSQL (127.0.0.1:5432, database test, user postgres), from a temp config.
# Usage: pgbouncer.sh start|stop|kill|status
#   start   make it run (nothing to do if it runs); waits until it answers. Prints the environment
#           the tests read (PGBOUNCER_URL=...).
#   kill    stop the PgBouncer process at once (SIGTERM: its immediate shutdown), keeping the temp
#           dir, so `start` brings the same PgBouncer back: a restart, for the failover test.
#   stop    stop it and remove the temp dir.
#   status  exit 0 when it runs and answers.
set -euo pipefail
SERVICE=pgbouncer
. "$(dirname "$0")/common.sh"

PORT="${PGBOUNCER_PORT:-6432}"
DB_HOST=127.0.0.1
DB_PORT="${PGBOUNCER_DB_PORT:-5432}"
DB_NAME="${PGBOUNCER_DB_NAME:-test}"
DB_USER="${PGBOUNCER_DB_USER:-postgres}"
DIR="$PKCE_CI_SERVICES/pgbouncer"
PIDFILE="$DIR/pgbouncer.pid"

pgbouncer_bin() { command -v pgbouncer || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; }; }

write_config() {
  cat >"$DIR/pgbouncer.ini" <<CONF
[databases]
$DB_NAME = host=$DB_HOST port=$DB_PORT dbname=$DB_NAME user=$DB_USER

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
pool_mode = transaction
; trust: no password on the client side, as on the machine's PostgreSQL; the user must still be
; listed in auth_file.
auth_type = trust
auth_file = $DIR/userlist.txt
max_client_conn = 500
default_pool_size = 20
logfile = $DIR/pgbouncer.log
pidfile = $PIDFILE
ignore_startup_parameters = extra_float_digits
CONF
  echo "\"$DB_USER\" \"\"" >"$DIR/userlist.txt"
}

start() {
  local bin
  bin="$(pgbouncer_bin)" || die "pgbouncer is not installed (apt-get install pgbouncer)"
  port_is_ours_or_free "$PORT" "$PIDFILE" || die "port $PORT is taken by another process"
  if alive "$PIDFILE"; then
    echo "PGBOUNCER_URL=postgres://$DB_USER@127.0.0.1:$PORT/$DB_NAME"
    return
  fi
  mkdir -p "$DIR"
  [ -f "$DIR/pgbouncer.ini" ] || write_config
  # PgBouncer refuses to run as root: as root, it switches to the database's system user.
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$DIR"
    # The temp dir above it (mktemp -d: 0700) must let that user through, not read it.
    chmod o+x "$PKCE_CI_SERVICES"
    "$bin" -d -q -u postgres "$DIR/pgbouncer.ini"
  else
    "$bin" -d -q "$DIR/pgbouncer.ini"
  fi
  until_within 10 answers "$PORT" || die "PgBouncer does not answer on 127.0.0.1:$PORT (see $DIR/pgbouncer.log)"
  until_within 10 alive "$PIDFILE" || die "PgBouncer wrote no pid file"
  say "up on 127.0.0.1:$PORT (transaction mode) in front of $DB_HOST:$DB_PORT/$DB_NAME"
  echo "PGBOUNCER_URL=postgres://$DB_USER@127.0.0.1:$PORT/$DB_NAME"
}

kill_it() {
  stop_pidfile "$PIDFILE"
  until_within 5 eval "! answers $PORT" || die "port $PORT still answers"
}

stop() {
  stop_pidfile "$PIDFILE"
  rm -rf "$DIR"
  rmdir "$PKCE_CI_SERVICES" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  kill) kill_it ;;
  stop) stop ;;
  status) alive "$PIDFILE" && answers "$PORT" ;;
  *) echo "usage: $0 start|stop|kill|status" >&2; exit 2 ;;
esac
