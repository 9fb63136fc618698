#!/usr/bin/env bash
# The WAN matrix: on each emulated link, ferry udp:// upload and download of a file (default 256 MiB,
# /dev/shm to /dev/shm, SHA-256 verified by ferry and compared with cmp) beside iperf3 TCP with -C bbr and
# -C cubic, in the same run; plus ferry's retransmitted-bytes ratio and the time to reach 90% of the link rate.
# Then a fairness run on 100M/25ms/1%: two ferry uploads at once, and one ferry upload next to iperf3 -C bbr.
# Writes a markdown table to stdout and bench/results/wan-matrix-<date>.md. Needs root (bench/wan.sh).
#
# Usage: bench/wan-matrix.sh [--quick] [--size MIB] [--links N,N,...] [--no-fairness | --fairness-only] [--seed N]
#          [--timeout S] [--no-build] [--loss-before-queue] [-- extra ferry send/get options, e.g. --cc newreno]
#   --quick         32 MiB files, shorter iperf3 runs and fairness windows: a smoke run of a few minutes
#   --links 1,3     run only these rows of the matrix (1-based)
#   --loss-before-queue  lose packets before the bottleneck, as netem does (its loss is applied at enqueue, ahead of its
#                   rate limit): lost packets then use no link time and the ceiling is the same at every loss rate.
#                   Default: on the wire after the bottleneck (lost packets used link time; a stricter ceiling).
#
# Definitions (printed under the table too):
#   goodput         file bytes / wall time of the whole `ferry send|get` command (process start to exit)
#   iperf3          receiver-side rate of one TCP flow for T seconds, T = ferry's upload time clamped to [10, 60]
#                   (--quick: [5, 20])
#   retrans         ferry's data_bytes_retransmitted / file bytes (upload: client's done event; download: server log)
#   excess          retrans minus the data bytes the link dropped (emulator's lost + queue-dropped bytes, scaled
#                   from IP bytes to DATA bytes): bytes sent again that had not been lost
#   to 90%          from the first packet of the transfer entering the link to the end of the first 100 ms
#                   interval in which the link delivered >= 90% of its rate (IP bytes, emulator counters)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ARGS="$*"

# rate delay loss queue
ALL_LINKS=("100M 25ms 0% 1000" "100M 25ms 1% 1000" "100M 25ms 5% 1000" "100M 100ms 1% 2000" "100M 25ms 10% 1000" "500M 5ms 0.5% 2000")
FAIR_LINK="100M 25ms 1% 1000"
QUICK=0
SIZE_MIB=256
SELECT=""
FAIRNESS=1
MATRIX=1
SEED=1
TIMEOUT=600
BUILD=1
LOSS_PLACEMENT=()
FERRY_OPTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; SIZE_MIB=32 ;;
    --size) SIZE_MIB=$2; shift ;;
    --links) SELECT=$2; shift ;;
    --no-fairness) FAIRNESS=0 ;;
    --fairness-only) MATRIX=0 ;;
    --seed) SEED=$2; shift ;;
    --timeout) TIMEOUT=$2; shift ;;
    --no-build) BUILD=0 ;;
    --loss-before-queue) LOSS_PLACEMENT=(--loss-before-queue); export WAN_LOSS_BEFORE_QUEUE=1 ;;
    --) shift; FERRY_OPTS=("$@"); break ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || { echo "wan-matrix.sh: needs root (network namespaces)" >&2; exit 1; }
command -v iperf3 >/dev/null || { apt-get update -qq && apt-get install -y -qq iperf3 >/dev/null; }
if [ "$QUICK" = 1 ]; then TMIN=5; TMAX=20; FAIR_T=8; else TMIN=10; TMAX=60; FAIR_T=20; fi

export FERRY_WAN_NAME=${FERRY_WAN_NAME:-ferrymx}
WAN=bench/wan.sh
OUT=bench/out
FERRY=$ROOT/$OUT/ferry
B=10.77.0.2
PORT=7700
WORK=/dev/shm/ferry-wan-matrix.$$
SERVER_PID=""

