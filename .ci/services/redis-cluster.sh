#!/usr/bin/env bash
# A Redis Cluster of 3 masters + 3 replicas on loopback ports, from the machine's redis-server,
# in a temp dir. Usage: redis-cluster.sh start|stop|status
#   start   make it run: create it, or restart any node that died (it rejoins the cluster, as a
#           replica if its slots were failed over); waits until every node is up, cluster_state:ok
#           and every node agreeing on the slot map. Prints the environment the tests read (REDIS_CLUSTER_NODES=...).
#   stop    stop every node and remove the temp dir.
#   status  exit 0 when every node runs and the cluster is ok.
# Ports: $REDIS_CLUSTER_PORT (default 7000) and the 5 after it.
set -euo pipefail
SERVICE=redis-cluster
. "$(dirname "$0")/common.sh"

BASE="${REDIS_CLUSTER_PORT:-7000}"
PORTS=()
for i in 0 1 2 3 4 5; do PORTS+=($((BASE + i))); done
DIR="$PKCE_CI_SERVICES/redis-cluster"
# A node that stops answering for this long is failed over (Redis Cluster spec, "Failure detection").
NODE_TIMEOUT_MS="${REDIS_CLUSTER_NODE_TIMEOUT_MS:-2000}"

nodes_env() {
  local list="" port
  for port in "${PORTS[@]}"; do list="${list:+$list,}127.0.0.1:$port"; done
  echo "REDIS_CLUSTER_NODES=$list"
}

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

start_node() {
  local port="$1" node="$DIR/$1"
  mkdir -p "$node"
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
cluster-enabled yes
cluster-config-file $node/nodes.conf
cluster-node-timeout $NODE_TIMEOUT_MS
# A replica takes over however long it was cut off: the tests kill masters on purpose.
cluster-replica-validity-factor 0
CONF
  redis-server "$node/redis.conf"
  until_within 10 eval "cli $port ping 2>/dev/null | grep -q PONG" || die "node $port does not answer (see $node/redis.log)"
}

# Every node sees cluster_state:ok, 3 masters serving slots and 3 replicas, none failing, and
# every replica is in sync with its master.
cluster_ok() {
  local port nodes
  for port in "${PORTS[@]}"; do
    cli "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
    nodes="$(cli "$port" cluster nodes 2>/dev/null)" || return 1
    ! grep -q 'fail' <<<"$nodes" || return 1
    [ "$(grep -c -E ' (myself,)?master .* [0-9]+-[0-9]+' <<<"$nodes")" -eq 3 ] || return 1
    [ "$(grep -c -E ' (myself,)?slave ' <<<"$nodes")" -eq 3 ] || return 1
    if cli "$port" info replication 2>/dev/null | grep -q '^role:slave'; then
      cli "$port" info replication | grep -q '^master_link_status:up' || return 1
    fi
  done
  # And every node agrees on who serves each slot. A node restarted after a failover keeps
  # claiming its old slots until it learns the newer configuration epoch (Redis Cluster spec,
  # "Configuration handling, propagation, and failovers"); until then a client can be sent back
  # and forth (MOVED) between it and the new master.
  local check
  check="$(redis-cli --cluster check "127.0.0.1:$BASE" 2>/dev/null)" || return 1
  grep -q 'All nodes agree about slots configuration' <<<"$check" || return 1
  grep -q 'All 16384 slots covered' <<<"$check" || return 1
}

all_running() {
  local port
  for port in "${PORTS[@]}"; do alive "$DIR/$port/redis.pid" || return 1; done
}

start() {
  command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server)"
  local port created=0
  for port in "${PORTS[@]}"; do
    port_is_ours_or_free "$port" "$DIR/$port/redis.pid" || die "port $port is taken by another process"
  done
  [ -f "$DIR/created" ] || { rm -rf "$DIR"; mkdir -p "$DIR"; }
  for port in "${PORTS[@]}"; do
    alive "$DIR/$port/redis.pid" || { say "starting node $port"; start_node "$port"; }
  done
  if [ ! -f "$DIR/created" ]; then
    say "creating the cluster"
    local addresses=()
    for port in "${PORTS[@]}"; do addresses+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 \
      || die "redis-cli --cluster create failed: $(tail -5 "$DIR/create.log")"
    touch "$DIR/created"
    created=1
  fi
  until_within 30 cluster_ok || die "the cluster is not ok after 30 s: $(cli "$BASE" cluster info | head -1)"
  [ "$created" -eq 1 ] && say "up: 3 masters + 3 replicas on ports ${PORTS[0]}-${PORTS[5]}"
  nodes_env
}

stop() {
  local port
  for port in "${PORTS[@]}"; do stop_pidfile "$DIR/$port/redis.pid"; done
  rm -rf "$DIR"
  rmdir "$PKCE_CI_SERVICES" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) all_running && cluster_ok ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
