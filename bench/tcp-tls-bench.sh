#!/usr/bin/env bash
# tcp:// encrypted (TLS 1.3, the default) vs --insecure (cleartext) on loopback, /dev/shm to /dev/shm:
# download and upload with 1 and 8 streams, each row run REPEAT times (default 2) with the load average beside it,
# then the TLS handshake cost (bench/TcpHandshakeBench: in-process, no process start-up in the figure).
# Besides wall time, each row gives the CPU seconds both processes used (client: /usr/bin/time; server: its
# /proc/PID/stat before and after): on a shared machine the wall time depends on the load, the CPU cost much less.
# Usage: bench/tcp-tls-bench.sh [SIZE_MIB] [REPEAT]   (default 1024 2)
# The server runs with --insecure so it accepts both kinds of client; known_hosts goes to a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
REPEAT=${2:-2}
STREAMS=(1 8)

W=$(mktemp -d /dev/shm/ferry-tls-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT INT TERM
export FERRY_CONFIG_DIR="$W/config"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {
  for _ in $(seq 1 400); do ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0; sleep 0.05; done
  echo "nothing listening on port $1" >&2; return 1
}
now_ns() { date +%s%N; }
TICK=$(getconf CLK_TCK)
server_cpu() { awk -v t="$TICK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$SERVER/stat"; }
# timed CMD...: runs CMD, sets T (wall seconds) and CPU (client + server CPU seconds)
timed() {
  local s e c0 c1
  c0=$(server_cpu); s=$(now_ns)
  /usr/bin/time -f "%U %S" -o "$W/time.txt" "$@" >/dev/null
  e=$(now_ns); c1=$(server_cpu)
  T=$(awk -v d=$((e - s)) 'BEGIN { printf "%.2f", d / 1e9 }')
  CPU=$(awk -v a="$c0" -v b="$c1" '{ printf "%.2f", $1 + $2 + b - a }' "$W/time.txt")
}
load() { uptime | sed 's/.*load average: //'; }
gbps() { awk -v b=$((SIZE_MIB * 1048576)) -v s="$1" 'BEGIN { printf "%.2f", b * 8 / s / 1e9 }'; }

echo "building ferry (Release)..." >&2
dotnet publish src/Ferry.Cli -c Release -o "$W/bin" --nologo -v q >/dev/null
FERRY="$W/bin/ferry"
mkdir -p "$W/src" "$W/root" "$W/state" "$W/dl"
head -c "${SIZE_MIB}M" /dev/urandom > "$W/src/big.bin"
cp "$W/src/big.bin" "$W/root/big.bin"
check() { cmp -s "$1" "$W/src/big.bin" || { echo "WRONG CONTENT: $1" >&2; exit 1; }; rm -f "$1"; }

P=$(free_port)
"$FERRY" serve --root "$W/root" --state-dir "$W/state" --bind 127.0.0.1 --port -1 --zmq-port -1 --relay-port -1 --tcp-port "$P" --insecure 2>"$W/serve.log" & PIDS+=($!)
SERVER=$!
wait_port "$P"

echo "| mode | direction | streams | run | seconds | Gbit/s | CPU s (both) | load average (1, 5, 15 min) |"
echo "|---|---|---|---|---|---|---|---|"
for dir in download upload; do
  for s in "${STREAMS[@]}"; do
    for r in $(seq 1 "$REPEAT"); do
      for mode in encrypted insecure; do
        flag=(); [ "$mode" = insecure ] && flag=(--insecure)
        l=$(load)
        if [ "$dir" = download ]; then
          timed "$FERRY" get "tcp://127.0.0.1:$P/big.bin" "$W/dl/f.bin" --streams "$s" -q "${flag[@]}"
          check "$W/dl/f.bin"
        else
          timed "$FERRY" send "$W/src/big.bin" "tcp://127.0.0.1:$P/up.bin" --streams "$s" -q "${flag[@]}"
          check "$W/root/up.bin"
        fi
        echo "| $mode | $dir | $s | $r | $T | $(gbps "$T") | $CPU | $l |"
      done
    done
  done
done

echo
echo "TLS handshake (in process, 127.0.0.1):"
dotnet run -c Release --project bench/TcpHandshakeBench -- 300