cleanup() {
  set +e
  "$WAN" down >/dev/null 2>&1
  [ -n "${FERRY_MATRIX_KEEP:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The commit the binary is built from (the report is written at the end, when HEAD may have moved on).
COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src modified)')"
if [ "$BUILD" = 1 ]; then
  dotnet publish src/Ferry.Cli -c Release -o "$OUT" -nologo -v q >/dev/null
fi
[ -x "$FERRY" ] || { echo "wan-matrix.sh: $FERRY missing (build it or drop --no-build)" >&2; exit 1; }

mkdir -p "$WORK"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/src.bin"
BYTES=$(stat -c %s "$WORK/src.bin")
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
now_ms() { date +%s%3N; }
# Prefixes each line with the wall-clock time it arrived (ms), to line progress events up with other flows.
stamp() { python3 -u -c 'import sys, time
for l in sys.stdin: print(int(time.time() * 1000), l, end="", flush=True)'; }

start_server() { # DIR
  mkdir -p "$1/root"
  # Every server here has a fresh key: its clients pin it in a known_hosts of their own, never ~/.config/ferry.
  export FERRY_CONFIG_DIR="$1/config"
  "$WAN" exec B "$FERRY" serve --root "$1/root" --state-dir "$1/state" --bind "$B" --port "$PORT" \
    --tcp-port -1 --zmq-port -1 --relay-port -1 --allow-overwrite >"$1/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do grep -qs listening "$1/server.log" && return 0; sleep 0.1; done
  echo "ferry serve did not start:" >&2; cat "$1/server.log" >&2; return 1
}

# Runs a ferry command in A and records "start_ms end_ms exit_code" in $2.time, its stdout in $2.json.
timed_ferry() { # PREFIX ARGS...
  local p=$1; shift
  local t0 rc=0
  t0=$(now_ms)
  timeout "$TIMEOUT" "$WAN" exec A "$FERRY" "$@" --json "${FERRY_OPTS[@]}" >"$p.json" 2>"$p.err" || rc=$?
  echo "$t0 $(now_ms) $rc" >"$p.time"
}

iperf() { # PREFIX CC SECONDS
  local t0 rc=0
  t0=$(now_ms)
  "$WAN" exec A iperf3 -c "$B" -p 5201 -C "$2" -t "$3" -J >"$1.json" 2>"$1.err" || rc=$?
  echo "$t0 $(now_ms) $rc" >"$1.time"
}

link_up() { # RATE DELAY LOSS QUEUE
  "$WAN" up --rate "$1" --delay "$2" --loss "$3" --queue "$4" --seed "$SEED" "${LOSS_PLACEMENT[@]}" --json --stats-interval 0.1 >/dev/null
  "$WAN" exec B iperf3 -s -B "$B" -p 5201 -D
}

link_down() { # DIR
  "$WAN" log >"$1/emu.log"
  "$WAN" down >>"$1/emu.log"   # down prints the emulator's final counters
  SERVER_PID=""
}

echo "# matrix: $SIZE_MIB MiB files, seed $SEED, load average before: $LOAD_BEFORE" >&2
i=0
if [ "$MATRIX" = 1 ]; then
  for link in "${ALL_LINKS[@]}"; do
    i=$((i + 1))
    if [ -n "$SELECT" ] && ! [[ ",$SELECT," == *",$i,"* ]]; then continue; fi
    read -r rate delay loss queue <<<"$link"
    d=$WORK/L$i
    mkdir -p "$d"
    echo "$rate $delay $loss $queue" >"$d/link"
    echo "# link $i: $rate / $delay / $loss / $queue" >&2
    link_up "$rate" "$delay" "$loss" "$queue"
    start_server "$d"
    cp "$WORK/src.bin" "$d/root/dl.bin"
    timed_ferry "$d/up" send "$WORK/src.bin" "udp://$B:$PORT/up.bin"
    cmp -s "$WORK/src.bin" "$d/root/up.bin" && echo ok >"$d/up.cmp" || echo MISMATCH >"$d/up.cmp"
    timed_ferry "$d/down" get "udp://$B:$PORT/dl.bin" "$d/down.bin" --overwrite
    cmp -s "$WORK/src.bin" "$d/down.bin" && echo ok >"$d/down.cmp" || echo MISMATCH >"$d/down.cmp"
    rm -f "$d/down.bin" "$d/root/up.bin" "$d/root/dl.bin"
    read -r t0 t1 _ <"$d/up.time"
    T=$(( (t1 - t0 + 999) / 1000 )); [ "$T" -lt "$TMIN" ] && T=$TMIN; [ "$T" -gt "$TMAX" ] && T=$TMAX
    iperf "$d/bbr" bbr "$T"
    iperf "$d/cubic" cubic "$T"
    link_down "$d"
  done
fi

if [ "$FAIRNESS" = 1 ]; then
  read -r rate delay loss queue <<<"$FAIR_LINK"
  d=$WORK/fair
  mkdir -p "$d"
  echo "$rate $delay $loss $queue" >"$d/link"
  echo "# fairness: $FAIR_LINK" >&2
  link_up "$rate" "$delay" "$loss" "$queue"
  start_server "$d"
  # Two ferry uploads started together; their shares are measured while both run.
  TWO=()
  for n in 1 2; do
    ( t0=$(now_ms); rc=0
      timeout "$TIMEOUT" "$WAN" exec A "$FERRY" send "$WORK/src.bin" "udp://$B:$PORT/two$n.bin" --json "${FERRY_OPTS[@]}" 2>"$d/two$n.err" | stamp >"$d/two$n.stamped" || rc=$?
      echo "$t0 $(now_ms) $rc" >"$d/two$n.time" ) &
    TWO+=($!)
  done
  wait "${TWO[@]}"   # not a bare wait: the server is a background job too
  rm -f "$d/root/two"*.bin
  # One ferry upload, then an iperf3 BBR flow started once ferry is moving data; ferry is stopped after it.
  t0=$(now_ms)
  "$WAN" exec A "$FERRY" send "$WORK/src.bin" "udp://$B:$PORT/mix.bin" --json "${FERRY_OPTS[@]}" 2>"$d/mix.err" > >(stamp >"$d/mix.stamped") &
  MIX_PID=$!
  for _ in $(seq 100); do grep -q '"progress"' "$d/mix.stamped" 2>/dev/null && break; sleep 0.1; done
  sleep 2
  iperf "$d/bbr" bbr "$FAIR_T"
  kill -INT "$MIX_PID" 2>/dev/null || true
  rc=0; wait "$MIX_PID" || rc=$?
  echo "$t0 $(now_ms) $rc" >"$d/mix.time"
  link_down "$d"
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p bench/results
REPORT=bench/results/wan-matrix-$(date +%Y-%m-%d-%H%M).md
{
  echo "## WAN matrix, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Commit $COMMIT$([ "$BUILD" = 1 ] || echo ' (--no-build: the binary may be older)'), $SIZE_MIB MiB file, seed $SEED," \
    "ferry options: ${FERRY_OPTS[*]:-(defaults)}; host: $(nproc) cores, load average $LOAD_BEFORE before, $LOAD_AFTER after."
  echo "Command: \`bench/wan-matrix.sh $ARGS\`"
  echo
  python3 bench/wan_matrix_report.py "$WORK" "$BYTES"
} | tee "$REPORT"
echo "written: $REPORT" >&2
