#!/usr/bin/env bash
# Loopback goodput of ferry udp:// (upload and download of a file from /dev/shm to /dev/shm, SHA-256 verified
# end to end) beside iperf3 UDP (same datagram size) and iperf3 TCP, in the same run.
# Usage: bench/udp-loopback.sh [SIZE_MIB=1024] [RUNS=3]   (FERRY_OUT=DIR: use the ferry built in DIR, no publish)
# Each run measures the default (AES-256-GCM encrypted) transfer and the same with --insecure.
# Prints a markdown table. Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
RUNS=${2:-3}
PORT=${FERRY_BENCH_PORT:-17790}
IPERF_PORT=$((PORT + 1))
OUT=${FERRY_OUT:-bench/out}
WORK=/dev/shm/ferry-bench.$$
DGRAM=1452   # ferry's default datagram payload (fits a 1500-byte MTU over IPv4 and IPv6)

command -v iperf3 >/dev/null || { [ "$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq iperf3 >/dev/null); } || true
[ -n "${FERRY_OUT:-}" ] || dotnet publish src/Ferry.Cli -c Release -o "$OUT" >/dev/null   # FERRY_OUT: a ferry already built there
FERRY="$OUT/ferry"

mkdir -p "$WORK/root"
cleanup() { [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null; [ -n "${IPERF_PID:-}" ] && kill "$IPERF_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export FERRY_CONFIG_DIR="$WORK/config"   # the bench server's key is pinned here, not in ~/.config/ferry
head -c $((SIZE_MIB << 20)) /dev/urandom > "$WORK/src.bin"
BYTES=$(stat -c %s "$WORK/src.bin")

cpu_of() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }   # utime+stime in seconds (USER_HZ=100)

"$FERRY" serve --root "$WORK/root" --state-dir "$WORK/state" --port "$PORT" --tcp-port -1 --zmq-port -1 --relay-port -1 --insecure 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 50); do grep -q "listening" "$WORK/server.log" 2>/dev/null && break; sleep 0.1; done

row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
gbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.2f", b * 8 / s / 1e9 }'; }

echo "| what | goodput (Gbit/s) | seconds | client CPU s/GiB | server CPU s/GiB |"
echo "|---|---|---|---|---|"
for run in $(seq "$RUNS"); do
 for mode in encrypted insecure; do
  extra=(); [ "$mode" = insecure ] && extra=(--insecure)
  for dir in upload download; do
    rm -f "$WORK/root/dst.bin" "$WORK/copy.bin"
    if [ "$dir" = upload ]; then
      [ "$run" -gt 1 ] || true
      rm -f "$WORK/root/up.bin"
      cmd=("$FERRY" send "$WORK/src.bin" "udp://127.0.0.1:$PORT/up.bin" --json "${extra[@]}")
    else
      [ -f "$WORK/root/up.bin" ] || cp "$WORK/src.bin" "$WORK/root/up.bin"
      cmd=("$FERRY" get "udp://127.0.0.1:$PORT/up.bin" "$WORK/copy.bin" --json "${extra[@]}")
    fi
    s0=$(cpu_of "$SERVER_PID")
    /usr/bin/time -f "%U %S" -o "$WORK/time" "${cmd[@]}" > "$WORK/out.json"
    s1=$(cpu_of "$SERVER_PID")
    secs=$(grep '"event":"done"' "$WORK/out.json" | sed -E 's/.*"seconds":([0-9.]+).*/\1/')
    ccpu=$(awk '{print $1 + $2}' "$WORK/time")
    gib=$(awk -v b="$BYTES" 'BEGIN { print b / 1073741824 }')
    row "ferry udp $dir, $mode (run $run)" "$(gbps "$BYTES" "$secs")" "$secs" \
      "$(awk -v c="$ccpu" -v g="$gib" 'BEGIN { printf "%.2f", c / g }')" \
      "$(awk -v a="$s0" -v b="$s1" -v g="$gib" 'BEGIN { printf "%.2f", (b - a) / g }')"
    if [ "$dir" = download ]; then cmp -s "$WORK/src.bin" "$WORK/copy.bin" || { echo "MISMATCH after download" >&2; exit 1; }; fi
  done
 done
done
cmp -s "$WORK/src.bin" "$WORK/root/up.bin" || { echo "MISMATCH after upload" >&2; exit 1; }

if command -v iperf3 >/dev/null; then
  iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >/dev/null 2>&1 &
  IPERF_PID=$!
  sleep 0.5
  # UDP at unlimited rate with ferry's datagram size: what the kernel path can carry, receiver-side.
  u=$(iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -u -b 0 -l "$DGRAM" -t 5 -J | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)["end"]["sum"]; print("%.2f %.1f" % (d["bits_per_second"]/1e9, d.get("lost_percent",0)))')
  row "iperf3 -u -l $DGRAM -b 0 (receiver, lost ${u#* }%)" "${u% *}" 5 "-" "-"
  t=$(iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -t 5 -J | /usr/bin/python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))')
  row "iperf3 TCP (1 stream)" "$t" 5 "-" "-"
fi
echo
echo "file: $BYTES bytes; host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
