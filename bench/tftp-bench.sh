#!/usr/bin/env bash
# TFTP goodput on loopback, RFC 7440 table shape: blksize 1428, windowsize 1, 4, 16, 64.
# Servers: Ferry's TFTP listener and tftpd-hpa (in.tftpd), run in the same invocation.
# Clients: atftp (third-party, supports windowsize) and ferry's own client.
# tftpd-hpa 5.2 does not implement RFC 7440, so it answers every windowsize with lock-step (its OACK omits it).
#
# Usage: bench/tftp-bench.sh [size_MiB] (default 64). Needs atftp and tftpd-hpa (apt-get install atftp tftpd-hpa).
# Files live in /dev/shm so the disk does not bound the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MIB=${1:-64}
BLKSIZE=1428
WINDOWS=(1 4 16 64)
FERRY_PORT=${FERRY_PORT:-16990}
HPA_PORT=${HPA_PORT:-16991}

for tool in atftp in.tftpd; do
  command -v "$tool" >/dev/null || { echo "tftp-bench: '$tool' missing (apt-get install atftp tftpd-hpa)"; exit 2; }
done

work=$(mktemp -d /dev/shm/ferry-tftp-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "tftp-bench: building ferry (Release)..."
dotnet publish src/Ferry.Cli -c Release -o "$work/bin" --nologo -v quiet >/dev/null
FERRY="$work/bin/ferry"

mkdir -p "$work/root" "$work/state" "$work/out"
head -c $((SIZE_MIB << 20)) /dev/urandom > "$work/root/file.bin"
chmod 0755 "$work" "$work/root"; chmod 0644 "$work/root/file.bin"
want=$(sha256sum "$work/root/file.bin" | cut -d' ' -f1)

"$FERRY" serve --root "$work/root" --state-dir "$work/state" --bind 127.0.0.1 --port -1 --tcp-port -1 --zmq-port -1 --relay-port -1 \
  --tftp-port "$FERRY_PORT" 2>"$work/ferry.log" &
pids+=($!)
hpa_user=()
[ "$(id -u)" = 0 ] || hpa_user=(-u "$(id -un)")
in.tftpd -L -s "$work/root" --address "127.0.0.1:$HPA_PORT" "${hpa_user[@]}" &
pids+=($!)
sleep 1

# run <label> <command...>: prints seconds and MB/s (wall time of the client process, so ferry's ~0.3 s .NET
# start-up is included in its rows), checks the copy.
run() {
  local label=$1; shift
  rm -f "$work/out/copy.bin"
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$@" >"$work/stdout" 2>"$work/err"; then
    printf '%-34s failed: %s\n' "$label" "$(tail -1 "$work/err")"; return
  fi
  t1=$(date +%s.%N)
  local got
  got=$(sha256sum "$work/out/copy.bin" | cut -d' ' -f1)
  [ "$got" = "$want" ] || { printf '%-34s WRONG CONTENT\n' "$label"; return; }
  # ferry --json reports its own transfer time (without process start-up): shown in brackets.
  local own
  own=$(grep -o '"seconds":[0-9.]*' "$work/stdout" 2>/dev/null | tail -1 | cut -d: -f2 || true)
  awk -v l="$label" -v a="$t0" -v b="$t1" -v mib="$SIZE_MIB" -v own="$own" \
    'BEGIN { s = b - a; printf "%-34s %8.2f s %10.1f MB/s %10.1f Mbit/s", l, s, mib * 1048576 / s / 1e6, mib * 1048576 * 8 / s / 1e6;
             if (own != "") printf "   [transfer %.2f s, %.1f MB/s]", own, mib * 1048576 / own / 1e6; printf "\n" }'
}

# Warm-up (JIT of Ferry's server paths, page cache), not reported.
atftp --option "blksize $BLKSIZE" -g -r file.bin -l "$work/out/copy.bin" 127.0.0.1 "$FERRY_PORT" >/dev/null 2>&1 || true

echo "tftp-bench: ${SIZE_MIB} MiB file, blksize $BLKSIZE, loopback, $(nproc) cores"
printf '%-34s %10s %15s %17s\n' "server / client / windowsize" "time" "goodput" ""
for w in "${WINDOWS[@]}"; do
  for server in ferry:$FERRY_PORT tftpd-hpa:$HPA_PORT; do
    name=${server%%:*}; port=${server##*:}
    run "$name / atftp / ws $w" atftp --option "blksize $BLKSIZE" --option "windowsize $w" --option "tsize 0" \
      -g -r file.bin -l "$work/out/copy.bin" 127.0.0.1 "$port"
    run "$name / ferry / ws $w" "$FERRY" get "tftp://127.0.0.1:$port/file.bin" "$work/out/copy.bin" \
      --blksize "$BLKSIZE" --windowsize "$w" --json
  done
done
