#!/usr/bin/env bash
# Handshake cost as a user sees it: wall time of `ferry get` of an empty file over udp:// on 127.0.0.1,
# encrypted (default) vs --insecure, N runs each, interleaved. Reports median and min in milliseconds.
# The difference is the key exchange: one more round trip plus P-256 ECDH, an ECDSA signature and its check.
# Usage: bench/handshake.sh [RUNS=15]   (FERRY_OUT=DIR: use the ferry built in DIR, no publish)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-15}
PORT=${FERRY_BENCH_PORT:-17990}
OUT=${FERRY_OUT:-bench/out}
WORK=$(mktemp -d /tmp/ferry-hs.XXXXXX)
cleanup() { [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export FERRY_CONFIG_DIR="$WORK/config"
[ -n "${FERRY_OUT:-}" ] || dotnet publish src/Ferry.Cli -c Release -o "$OUT" >/dev/null   # FERRY_OUT: a ferry already built there
FERRY="$OUT/ferry"
mkdir -p "$WORK/root"; : > "$WORK/root/empty"
"$FERRY" serve --root "$WORK/root" --state-dir "$WORK/state" --port "$PORT" --tcp-port -1 --zmq-port -1 --relay-port -1 --insecure 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 50); do grep -q "listening" "$WORK/server.log" 2>/dev/null && break; sleep 0.1; done
"$FERRY" get "udp://127.0.0.1:$PORT/empty" "$WORK/warm" --quiet --overwrite 2>/dev/null   # pin the key, warm the disk cache
for i in $(seq "$RUNS"); do
  for mode in encrypted insecure; do
    extra=(); [ "$mode" = insecure ] && extra=(--insecure)
    s=$(date +%s%N)
    "$FERRY" get "udp://127.0.0.1:$PORT/empty" "$WORK/out" --quiet --overwrite "${extra[@]}"
    e=$(date +%s%N)
    echo "$mode $(( (e - s) / 1000000 ))" >> "$WORK/times"
  done
done
echo "| mode | median ms | min ms | runs |"
echo "|---|---|---|---|"
for mode in encrypted insecure; do
  grep "^$mode " "$WORK/times" | awk '{print $2}' | sort -n | awk -v m="$mode" '{a[NR]=$1} END {printf "| %s | %d | %d | %d |\n", m, a[int((NR+1)/2)], a[1], NR}'
done
echo
echo "whole command (process start, JIT, handshake, transfer of 0 bytes, verification); load average $(cut -d' ' -f1-3 /proc/loadavg)"
