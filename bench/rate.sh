#!/usr/bin/env bash
# Rate limits on loopback, side by side in one run: ferry send --limit-rate over udp:// and tcp:// (goodput of one
# upload), then a server with --max-total-rate and several uploads at once (each one's goodput and their sum).
#
# Usage: bench/rate.sh [options]
#   --size S            file size of the single upload, e.g. 200M (MiB; default 200M)
#   --limit R           the client's --limit-rate (default 40M)
#   --total R           the server's --max-total-rate for the concurrent uploads (default 60M)
#   --uploads N         concurrent uploads under --total (default 3)
#   --each-size S       file size of each concurrent upload (default 100M)
#   --schemes "LIST"    udp and/or tcp (default "udp tcp")
#   --ferry PATH        a ferry.dll to run (default: src/Ferry.Cli/bin/Release/net10.0/ferry.dll; build it first)
#   --port N            first of the two ports the server takes (default 17600: udp N, tcp N+1)
# Goodput is the file's bytes over the seconds in the client's `done` event (the transfer, not process start-up);
# the sum of the concurrent uploads is their bytes over the longest one's seconds, and over the wall time of all. Loopback has no
# bottleneck of its own, so every number here is the limit's doing (or the machine's: the load average before and
# after is recorded). Writes the tables to stdout and to bench/results/<date>-<time>-rate.md. The server, its root
# and every file made here are removed on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ARGS="$*"
SIZE=200M; LIMIT=40M; TOTAL=60M; UPLOADS=3; EACH=100M; SCHEMES="udp tcp"; PORT=17600
FERRY=src/Ferry.Cli/bin/Release/net10.0/ferry.dll
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift ;;
    --limit) LIMIT=$2; shift ;;
    --total) TOTAL=$2; shift ;;
    --uploads) UPLOADS=$2; shift ;;
    --each-size) EACH=$2; shift ;;
    --schemes) SCHEMES=$2; shift ;;
    --ferry) FERRY=$2; shift ;;
    --port) PORT=$2; shift ;;
    *) usage ;;
  esac
  shift
done
[ -f "$FERRY" ] || { echo "no $FERRY: dotnet build Ferry.slnx -c Release first, or --ferry PATH" >&2; exit 2; }
mib() { echo $(( ${1%M} )); }

WORK=$(mktemp -d /tmp/ferry-rate-bench.XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
export HOME="$WORK/home"; mkdir -p "$HOME"
ferry() { dotnet "$FERRY" "$@"; }

start_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK/root" # the state (and so the server key the client pinned) stays
  rm -f "$HOME/.config/ferry/known_hosts" # each server is pinned afresh on first use
  # Started directly (not through the ferry function), so $! is the server itself and kill stops it.
  dotnet "$FERRY" serve --root "$WORK/root" --state-dir "$WORK/state" --bind 127.0.0.1 --port "$PORT" --tcp-port $((PORT + 1)) \
    --zmq-port -1 --relay-port -1 "$@" 2> "$WORK/serve.log" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q "tcp.*listening" "$WORK/serve.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server did not start: $(cat "$WORK/serve.log")" >&2; exit 1
}
port_of() { if [ "$1" = udp ]; then echo "$PORT"; else echo $((PORT + 1)); fi; }
# done-event fields of one --json run: bytes seconds rate_limit
done_fields() {
  python3 -c 'import json,sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        e = json.loads(line)
        if e.get("event") == "done":
            print(e["bytes"], e["seconds"], e.get("rate_limit", 0))' "$1"
}
mbit() { python3 -c "import sys; print(f'{float(sys.argv[1]) * 8 / float(sys.argv[2]) / 1e6:.1f}')" "$1" "$2"; }

head -c "$(( $(mib "$SIZE") << 20 ))" /dev/urandom > "$WORK/single.bin"
head -c "$(( $(mib "$EACH") << 20 ))" /dev/urandom > "$WORK/each.bin"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
OUT=$(mktemp)
{
  echo "# Rate limits on loopback ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "Commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load average before: $LOAD_BEFORE. Arguments: ${ARGS:-(defaults)}."
  echo
  echo "## One upload, \`ferry send --limit-rate $LIMIT\` of $SIZE"
  echo
  echo "| scheme | goodput (Mbit/s) | seconds | rate_limit in done |"
  echo "|---|---|---|---|"
} > "$OUT"

start_server
for scheme in $SCHEMES; do
  echo "$scheme: send --limit-rate $LIMIT of $SIZE ..." >&2
  ferry send --json --limit-rate "$LIMIT" "$WORK/single.bin" "$scheme://127.0.0.1:$(port_of "$scheme")/single-$scheme.bin" > "$WORK/single-$scheme.json"
  cmp -s "$WORK/single.bin" "$WORK/root/single-$scheme.bin" || { echo "$scheme: the upload differs" >&2; exit 1; }
  read -r bytes secs limit < <(done_fields "$WORK/single-$scheme.json")
  echo "| $scheme | $(mbit "$bytes" "$secs") | $secs | $limit |" >> "$OUT"
done

{
  echo
  echo "## $UPLOADS uploads at once of $EACH each, \`ferry serve --max-total-rate $TOTAL\`"
  echo
  echo "| scheme | each (Mbit/s) | sum over the longest transfer (Mbit/s) | sum over the wall time of all commands (Mbit/s) | rate_limit in each done |"
  echo "|---|---|---|---|---|"
} >> "$OUT"
start_server --max-total-rate "$TOTAL"
for scheme in $SCHEMES; do
  pids=()
  echo "$scheme: $UPLOADS uploads under --max-total-rate $TOTAL ..." >&2
  t0=$(date +%s.%N)
  for i in $(seq "$UPLOADS"); do
    ferry send --json "$WORK/each.bin" "$scheme://127.0.0.1:$(port_of "$scheme")/each-$scheme-$i.bin" > "$WORK/each-$scheme-$i.json" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(date +%s.%N)
  each=(); limits=(); total=0; longest=0
  for i in $(seq "$UPLOADS"); do
    cmp -s "$WORK/each.bin" "$WORK/root/each-$scheme-$i.bin" || { echo "$scheme: upload $i differs" >&2; exit 1; }
    read -r bytes secs limit < <(done_fields "$WORK/each-$scheme-$i.json")
    each+=("$(mbit "$bytes" "$secs")"); limits+=("$limit"); total=$((total + bytes))
    longest=$(python3 -c "print(max($longest, $secs))")
  done
  # The wall time includes the processes' start-up and their uneven starts (a second or so): a lower bound.
  echo "| $scheme | ${each[*]} | $(mbit "$total" "$longest") | $(mbit "$total" "$(python3 -c "print($t1 - $t0)")") | ${limits[*]} |" >> "$OUT"
done
echo >> "$OUT"
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)." >> "$OUT"

mkdir -p bench/results
RESULT="bench/results/$(date -u '+%Y-%m-%d-%H%M')-rate.md"
cp "$OUT" "$RESULT"
cat "$OUT"
rm -f "$OUT"
echo "(written to $RESULT)" >&2
