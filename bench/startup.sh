#!/usr/bin/env bash
# Startup cost of the udp:// client: how long after exec the first datagram leaves, and the whole command's time.
# N runs each for send/get x encrypted/--insecure, interleaved:
#  1. strace: `ferry send|get udp://127.0.0.1:SINK/...`, first sendmmsg/sendmsg/sendto timestamp minus the execve
#     timestamp. strace slows every syscall (and -f follows every thread), so these figures are higher than the
#     real ones; compare them with each other.
#  2. sink (no strace): the same command against a small python UDP socket that stamps each datagram's arrival
#     (time.time_ns); the figure is the first arrival minus `date +%s%N` taken just before exec (so it includes
#     one fork of date, ~1 ms). Nothing answers there: only the first datagram counts.
#  3. wall (no strace): date +%s%N around a whole 1-byte send and get against a local `ferry serve`.
# Usage: bench/startup.sh [RUNS=21]   (FERRY_OUT=DIR: use the ferry built in DIR, no publish)
# Prints median/min/max in milliseconds and the load average. Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-21}
PORT=${FERRY_BENCH_PORT:-17890}
DEAD=$((PORT + 1))   # only the arrival-stamping sink listens here
OUT=${FERRY_OUT:-bench/out}
WORK=$(mktemp -d /tmp/ferry-startup.XXXXXX)
cleanup() {
  [ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
export FERRY_CONFIG_DIR="$WORK/config"   # the bench server's key is pinned here, not in ~/.config/ferry
command -v strace >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq strace >/dev/null; } || true
[ -n "${FERRY_OUT:-}" ] || dotnet publish src/Ferry.Cli -c Release -o "$OUT" >/dev/null   # FERRY_OUT: a ferry already built there
FERRY="$OUT/ferry"
mkdir -p "$WORK/root" "$WORK/shm"
printf x > "$WORK/one.bin"; printf x > "$WORK/root/one.bin"

"$FERRY" serve --root "$WORK/root" --state-dir "$WORK/state" --port "$PORT" --tcp-port -1 --zmq-port -1 --relay-port -1 --insecure 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 50); do grep -q "listening" "$WORK/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q "listening" "$WORK/server.log" || { echo "ferry serve did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; }
# Pin the server's key (the encrypted runs then take the "key already known" path), also for the dead port.
"$FERRY" get "udp://127.0.0.1:$PORT/one.bin" "$WORK/warm" --quiet --overwrite 2>/dev/null
pin=$(sed -n "s/^127.0.0.1:$PORT /127.0.0.1:$DEAD /p" "$FERRY_CONFIG_DIR/known_hosts")
echo "$pin" >> "$FERRY_CONFIG_DIR/known_hosts"

# $1 kind (send|get), $2 mode, $3 port -> the command line
command_for() {
  local extra=(); [ "$2" = insecure ] && extra=(--insecure)
  if [ "$1" = send ]; then
    CMD=("$FERRY" send "$WORK/one.bin" "udp://127.0.0.1:$3/up.bin" --json "${extra[@]}")
  else
    CMD=("$FERRY" get "udp://127.0.0.1:$3/one.bin" "$WORK/got.bin" --overwrite --json "${extra[@]}")
  fi
}

have_strace=0; command -v strace >/dev/null && have_strace=1
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
out = open(sys.argv[2], "a", buffering=1)
while True:
    s.recvfrom(65536)
    out.write("%d\n" % time.time_ns())
' "$DEAD" "$WORK/arrivals" &
SINK_PID=$!
sleep 0.3
for i in $(seq "$RUNS"); do
  for kind in send get; do
    for mode in encrypted insecure; do
      if [ "$have_strace" = 1 ]; then
        command_for "$kind" "$mode" "$DEAD"
        strace -f -ttt -e trace=execve,sendmmsg,sendmsg,sendto -o "$WORK/st.txt" "${CMD[@]}" --timeout 0.2 >/dev/null 2>&1 || true
        awk -v k="strace $kind $mode" '
          /execve\(/ && !e { e = $2 }
          /(sendmmsg|sendmsg|sendto)\(/ && !s && $0 !~ /AF_UNIX|NETLINK/ { s = $2 }
          END { if (e && s) printf "%s %.1f\n", k, (s - e) * 1000 }' "$WORK/st.txt" >> "$WORK/times"
      fi
      : > "$WORK/arrivals"
      s=$(date +%s%N)
      "${CMD[@]}" --timeout 0.05 >/dev/null 2>&1 || true
      a=$(head -1 "$WORK/arrivals")
      [ -n "$a" ] && echo "sink $kind $mode $(( (a - s) / 100000 ))" | awk '{printf "%s %s %s %.1f\n", $1, $2, $3, $4 / 10}' >> "$WORK/times"
      command_for "$kind" "$mode" "$PORT"
      rm -f "$WORK/root/up.bin"
      s=$(date +%s%N)
      "${CMD[@]}" >/dev/null
      e=$(date +%s%N)
      echo "wall $kind $mode $(( (e - s) / 100000 ))" | awk '{printf "%s %s %s %.1f\n", $1, $2, $3, $4 / 10}' >> "$WORK/times"
    done
  done
done

echo "| measurement | median ms | min ms | max ms | runs |"
echo "|---|---|---|---|---|"
for what in strace sink wall; do
  for kind in send get; do
    for mode in encrypted insecure; do
      grep "^$what $kind $mode " "$WORK/times" | awk '{print $4}' | sort -n | awk -v w="$what $kind $mode" '
        {a[NR]=$1} END { if (NR) printf "| %s | %.1f | %.1f | %.1f | %d |\n", w, (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2), a[1], a[NR], NR }'
    done
  done
done
echo
echo "strace: exec -> first datagram (slowed by strace itself); sink: exec -> first datagram's arrival, no strace;"
echo "wall: whole command, 1-byte transfer against ferry serve on 127.0.0.1 (no strace)."
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
