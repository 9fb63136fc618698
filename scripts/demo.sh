#!/usr/bin/env bash
# Builds ferry and runs its main job on embedded defaults: a server over a fresh root, then an upload and a
# download of a 64 MiB file through each transfer protocol, each verified byte for byte.
# Everything happens on 127.0.0.1 in a temporary directory that is removed at the end.
# Usage: scripts/demo.sh [SIZE_MIB=64]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-64}
OUT=${FERRY_OUT:-out}
echo "== building ferry (Release) into $OUT/"
dotnet publish src/Ferry.Cli -c Release -o "$OUT" --nologo -v quiet >/dev/null
case "$OUT" in /*) FERRY="$OUT/ferry" ;; *) FERRY="$PWD/$OUT/ferry" ;; esac

WORK=$(mktemp -d /tmp/ferry-demo.XXXXXX)
# The demo's server key is new every run: pin it in the demo's own known_hosts, never the user's.
export FERRY_CONFIG_DIR="$WORK/config"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
# The server's key is new every run: pin it in a known_hosts of this run, not in ~/.config/ferry.
export FERRY_CONFIG_DIR="$WORK/config"

# Ports on 127.0.0.1 picked away from the defaults so a running ferry server is not disturbed.
BASE=${FERRY_DEMO_PORT:-27700}
echo "== ferry serve --root $WORK/data (udp $BASE, tcp $((BASE+1)), zmq $((BASE+2)), relay $((BASE+3)), tftp $((BASE+9)))"
"$FERRY" serve --root "$WORK/data" --state-dir "$WORK/state" --bind 127.0.0.1 \
  --port "$BASE" --tcp-port $((BASE+1)) --zmq-port $((BASE+2)) --relay-port $((BASE+3)) --tftp-port $((BASE+9)) --tftp-allow-write \
  2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do grep -q "listening" "$WORK/server.log" 2>/dev/null && break; sleep 0.1; done
sleep 0.3
sed 's/^/   server: /' "$WORK/server.log"
if ! kill -0 "$SERVER_PID" 2>/dev/null || ! grep -q "listening" "$WORK/server.log"; then
  echo "== demo FAILED: the server did not start"; SERVER_PID=""; exit 1
fi

head -c $((SIZE_MIB << 20)) /dev/urandom > "$WORK/sample.bin"
echo "== sample file: $SIZE_MIB MiB, sha256 $(sha256sum "$WORK/sample.bin" | cut -c1-16)..."

status=0
ran=0
try() {
  local scheme=$1 port=$2
  if ! grep -q "^.\{24\} *$scheme .*listening" "$WORK/server.log" && ! grep -q " $scheme \+listening" "$WORK/server.log"; then
    echo "-- $scheme://: not served by this build, skipped"; return
  fi
  ran=$((ran + 1))
  local url="$scheme://127.0.0.1:$port/demo/$scheme.bin"
  local extra=()
  if [ "$scheme" = zmq ]; then
    # zmq:// (CURVE) needs the server's CURVE key up front: the one `ferry serve` printed.
    local key; key=$(sed -nE 's/.*zmq CURVE key ([^ ]+) .*/\1/p' "$WORK/server.log" | head -1)
    if [ -n "$key" ]; then extra=(--server-key "$key"); else extra=(--insecure); fi
  fi
  echo "-- ferry send sample.bin $url ${extra[*]}"
  if "$FERRY" send "$WORK/sample.bin" "$url" "${extra[@]}"; then :; else echo "   send failed (exit $?)"; status=1; return; fi
  if [ "$scheme" = zmq ]; then
    cmp -s "$WORK/sample.bin" "$WORK/data/demo/$scheme.bin" && echo "   stored copy identical" || { echo "   MISMATCH"; status=1; }
    return
  fi
  echo "-- ferry get $url copy.bin"
  if "$FERRY" get "$url" "$WORK/copy-$scheme.bin"; then :; else echo "   get failed (exit $?)"; status=1; return; fi
  cmp -s "$WORK/sample.bin" "$WORK/copy-$scheme.bin" && echo "   copy identical" || { echo "   MISMATCH"; status=1; }
}
try udp "$BASE"
try tcp $((BASE+1))
try zmq $((BASE+2))
try tftp $((BASE+9))
[ $ran -gt 0 ] || status=1
[ $status = 0 ] && echo "== demo OK ($ran protocols)" || echo "== demo FAILED"
exit $status
