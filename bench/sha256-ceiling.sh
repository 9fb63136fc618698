#!/usr/bin/env bash
# What SHA-256 alone costs in .NET here (the floor under tcp:// on loopback, which hashes on both sides), beside
# openssl speed. Usage: bench/sha256-ceiling.sh [SIZE_MIB=1024]
set -euo pipefail
cd "$(dirname "$0")/.."
echo "load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, sha_ni: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"
dotnet run -c Release --project bench/Sha256Ceiling -- "${1:-1024}"
command -v openssl >/dev/null && openssl speed -evp sha256 -bytes 65536 -seconds 2 2>/dev/null | tail -2 || true
