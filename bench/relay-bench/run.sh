#!/usr/bin/env bash
# Relay load test on 127.0.0.1: 50 writers x 2,000 lines, 50 readers, first as fast as possible, then at 10,000 lines/s offered.
# Prints lines/s end to end, p50/p99 latency, and whether every reader got every line exactly once in order.
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build -c Release bench/relay-bench -v q -nologo | grep -E " error |rror\(s\)" || true
BIN=bench/relay-bench/bin/Release/net10.0/RelayBench
echo "== max rate"
"$BIN" --writers 50 --lines 2000 --readers 50 "$@"
echo "== 10,000 lines/s offered"
"$BIN" --writers 50 --lines 2000 --readers 50 --rate 10000 "$@"
