#!/usr/bin/env bash
# A local Sentinel deployment on loopback from Debian's redis-server: a primary, a replica and three
# sentinels (quorum 2), each from a config file the sentinels may rewrite. Prints the settings for
# `npm start`, then runs until Ctrl-C, which stops all five.
#   scripts/sentinel-local.sh [base-port]     (default 6380: data 6380-6381, sentinels 26380-26382)
# Try a failover: redis-cli -p <primary> DEBUG SLEEP 30, or kill the primary's redis-server.
set -euo pipefail
base="${1:-6380}"
dir="$(mktemp -d "${TMPDIR:-/tmp}/onceql-sentinel-XXXXXX")"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT INT TERM

data_node() { # port [replicaof-port]
  mkdir -p "$dir/$1"
  printf 'port %s\nbind 127.0.0.1\ndir %s\nappendonly yes\nappendfsync everysec\nsave ""\nrepl-diskless-sync-delay 0\nlogfile %s/redis.log\n' "$1" "$dir/$1" "$dir/$1" > "$dir/$1/redis.conf"
  [ -z "${2:-}" ] || echo "replicaof 127.0.0.1 $2" >> "$dir/$1/redis.conf"
  redis-server "$dir/$1/redis.conf" & pids+=($!)
}
data_node "$base"
data_node "$((base + 1))" "$base"
sentinels=()
for i in 0 1 2; do
  port=$((base + 20000 + i))
  printf 'port %s\nbind 127.0.0.1\ndir %s\nlogfile %s/sentinel-%s.log\nsentinel monitor mymaster 127.0.0.1 %s 2\nsentinel down-after-milliseconds mymaster 2000\nsentinel failover-timeout mymaster 60000\n' \
    "$port" "$dir" "$dir" "$port" "$base" > "$dir/sentinel-$port.conf"
  redis-server "$dir/sentinel-$port.conf" --sentinel & pids+=($!)
  sentinels+=("127.0.0.1:$port")
done
sleep 1
echo "primary 127.0.0.1:$base, replica 127.0.0.1:$((base + 1)), logs in $dir"
echo "REDIS_SENTINELS=$(IFS=,; echo "${sentinels[*]}") REDIS_SENTINEL_NAME=mymaster REDIS_WAIT_REPLICAS=1 npm start"
wait
