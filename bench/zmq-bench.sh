#!/usr/bin/env bash
# Upload goodput of zmq:// on loopback: SIZE_MB (default 1024) from /dev/shm to /dev/shm with the real
# `ferry serve` and `ferry send`, published in Release. Run by hand: bench/zmq-bench.sh [SIZE_MB] [RUNS]
# Prints one line per run and the best; set CHUNK=bytes to change --chunk-size (default 1 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
RUNS=${2:-3}
CHUNK=${CHUNK:-1048576}
PORT=${PORT:-17712}

if [ -z "$(ldconfig -p | grep 'libzmq.so.5 ' || true)" ]; then
  echo "zmq-bench: libzmq.so.5 not found: install the Debian package libzmq5 (sudo apt-get install libzmq5)" >&2
  exit 1
fi

work=$(mktemp -d /dev/shm/ferry-zmq-bench.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "zmq-bench: publishing ferry (Release)..."
dotnet publish src/Ferry.Cli -c Release -o "$work/bin" --nologo -v q >/dev/null
head -c $((SIZE_MB << 20)) /dev/urandom > "$work/src.bin"
want=$(sha256sum "$work/src.bin" | cut -d' ' -f1)

"$work/bin/ferry" serve --root "$work/root" --state-dir "$work/state" --bind 127.0.0.1 \
  --port -1 --tcp-port -1 --relay-port -1 --zmq-port "$PORT" --allow-overwrite 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 100); do grep -q "listening" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
grep -q "zmq.*listening" "$work/serve.log" || { echo "zmq-bench: server did not start:"; cat "$work/serve.log"; exit 1; }

cpu_of() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }   # utime+stime in seconds (USER_HZ=100)
gib=$(awk -v m="$SIZE_MB" 'BEGIN { print m / 1024 }')
best=0
for run in $(seq "$RUNS"); do
  s0=$(cpu_of "$server_pid")
  /usr/bin/time -f "%U %S %M" -o "$work/time" "$work/bin/ferry" send "$work/src.bin" "zmq://127.0.0.1:$PORT/bench.bin" \
    --json --chunk-size "$CHUNK" > "$work/out.json"
  s1=$(cpu_of "$server_pid")
  out=$(tail -1 "$work/out.json")
  ccpu=$(awk -v g="$gib" '{ printf "%.2f", ($1 + $2) / g }' "$work/time")
  crss=$(awk '{ printf "%.0f", $3 / 1024 }' "$work/time")
  scpu=$(awk -v a="$s0" -v b="$s1" -v g="$gib" 'BEGIN { printf "%.2f", (b - a) / g }')
  secs=$(echo "$out" | sed -E 's/.*"seconds":([0-9.]+).*/\1/')
  got=$(echo "$out" | sed -E 's/.*"sha256":"([0-9a-f]+)".*/\1/')
  [ "$got" = "$want" ] || { echo "zmq-bench: sha256 mismatch: $out"; exit 1; }
  cmp -s "$work/src.bin" "$work/root/bench.bin" || { echo "zmq-bench: stored file differs"; exit 1; }
  mbit=$(awk -v b=$((SIZE_MB << 20)) -v s="$secs" 'BEGIN { printf "%.0f", b * 8 / s / 1e6 }')
  echo "run $run: ${SIZE_MB} MiB in ${secs} s = ${mbit} Mbit/s goodput (chunk $CHUNK); CPU s/GiB client ${ccpu}, server ${scpu}; client peak RSS ${crss} MB"
  [ "$mbit" -gt "$best" ] && best=$mbit
  rm -f "$work/root/bench.bin"
done
srss=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status")
echo "zmq:// upload ${SIZE_MB} MiB /dev/shm -> /dev/shm on 127.0.0.1: best ${best} Mbit/s over $RUNS runs; server peak RSS ${srss} MB; load average $(cut -d' ' -f1 /proc/loadavg)"
