#!/usr/bin/env bash
# Upload goodput of zmq:// on loopback: SIZE_MB (default 1024) from /dev/shm to /dev/shm with the real
# `ferry serve` and `ferry send`, published in Release. Run by hand: bench/zmq-bench.sh [SIZE_MB] [RUNS] [MODES]
# MODES (default "curve plain"): curve = encrypted (the default server and client), plain = both with --insecure.
# Two servers run at once (the plain one with --insecure) and the modes alternate run by run, so a load change on
# a shared machine hits both alike. Prints one line per run (with the load average) and a summary per mode;
# set CHUNK=bytes to change --chunk-size (default 1 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
RUNS=${2:-3}
MODES=${3:-curve plain}
CHUNK=${CHUNK:-1048576}
PORT=${PORT:-17712}

if [ -z "$(ldconfig -p | grep 'libzmq.so.5 ' || true)" ]; then
  echo "zmq-bench: libzmq.so.5 not found: install the Debian package libzmq5 (sudo apt-get install libzmq5)" >&2
  exit 1
fi

work=$(mktemp -d /dev/shm/ferry-zmq-bench.XXXXXX)
export FERRY_CONFIG_DIR="$work/config"   # known_hosts of this bench only
declare -A server_pid port key
cleanup() {
  for pid in "${server_pid[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "zmq-bench: publishing ferry (Release)..."
dotnet publish src/Ferry.Cli -c Release -o "$work/bin" --nologo -v q >/dev/null
head -c $((SIZE_MB << 20)) /dev/urandom > "$work/src.bin"
want=$(sha256sum "$work/src.bin" | cut -d' ' -f1)

offset=0
for mode in $MODES; do
  port[$mode]=$((PORT + offset)); offset=$((offset + 1))
  extra=(); [ "$mode" = plain ] && extra=(--insecure)
  "$work/bin/ferry" serve --root "$work/root-$mode" --state-dir "$work/state-$mode" --bind 127.0.0.1 \
    --port -1 --tcp-port -1 --relay-port -1 --zmq-port "${port[$mode]}" --allow-overwrite "${extra[@]}" 2>"$work/serve-$mode.log" &
  server_pid[$mode]=$!
  for _ in $(seq 100); do grep -q "zmq.*listening" "$work/serve-$mode.log" 2>/dev/null && break; sleep 0.1; done
  grep -q "zmq.*listening" "$work/serve-$mode.log" || { echo "zmq-bench: $mode server did not start:"; cat "$work/serve-$mode.log"; exit 1; }
  key[$mode]=$(sed -nE 's/.*zmq CURVE key ([^ ]+) .*/\1/p' "$work/serve-$mode.log" | head -1)
  if [ "$mode" = curve ] && [ -z "${key[$mode]}" ]; then echo "zmq-bench: the server printed no CURVE key:"; cat "$work/serve-$mode.log"; exit 1; fi
done

cpu_of() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }   # utime+stime in seconds (USER_HZ=100)
faults_of() { awk '{print $10}' "/proc/$1/stat"; }               # minor page faults so far
gib=$(awk -v m="$SIZE_MB" 'BEGIN { print m / 1024 }')
declare -A results
for run in $(seq "$RUNS"); do
for mode in $MODES; do
  pid=${server_pid[$mode]}
  if [ "$mode" = plain ]; then sec=(--insecure); else sec=(--server-key "${key[$mode]}"); fi
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  s0=$(cpu_of "$pid"); f0=$(faults_of "$pid")
  /usr/bin/time -f "%U %S %M %R" -o "$work/time" "$work/bin/ferry" send "$work/src.bin" "zmq://127.0.0.1:${port[$mode]}/bench.bin" \
    --json --chunk-size "$CHUNK" "${sec[@]}" > "$work/out.json" 2>"$work/err"
  s1=$(cpu_of "$pid"); f1=$(faults_of "$pid")
  cflt=$(awk -v g="$gib" '{ printf "%.0f", $4 / g / 1000 }' "$work/time")
  sflt=$(awk -v a="$f0" -v b="$f1" -v g="$gib" 'BEGIN { printf "%.0f", (b - a) / g / 1000 }')
  out=$(tail -1 "$work/out.json")
  ccpu=$(awk -v g="$gib" '{ printf "%.2f", ($1 + $2) / g }' "$work/time")
  crss=$(awk '{ printf "%.0f", $3 / 1024 }' "$work/time")
  scpu=$(awk -v a="$s0" -v b="$s1" -v g="$gib" 'BEGIN { printf "%.2f", (b - a) / g }')
  secs=$(echo "$out" | sed -E 's/.*"seconds":([0-9.]+).*/\1/')
  got=$(echo "$out" | sed -E 's/.*"sha256":"([0-9a-f]+)".*/\1/')
  [ "$got" = "$want" ] || { echo "zmq-bench: sha256 mismatch: $out"; cat "$work/err"; exit 1; }
  cmp -s "$work/src.bin" "$work/root-$mode/bench.bin" || { echo "zmq-bench: stored file differs"; exit 1; }
  mbit=$(awk -v b=$((SIZE_MB << 20)) -v s="$secs" 'BEGIN { printf "%.0f", b * 8 / s / 1e6 }')
  echo "run $run $mode: ${SIZE_MB} MiB in ${secs} s = ${mbit} Mbit/s goodput (chunk $CHUNK); CPU s/GiB client ${ccpu}, server ${scpu}; client peak RSS ${crss} MB; minor faults/GiB (thousands) client ${cflt}, server ${sflt}; load average $load"
  results[$mode]="${results[$mode]:-} $mbit"
  rm -f "$work/root-$mode/bench.bin"
done
done
for mode in $MODES; do
  srss=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/${server_pid[$mode]}/status")
  stats=$(echo ${results[$mode]} | tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { printf "best %d, median %d", a[NR], (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }')
  echo "zmq:// $mode upload ${SIZE_MB} MiB /dev/shm -> /dev/shm on 127.0.0.1: $stats Mbit/s over $RUNS runs (${results[$mode]# }); server peak RSS ${srss} MB"
done
if [[ " $MODES " == *" curve "* && " $MODES " == *" plain "* ]]; then
  echo "${results[curve]}|${results[plain]}" | awk -F'|' '{ n = split($1, c, " "); split($2, p, " "); sc = 0; sp = 0; for (i = 1; i <= n; i++) { sc += c[i]; sp += p[i] } printf "curve / plain (mean of %d runs each): %.0f%%\n", n, 100 * sc / sp }'
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
