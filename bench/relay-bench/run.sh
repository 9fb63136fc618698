#!/usr/bin/env bash
# Relay load test on 127.0.0.1: 50 writers x 2,000 lines, 50 readers (server and clients in one process, real UDP sockets,
# SQLite store with synchronous=FULL), first as fast as possible, then at 10,000 lines/s offered; each row twice.
# Prints distinct lines/s and reader deliveries/s end to end, p50/p99 latency, CPU, and whether every reader got every
# line exactly once in order. Extra arguments go to every run (e.g. --readers 10).
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build -c Release bench/relay-bench -v q -nologo | grep -E " error |rror\(s\)" || true
BIN=bench/relay-bench/bin/Release/net10.0/RelayBench
for run in 1 2; do
  echo "== max rate, run $run; $(uptime)"
  "$BIN" --writers 50 --lines 2000 --readers 50 "$@"
done
for run in 1 2; do
  echo "== 10,000 lines/s offered, run $run; $(uptime)"
  "$BIN" --writers 50 --lines 2000 --readers 50 --rate 10000 "$@"
done
