#!/usr/bin/env bash
# Throughput of the file engine alone (no network): receive path (PartialFile) and send path (HashingFileSource).
# Usage: bench/file-engine.sh [dir=/dev/shm] [sizeMiB=1024] [chunkBytes=1400]
#        bench/file-engine.sh small [dir=/var/tmp] [files=2000] [dirs=20] [writers=1,8,32,a8,a32] [checkpoint]
#   many small uploads (8-24 KiB) with N writer threads, or one loop with N commits in flight (aN): files/s.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = small ]; then
    dotnet run -c Release --project bench/FileEngineBench -- "$@"
    exit
fi
dotnet run -c Release --project bench/FileEngineBench -- "${1:-/dev/shm}" "${2:-1024}" "${3:-1400}"
