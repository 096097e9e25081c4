# Shared by the service scripts: where their state lives, and bounded waits.
# Sourced, not run. Every service keeps everything (configs, data, logs, pid files) under
# $PKCE_CI_SERVICES/<service>, which `stop` removes.

PKCE_CI_SERVICES="${PKCE_CI_SERVICES:-${TMPDIR:-/tmp}/pkce-ci-services}"

say() { echo "$SERVICE: $*" >&2; }
die() { say "$*"; exit 1; }

# Something answers TCP on 127.0.0.1:$1.
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Run "$@" every 0.1 s until it succeeds, at most $1 seconds.
until_within() {
  local seconds="$1"; shift
  local tries=$((seconds * 10))
  while [ "$tries" -gt 0 ]; do
    "$@" && return 0
    tries=$((tries - 1))
    sleep 0.1
  done
  return 1
}

# The process in pid file $1 is alive.
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stop the process in pid file $1 (TERM, then KILL after 5 s) and wait until it is gone.
stop_pidfile() {
  local pidfile="$1" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    until_within 5 eval "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
    until_within 5 eval "! kill -0 $pid 2>/dev/null" || die "process $pid did not stop"
  fi
  rm -f "$pidfile"
}

# Port $1 is free, or held by the process in pid file $2 (ours).
port_is_ours_or_free() {
  local port="$1" pidfile="$2"
  answers "$port" || return 0
  alive "$pidfile"
}
