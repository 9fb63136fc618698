#!/usr/bin/env bash
# Throughput of the file engine alone (no network): receive path (PartialFile) and send path (HashingFileSource).
# Usage: bench/file-engine.sh [dir=/dev/shm] [sizeMiB=1024] [chunkBytes=1400]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run -c Release --project bench/FileEngineBench -- "${1:-/dev/shm}" "${2:-1024}" "${3:-1400}"
