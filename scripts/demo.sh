#!/usr/bin/env bash
# Builds ferry and shows its main jobs on embedded defaults: a server over a fresh root, then an upload and a
# download of a 64 MiB file through each transfer protocol (each verified byte for byte), a chat line going through
# the message relay from one user to another, and an upload killed with `kill -9` that the same command, run again,
# resumes. Everything happens on 127.0.0.1 in a temporary directory that is removed at the end.
# zmq:// needs the system library libzmq5: as root the demo installs it (apt-get, like scripts/test.sh); otherwise
# it prints the exact command and shows the other protocols.
# Usage: scripts/demo.sh [SIZE_MIB=64]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-64}
OUT=${FERRY_OUT:-out}

# zmq:// loads libzmq.so.5 at run time; everything else is in the build.
zmq_hint=""
if ! { ldconfig -p 2>/dev/null | grep -q 'libzmq\.so\.5 '; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing libzmq5 (the system library zmq:// uses; log in /tmp/ferry-apt.log)"
    export DEBIAN_FRONTEND=noninteractive
    # Never let package scripts start services.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends libzmq5) >/tmp/ferry-apt.log 2>&1 \
      || { echo "   apt-get failed (see /tmp/ferry-apt.log):"; tail -3 /tmp/ferry-apt.log | sed 's/^/   /'; }
    rm -f /usr/sbin/policy-rc.d
  fi
  if ! { ldconfig -p 2>/dev/null | grep -q 'libzmq\.so\.5 '; }; then
    if command -v apt-get >/dev/null; then zmq_hint="sudo apt-get install libzmq5"; else zmq_hint="install libzmq 4.x (libzmq.so.5) with your package manager"; fi
    echo "== zmq:// needs the system library libzmq5, which is missing: $zmq_hint (then run the demo again)"
  fi
fi

echo "== building ferry (Release) into $OUT/"
dotnet publish src/Ferry.Cli -c Release -o "$OUT" --nologo -v quiet >/dev/null
case "$OUT" in /*) FERRY="$OUT/ferry" ;; *) FERRY="$PWD/$OUT/ferry" ;; esac

WORK=$(mktemp -d /tmp/ferry-demo.XXXXXX)
SERVER_PID=""
BG_PID=""
cleanup() {
  [ -n "$BG_PID" ] && kill -9 "$BG_PID" 2>/dev/null
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
# The server's key is new every run: pin it in a known_hosts of this run, not in ~/.config/ferry; upload keys
# (kept by `ferry send` until an upload succeeds) likewise stay in the run's directory.
export FERRY_CONFIG_DIR="$WORK/config"
export XDG_STATE_HOME="$WORK/client-state"

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
skipped=()
served() { grep -q " $1 \+listening" "$WORK/server.log"; }
try() {
  local scheme=$1 port=$2
  if ! served "$scheme"; then
    echo "-- $scheme://: not served: $(sed -nE "s/.* $scheme +$scheme:\/\/ disabled: //p" "$WORK/server.log" | head -1)"
    skipped+=("$scheme://"); return
  fi
  ran=$((ran + 1))
  local url="$scheme://127.0.0.1:$port/demo/$scheme.bin"
  local extra=()
  if [ "$scheme" = zmq ]; then
    # zmq:// (CURVE) needs the server's CURVE key up front: the one `ferry serve` printed.
    local key; key=$(sed -nE 's/.*zmq CURVE key ([^ ]+) .*/\1/p' "$WORK/server.log" | head -1)
    if [ -n "$key" ]; then extra=(--server-key "$key"); else extra=(--insecure); fi
  fi
  # Printed as it would be typed: a CURVE key holds characters a shell reads ('&', '$', '>'), so it is single-quoted.
  local shown="${extra[*]}"
  [ "${extra[0]:-}" = --server-key ] && shown="--server-key '${extra[1]}'"
  echo "-- ferry send sample.bin $url $shown"
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

# The message relay: bob reads, alice writes one line, bob sees it.
relay="127.0.0.1:$((BASE+3))"
if served relay; then
  line="hello from alice at $(date +%T)"
  echo "-- ferry chat $relay --user bob --read   (in the background)"
  "$FERRY" chat "$relay" --user bob --read > "$WORK/bob.txt" 2>"$WORK/bob.err" &
  BG_PID=$!
  sleep 0.5
  echo "-- echo '$line' | ferry chat $relay --user alice --write"
  if echo "$line" | "$FERRY" chat "$relay" --user alice --write; then
    for _ in $(seq 50); do grep -qF "$line" "$WORK/bob.txt" && break; sleep 0.1; done
    if grep -qF "$line" "$WORK/bob.txt"; then sed 's/^/   bob sees: /' "$WORK/bob.txt"; else echo "   bob did not receive the line: $(cat "$WORK/bob.err")"; status=1; fi
  else
    echo "   chat write failed"; status=1
  fi
  kill "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null || true; BG_PID=""
else
  echo "-- relay: not served"; status=1
fi

# Resume: an upload killed with `kill -9` partway, then the same command again.
big="$WORK/big.bin"
for _ in 1 2 3 4; do cat "$WORK/sample.bin"; done > "$big"
url="udp://127.0.0.1:$BASE/demo/resumed.bin"
echo "-- ferry send big.bin $url   ($((SIZE_MIB * 4)) MiB), killed with kill -9 once a quarter has gone"
"$FERRY" send "$big" "$url" --json > "$WORK/first.json" 2>&1 &
BG_PID=$!
quarter=$((SIZE_MIB << 18))
for _ in $(seq 300); do
  sent=$(sed -nE 's/.*"event":"progress","bytes":([0-9]+).*/\1/p' "$WORK/first.json" | tail -1)
  [ -n "$sent" ] && [ "$sent" -ge "$quarter" ] && break
  kill -0 "$BG_PID" 2>/dev/null || break
  sleep 0.02
done
kill -9 "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null || true; BG_PID=""
echo "   killed after ${sent:-0} bytes were acknowledged"
echo "-- ferry send big.bin $url   (the same command again)"
if "$FERRY" send "$big" "$url"; then
  cmp -s "$big" "$WORK/data/demo/resumed.bin" && echo "   stored copy identical" || { echo "   MISMATCH"; status=1; }
  grep -E "takes over|resuming from" "$WORK/server.log" | tail -2 | sed 's/^/   server: /'
else
  echo "   resumed send failed"; status=1
fi

[ $ran -gt 0 ] || status=1
summary="$ran transfer protocols, chat, resume"
if [ ${#skipped[@]} -gt 0 ]; then
  summary="$summary; skipped: ${skipped[*]}${zmq_hint:+ (needs libzmq5: $zmq_hint)}"
fi
[ $status = 0 ] && echo "== demo OK ($summary)" || echo "== demo FAILED ($summary)"
exit $status
