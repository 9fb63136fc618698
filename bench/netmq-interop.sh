#!/usr/bin/env bash
# NetMQ (managed ZeroMQ, bench/NetMqInterop) beside libzmq (python3-zmq, bench/netmq_peer.py) on 127.0.0.1:
# 1. interop: each library's DEALER against the other's ROUTER, plain and CURVE, and what the server learns about
#    the client (libzmq: the CURVE key as User-Id through ZAP, and Peer-Address; NetMQ: the routing id only);
# 2. a CURVE client with a wrong server key: the monitor events each library reports;
# 3. throughput of 1 MiB requests, 16 in flight, libzmq to libzmq and NetMQ to NetMQ, plain and CURVE, alternating.
# Usage: bench/netmq-interop.sh [SIZE_MB=400] [RUNS=3]; PORT=first port (default 17740).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-400}
RUNS=${2:-3}
port=${PORT:-17740}
PY=/usr/bin/python3
/usr/bin/python3 -c 'import zmq' 2>/dev/null || { echo "netmq-interop: needs python3-zmq (apt-get install python3-zmq)" >&2; exit 1; }
dotnet build bench/NetMqInterop -c Release --nologo -v q >/dev/null
NET=(dotnet bench/NetMqInterop/bin/Release/net10.0/NetMqInterop.dll)
LIB=("$PY" bench/netmq_peer.py)
work=$(mktemp -d /tmp/netmq-interop.XXXXXX)
spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

peer() { if [ "$1" = libzmq ]; then echo "${LIB[@]}"; else echo "${NET[@]}"; fi; }

# start_server IMPL plain|curve: sets $spid, $key and $out (the server's output, a file per server)
start_server() {
  port=$((port + 1))
  out="$work/server-$port.out"
  : >"$out"
  $(peer "$1") server "$port" "$2" >>"$out" 2>&1 &
  spid=$!
  for _ in $(seq 600); do grep -q '^KEY ' "$out" && break; sleep 0.1; done
  key=$(sed -n 's/^KEY //p' "$out")
  [ -n "$key" ] || { echo "netmq-interop: the $1 server on port $port did not start in 60 s: $(head -c 300 "$out")" >&2; exit 1; }
}
stop_server() { wait "$spid" 2>/dev/null || true; spid=""; }

echo "netmq-interop: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, libzmq $($PY -c 'import zmq; print(zmq.zmq_version())'), NetMQ 4.0.4.5"
echo "== 1. interop (64 requests of 64 KiB)"
for sec in plain curve; do
  for pair in "libzmq netmq" "netmq libzmq" "libzmq libzmq" "netmq netmq"; do
    set -- $pair
    start_server "$1" "$sec"
    res=$(timeout 120 $(peer "$2") client "$port" "$key" 64 65536 2>&1 | tail -1) || true
    stop_server
    seen=$(grep "^server: first" "$out" | sed "s/^server: first request from //" || echo "no request")
    printf '%-6s server %-6s client %-6s: %s | server saw %s\n' "$sec" "$1" "$2" "$(sed "s/ in .*//" <<<"$res")" "$seen"
  done
done

echo "== 2. CURVE client with a wrong server key, against a libzmq CURVE server (monitor events in 3 s)"
start_server libzmq curve
wrong=$($PY -c 'import zmq; print(zmq.curve_keypair()[0].decode())')
for impl in libzmq netmq; do
  printf '%-6s client: %s\n' "$impl" "$(timeout 60 $(peer "$impl") events "$port" "$wrong" 3 2>&1 | tail -1)"
done
timeout 30 "${LIB[@]}" client "$port" "$key" 1 1 >/dev/null 2>&1 || true
stop_server

echo "== 3. throughput: $SIZE_MB requests of 1 MiB, 16 in flight (MB/s)"
for run in $(seq "$RUNS"); do
  for sec in curve plain; do
    for impl in libzmq netmq; do
      start_server "$impl" "$sec"
      res=$(timeout 600 $(peer "$impl") client "$port" "$key" "$SIZE_MB" 1048576 2>&1 | tail -1) || true
      stop_server
      printf 'run %s %-5s %-6s to %-6s: %s (load %s)\n' "$run" "$sec" "$impl" "$impl" "$(sed "s/.*= //" <<<"$res")" "$(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
