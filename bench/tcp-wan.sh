#!/usr/bin/env bash
# tcp:// across the emulated WAN (bench/wan.sh): does splitting a file over N TCP connections beat one connection
# on a lossy long link? The target row: 100 Mbit/s, 25 ms one-way delay (50 ms RTT), 1% random loss, queue 1000,
# the kernel's Cubic on both hosts; 8 streams must reach >= 5x the goodput of 1 stream.
#
# Usage: bench/tcp-wan.sh [--streams "1 8"] [--size-per-stream MIB] [--runs N] [--dirs "get send"] [--iperf]
#                         [--rate 100M] [--delay 25ms] [--loss 1%] [--queue 1000] [--seed N] [--no-build]
#   --size-per-stream  file size = this x streams (default 12 MiB: 12 MiB for 1 stream, 96 MiB for 8), so every
#                      run moves about the same bytes per connection and stays near a minute on the default link
#   --runs N           each (streams, direction) N times (default 2); each run is one row
#   --iperf            also iperf3 -C cubic with -P 1 and -P 8 for 20 s each, as a reference without ferry
# Needs root. The server (ferry serve) runs in namespace B (10.77.0.2), the client in A (10.77.0.1); files live
# in /dev/shm. The link is always taken down on exit. Prints a markdown table (goodput = file bytes / wall time
# of the whole `ferry get|send` command, process start to exit, SHA-256 verified by ferry, compared with cmp).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

STREAMS="1 8"
PER_STREAM_MIB=12
RUNS=2
DIRS="get send"
IPERF=0
RATE=100M; DELAY=25ms; LOSS=1%; QUEUE=1000; SEED=1
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --streams) STREAMS=$2; shift ;;
    --size-per-stream) PER_STREAM_MIB=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --dirs) DIRS=$2; shift ;;
    --iperf) IPERF=1 ;;
    --rate) RATE=$2; shift ;;
    --delay) DELAY=$2; shift ;;
    --loss) LOSS=$2; shift ;;
    --queue) QUEUE=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --no-build) BUILD=0 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "tcp-wan.sh: needs root (network namespaces)" >&2; exit 1; }

