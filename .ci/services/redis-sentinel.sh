#!/usr/bin/env bash
# Redis Sentinel on loopback ports, from the machine's redis-server: one master, one replica and
# three sentinels (quorum 2) watching them under the master name $REDIS_SENTINEL_NAME (pkce), in a
# temp dir. Usage: redis-sentinel.sh start|stop|status
#   start   make it run: create it, or restart any process that died (a restarted former master
#           is turned into a replica of the new one by the sentinels); waits until the sentinels
#           agree on a master that has a replica in sync. Prints the environment the tests read.
#   stop    stop everything and remove the temp dir.
#   status  exit 0 when everything runs and the sentinels see a master with a replica in sync.
# Ports: $REDIS_SENTINEL_DATA_PORT (default 6380) and the one after it for master and replica,
# $REDIS_SENTINEL_PORT (default 26379) and the 2 after it for the sentinels.
set -euo pipefail
SERVICE=redis-sentinel
. "$(dirname "$0")/common.sh"

NAME="${REDIS_SENTINEL_NAME:-pkce}"
DATA_BASE="${REDIS_SENTINEL_DATA_PORT:-6380}"
SENTINEL_BASE="${REDIS_SENTINEL_PORT:-26379}"
DATA_PORTS=("$DATA_BASE" $((DATA_BASE + 1)))
SENTINEL_PORTS=("$SENTINEL_BASE" $((SENTINEL_BASE + 1)) $((SENTINEL_BASE + 2)))
DIR="$PKCE_CI_SERVICES/redis-sentinel"
# A master that stops answering for this long is failed over (https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/).
DOWN_AFTER_MS="${REDIS_SENTINEL_DOWN_AFTER_MS:-2000}"

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

print_env() {
  local list="" port
  for port in "${SENTINEL_PORTS[@]}"; do list="${list:+$list,}127.0.0.1:$port"; done
  echo "REDIS_SENTINELS=$list"
  echo "REDIS_SENTINEL_NAME=$NAME"
}

start_data() {
  local port="$1" node="$DIR/$1"
  mkdir -p "$node"
  # The first start writes the config; later starts keep it, as the sentinels may have rewritten it.
  if [ ! -f "$node/redis.conf" ]; then
    cat >"$node/redis.conf" <<CONF
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
dir $node
pidfile $node/redis.pid
logfile $node/redis.log
save ""
appendonly no
CONF
    [ "$port" = "${DATA_PORTS[1]}" ] && echo "replicaof 127.0.0.1 ${DATA_PORTS[0]}" >>"$node/redis.conf"
  fi
  redis-server "$node/redis.conf"
  until_within 10 eval "cli $port ping 2>/dev/null | grep -q PONG" || die "redis $port does not answer (see $node/redis.log)"
}

start_sentinel() {
  local port="$1" node="$DIR/sentinel-$1"
  mkdir -p "$node"
  if [ ! -f "$node/sentinel.conf" ]; then
    cat >"$node/sentinel.conf" <<CONF
bind 127.0.0.1
port $port
daemonize yes
dir $node
pidfile $node/sentinel.pid
logfile $node/sentinel.log
sentinel announce-ip 127.0.0.1
sentinel monitor $NAME 127.0.0.1 ${DATA_PORTS[0]} 2
sentinel down-after-milliseconds $NAME $DOWN_AFTER_MS
sentinel failover-timeout $NAME 10000
sentinel parallel-syncs $NAME 1
CONF
  fi
  # redis-sentinel is redis-server in sentinel mode; Debian ships it in its own package.
  if command -v redis-sentinel >/dev/null; then redis-sentinel "$node/sentinel.conf"; else redis-server "$node/sentinel.conf" --sentinel; fi
  until_within 10 eval "cli $port ping 2>/dev/null | grep -q PONG" || die "sentinel $port does not answer (see $node/sentinel.log)"
}

# Every sentinel names the same master, which answers as master, knows the other sentinels, and
# has a replica in sync.
healthy() {
  local port address master="" sentinels=$((${#SENTINEL_PORTS[@]} - 1))
  for port in "${SENTINEL_PORTS[@]}"; do
    address="$(cli "$port" sentinel get-master-addr-by-name "$NAME" 2>/dev/null | tr '\n' ':')" || return 1
    [ -n "$address" ] || return 1
    [ -z "$master" ] || [ "$master" = "$address" ] || return 1
    master="$address"
    cli "$port" sentinel master "$NAME" 2>/dev/null | tr '\n' ' ' | grep -q -E "num-other-sentinels $sentinels( |$)" || return 1
  done
  port="$(cut -d: -f2 <<<"$master")"
  cli "$port" info replication 2>/dev/null | grep -q '^role:master' || return 1
  cli "$port" info replication | grep -q '^connected_slaves:1' || return 1
  cli "$port" info replication | grep -q 'state=online' || return 1
  # The sentinels list the replica as in sync, not as down.
  cli "${SENTINEL_PORTS[0]}" sentinel replicas "$NAME" 2>/dev/null | tr '\n' ' ' | grep -q -E 'flags slave( |$)' || return 1
}

all_running() {
  local port
  for port in "${DATA_PORTS[@]}"; do alive "$DIR/$port/redis.pid" || return 1; done
  for port in "${SENTINEL_PORTS[@]}"; do alive "$DIR/sentinel-$port/sentinel.pid" || return 1; done
}

start() {
  command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server)"
  local port fresh=0
  for port in "${DATA_PORTS[@]}"; do port_is_ours_or_free "$port" "$DIR/$port/redis.pid" || die "port $port is taken by another process"; done
  for port in "${SENTINEL_PORTS[@]}"; do port_is_ours_or_free "$port" "$DIR/sentinel-$port/sentinel.pid" || die "port $port is taken by another process"; done
  [ -d "$DIR" ] || fresh=1
  mkdir -p "$DIR"
  for port in "${DATA_PORTS[@]}"; do alive "$DIR/$port/redis.pid" || { say "starting redis $port"; start_data "$port"; }; done
  for port in "${SENTINEL_PORTS[@]}"; do alive "$DIR/sentinel-$port/sentinel.pid" || { say "starting sentinel $port"; start_sentinel "$port"; }; done
  until_within 40 healthy || die "the sentinels do not agree on a master with a replica in sync after 40 s"
  [ "$fresh" -eq 1 ] && say "up: master ${DATA_PORTS[0]}, replica ${DATA_PORTS[1]}, sentinels ${SENTINEL_PORTS[*]} (master name $NAME)"
  print_env
}

stop() {
  local port
  for port in "${SENTINEL_PORTS[@]}"; do stop_pidfile "$DIR/sentinel-$port/sentinel.pid"; done
  for port in "${DATA_PORTS[@]}"; do stop_pidfile "$DIR/$port/redis.pid"; done
  rm -rf "$DIR"
  rmdir "$PKCE_CI_SERVICES" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) all_running && healthy ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