# Our own link name: other benches (wan-matrix.sh, a hand-made link) may be up at the same time.
export FERRY_WAN_NAME=${FERRY_WAN_NAME:-ferrytcp}
WAN=bench/wan.sh
NS_A=$FERRY_WAN_NAME-a
NS_B=$FERRY_WAN_NAME-b
B=10.77.0.2
PORT=7701
WORK=$(mktemp -d /dev/shm/ferry-tcp-wan.XXXXXX)
export FERRY_CONFIG_DIR="$WORK/config"   # the bench server's fresh key is pinned here, not in ~/.config/ferry
SERVER_PID=""
ALLOWED_CC_SAVED=""
cleanup() {
  if [ -n "$ALLOWED_CC_SAVED" ]; then sysctl -qw net.ipv4.tcp_allowed_congestion_control="$ALLOWED_CC_SAVED" || true; fi
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  "$WAN" down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$BUILD" = 1 ]; then
  echo "building ferry (Release)..." >&2
  dotnet publish src/Ferry.Cli -c Release -o "$WORK/bin" -nologo -v q >/dev/null
  FERRY=$WORK/bin/ferry
else
  FERRY=${FERRY:-$ROOT/bench/out/ferry}
fi
[ -x "$FERRY" ] || { echo "tcp-wan.sh: $FERRY missing" >&2; exit 1; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
"$WAN" up --rate "$RATE" --delay "$DELAY" --loss "$LOSS" --queue "$QUEUE" --seed "$SEED" >&2
# A namespace other than the host's may only pick an algorithm from the host's allowed list as its default
# (kernel rule); add cubic to that list for the run (restored on exit: it only lets unprivileged sockets choose it).
ALLOWED=$(sysctl -n net.ipv4.tcp_allowed_congestion_control)
if ! grep -qw cubic <<<"$ALLOWED"; then
  ALLOWED_CC_SAVED=$ALLOWED
  sysctl -qw net.ipv4.tcp_allowed_congestion_control="$ALLOWED cubic"
fi
for ns in "$NS_A" "$NS_B"; do
  # New namespaces inherit the root namespace's congestion control (bbr on this host): force Cubic, and keep no
  # per-destination metrics so one run's ssthresh does not carry over into the next connection.
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_congestion_control=cubic net.ipv4.tcp_no_metrics_save=1
done
CC_A=$(ip netns exec "$NS_A" sysctl -n net.ipv4.tcp_congestion_control)
CC_B=$(ip netns exec "$NS_B" sysctl -n net.ipv4.tcp_congestion_control)

mkdir -p "$WORK/root" "$WORK/state" "$WORK/dl"
"$WAN" exec B "$FERRY" serve --root "$WORK/root" --state-dir "$WORK/state" --bind "$B" --tcp-port "$PORT" \
  --port -1 --zmq-port -1 --relay-port -1 --allow-overwrite >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do grep -qs "tcp.*$PORT\|listening" "$WORK/server.log" && ip netns exec "$NS_B" ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.1; done
ip netns exec "$NS_B" ss -Hltn "sport = :$PORT" | grep -q . || { echo "ferry serve did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }

ROWS=()
declare -A BASE   # direction -> mean goodput of the first --streams value
for dir in $DIRS; do
  for s in $STREAMS; do
    mib=$((PER_STREAM_MIB * s))
    src=$WORK/src-$s.bin
    [ -f "$src" ] || head -c "${mib}M" /dev/urandom >"$src"
    sum=0
    for run in $(seq "$RUNS"); do
      if [ "$dir" = get ]; then
        cp "$src" "$WORK/root/f$s.bin"
        cmd=(get "tcp://$B:$PORT/f$s.bin" "$WORK/dl/f.bin" --streams "$s" --overwrite --json)
        out=$WORK/dl/f.bin
      else
        rm -f "$WORK/root/up$s.bin"
        cmd=(send "$src" "tcp://$B:$PORT/up$s.bin" --streams "$s" --json)
        out=$WORK/root/up$s.bin
      fi
      t0=$(date +%s%N)
      rc=0
      timeout 600 "$WAN" exec A "$FERRY" "${cmd[@]}" >"$WORK/run.json" 2>"$WORK/run.err" || rc=$?
      t1=$(date +%s%N)
      if [ "$rc" != 0 ]; then echo "ferry $dir --streams $s failed (exit $rc):" >&2; cat "$WORK/run.err" >&2; exit 1; fi
      cmp -s "$src" "$out" || { echo "WRONG CONTENT after $dir --streams $s" >&2; exit 1; }
      rm -f "$out" "$WORK/root/f$s.bin"
      secs=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')
      mbps=$(awk -v b=$((mib * 1048576)) -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", b * 8 / (d / 1e9) / 1e6 }')
      lost=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: e=json.loads(l)
    except ValueError: continue
    if e.get("event")=="done": print(e.get("streams_lost",0), e.get("reconnects",0)); break
else: print("- -")' "$WORK/run.json")
      sum=$(awk -v a="$sum" -v b="$mbps" 'BEGIN { print a + b }')
      echo "  $dir --streams $s run $run: $mib MiB in $secs s = $mbps Mbit/s (streams lost, reconnects: $lost)" >&2
      ROWS+=("$dir|$s|$run|$mib|$secs|$mbps")
    done
    mean=$(awk -v a="$sum" -v n="$RUNS" 'BEGIN { printf "%.2f", a / n }')
    [ -n "${BASE[$dir]:-}" ] || BASE[$dir]=$mean
    ROWS+=("$dir|$s|mean|$mib||$mean")
  done
done

IPERF_ROWS=()
if [ "$IPERF" = 1 ]; then
  command -v iperf3 >/dev/null || { apt-get update -qq && apt-get install -y -qq iperf3 >/dev/null; }
  for p in 1 8; do
    ip netns exec "$NS_B" iperf3 -s -1 -B "$B" -p 5201 >/dev/null 2>&1 &
    ipid=$!
    for _ in $(seq 100); do ip netns exec "$NS_B" ss -Hltn "sport = :5201" | grep -q . && break; sleep 0.05; done
    bps=$(ip netns exec "$NS_A" iperf3 -c "$B" -p 5201 -C cubic -P "$p" -t 20 -J | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))')
    wait "$ipid" 2>/dev/null || true
    echo "  iperf3 -C cubic -P $p: $bps Mbit/s" >&2
    IPERF_ROWS+=("| iperf3 -C cubic -P $p, 20 s (reference) | upload | $p | - | - | 20 | $bps | - |")
  done
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "tcp:// over the emulated WAN: $RATE, $DELAY one-way delay, $LOSS loss, queue $QUEUE, seed $SEED;"
echo "congestion control $CC_A (client) / $CC_B (server); $(nproc) cores, load average $LOAD_BEFORE before, $LOAD_AFTER after."
echo
echo "| what | direction | streams | run | MiB | seconds | goodput (Mbit/s) | vs 1st streams value |"
echo "|---|---|---|---|---|---|---|---|"
for r in "${ROWS[@]}"; do
  IFS='|' read -r dir s run mib secs mbps <<<"$r"
  what="ferry tcp://"
  ratio=""
  if [ "$run" = mean ]; then what="**ferry tcp://, mean**"; ratio=$(awk -v m="$mbps" -v b="${BASE[$dir]}" 'BEGIN { printf "%.1fx", m / b }'); mbps="**$mbps**"; run="-"; fi
  echo "| $what | $([ "$dir" = get ] && echo download || echo upload) | $s | $run | $mib | ${secs:--} | $mbps | ${ratio:-} |"
done
printf '%s\n' "${IPERF_ROWS[@]}"
