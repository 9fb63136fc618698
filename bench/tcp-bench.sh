#!/usr/bin/env bash
# tcp:// loopback benchmark: a file from /dev/shm to /dev/shm over 127.0.0.1, in one run:
#   ferry tcp:// download and upload with 1, 4 and 8 streams (SHA-256 computed and compared on both sides),
#   iperf3 single-stream TCP, scp, rsync over ssh, curl from nginx, aria2c -x8 from nginx,
#   and one SHA-256 of the file with openssl (the cost of one hash, for reference).
# Usage: bench/tcp-bench.sh [SIZE_MIB [RUNS]]   (default 1024 MiB, 2 runs of every row; the table shows each run)
#   FERRY_ONLY=1 bench/tcp-bench.sh ...   only iperf3, the hash reference and the ferry rows
#   FERRY_BIN=/path/to/ferry ...          use that build instead of publishing this tree
# The ferry server serves one small file before the timed rows (a running server has its code compiled; every
# client is a new process and pays its own start-up, about 0.3 s, inside its time).
# As root it installs what is missing (iperf3 openssh-server openssh-client rsync nginx-light aria2 curl).
# sshd and nginx run on 127.0.0.1 on free ports with configs and keys created here and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
RUNS=${2:-2}
STREAMS=(1 4 8)

W=$(mktemp -d /dev/shm/ferry-tcp-bench.XXXXXX)
export FERRY_CONFIG_DIR="$W/config"   # the bench server's fresh key is pinned here, not in ~/.config/ferry
chmod 755 "$W"   # nginx workers (www-data) must reach $W/src
PIDS=()
MADE_RUN_SSHD=0
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$W"
  if [ "$MADE_RUN_SSHD" = 1 ]; then rmdir /run/sshd 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM

# --- tools -------------------------------------------------------------------------------------------
need=()
for t in ss:iproute2 iperf3:iperf3 sshd:openssh-server ssh:openssh-client rsync:rsync nginx:nginx-light aria2c:aria2 curl:curl python3:python3; do
  command -v "${t%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${t%%:*}" ] || need+=("${t#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing: ${need[*]}" >&2
    # Package scripts must not start system daemons (sshd, nginx) on their standard ports.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    (DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}") >"$W/apt.log" 2>&1 \
      || { rm -f /usr/sbin/policy-rc.d; echo "apt-get failed, see log:" >&2; tail -5 "$W/apt.log" >&2; exit 1; }
    rm -f /usr/sbin/policy-rc.d
  else
    echo "missing: ${need[*]} (run as root to install them)" >&2; exit 1
  fi
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {  # wait (bounded) until something listens on 127.0.0.1:$1 (without connecting: iperf3 -1 would count that)
  for _ in $(seq 1 400); do ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0; sleep 0.05; done
  echo "nothing listening on port $1" >&2; return 1
}
now_ns() { date +%s%N; }
ROWS=()
IPERF_GBPS=""
row() {  # row NAME DIRECTION NOTE SECONDS...: one table row, every run's time and rate, % of iperf3 from the best
  local name=$1 dir=$2 note=$3; shift 3
  [ ! -e "$W/BAD" ] || { echo "$name $dir: a run produced wrong content" >&2; exit 1; }
  [ $# -gt 0 ] || { echo "$name $dir: no run completed" >&2; exit 1; }
  local secs gbps best pct
  secs=$(printf '%s\n' "$@" | awk '{ printf "%s%.2f", (NR > 1 ? " / " : ""), $1 }')
  gbps=$(printf '%s\n' "$@" | awk -v b=$((SIZE_MIB * 1048576)) '{ printf "%s%.2f", (NR > 1 ? " / " : ""), b * 8 / $1 / 1e9 }')
  best=$(printf '%s\n' "$@" | awk -v b=$((SIZE_MIB * 1048576)) 'BEGIN { m = 0 } { g = b * 8 / $1 / 1e9; if (g > m) m = g } END { printf "%.2f", m }')
  pct=$([ -n "$IPERF_GBPS" ] && awk -v g="$best" -v i="$IPERF_GBPS" 'BEGIN { printf "%.0f%%", 100 * g / i }' || echo "-")
  ROWS+=("| $name | $dir | $secs | $gbps | $pct | $note |")
  echo "  $name $dir: $secs s, $gbps Gbit/s" >&2
}
timed() {  # timed CMD...: prints seconds
  local s e; s=$(now_ns); "$@" >/dev/null; e=$(now_ns)
  awk -v d=$((e - s)) 'BEGIN { printf "%.4f", d / 1e9 }'
}
runs() {  # runs CHECK_FILE CMD...: runs CMD $RUNS times (checking and removing CHECK_FILE after each), prints the times
  local f=$1 t; shift
  for _ in $(seq "$RUNS"); do t=$(timed "$@"); check "$f"; echo "$t"; done
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- build and data ----------------------------------------------------------------------------------
if [ -n "${FERRY_BIN:-}" ]; then
  FERRY=$FERRY_BIN   # an already built ferry (to compare two builds under the same conditions)
else
  echo "building ferry (Release)..." >&2
  dotnet publish src/Ferry.Cli -c Release -o "$W/bin" --nologo -v q >/dev/null
  FERRY="$W/bin/ferry"
fi
mkdir -p "$W/src" "$W/root" "$W/state" "$W/dl"
echo "making a ${SIZE_MIB} MiB file in $W..." >&2
head -c "${SIZE_MIB}M" /dev/urandom > "$W/src/big.bin"
cp "$W/src/big.bin" "$W/root/big.bin"
# check runs inside $(...) (runs): a mismatch leaves a mark that row() turns into a failure of the whole bench.
check() { cmp -s "$1" "$W/src/big.bin" || { echo "WRONG CONTENT: $1" >&2; touch "$W/BAD"; exit 1; }; rm -f "$1"; }

# --- iperf3, single TCP stream -----------------------------------------------------------------------
IPERF_ALL=()
for _ in $(seq "$RUNS"); do
  P=$(free_port)
  iperf3 -s -1 -B 127.0.0.1 -p "$P" >/dev/null 2>&1 & PIDS+=($!)
  wait_port "$P"
  IPERF_ALL+=("$(iperf3 -c 127.0.0.1 -p "$P" -n "${SIZE_MIB}M" -J | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))')")
done
IPERF_GBPS=$(printf '%s\n' "${IPERF_ALL[@]}" | sort -g | tail -1)
ROWS+=("| iperf3 TCP, 1 stream | - | - | $(printf '%s\n' "${IPERF_ALL[@]}" | paste -sd/ | sed 's|/| / |g') | 100% (best) | memory to memory, no disk, no hash |")
echo "  iperf3: ${IPERF_ALL[*]} Gbit/s" >&2

# --- what one SHA-256 of the file costs (OpenSSL, the same library .NET uses on Linux) --------------------
hash_times() { for _ in $(seq "$RUNS"); do timed "$@"; echo; done; }
if command -v openssl >/dev/null; then
  row "openssl dgst -sha256 (one side)" "-" "reference: ferry hashes on both sides" $(hash_times openssl dgst -sha256 "$W/src/big.bin")
else
  row "sha256sum (one side)" "-" "reference: ferry hashes on both sides" $(hash_times sha256sum "$W/src/big.bin")
fi

# --- ferry tcp:// ------------------------------------------------------------------------------------
P=$(free_port)
"$FERRY" serve --root "$W/root" --state-dir "$W/state" --bind 127.0.0.1 --port -1 --zmq-port -1 --relay-port -1 --tcp-port "$P" 2>"$W/serve.log" & PIDS+=($!)
wait_port "$P"
head -c 64M "$W/src/big.bin" > "$W/root/warm.bin"
"$FERRY" get "tcp://127.0.0.1:$P/warm.bin" "$W/dl/warm.bin" -q && "$FERRY" send "$W/root/warm.bin" "tcp://127.0.0.1:$P/warm-up.bin" -q
rm -f "$W/dl/warm.bin" "$W/root/warm.bin" "$W/root/warm-up.bin"
for s in "${STREAMS[@]}"; do
  row "ferry tcp:// --streams $s" "download" "SHA-256 both sides, compared" \
    $(runs "$W/dl/f.bin" "$FERRY" get "tcp://127.0.0.1:$P/big.bin" "$W/dl/f.bin" --streams "$s" -q)
done
for s in "${STREAMS[@]}"; do
  row "ferry tcp:// --streams $s" "upload" "SHA-256 both sides, compared" \
    $(runs "$W/root/up$s.bin" "$FERRY" send "$W/src/big.bin" "tcp://127.0.0.1:$P/up$s.bin" --streams "$s" -q)
done

if [ "${FERRY_ONLY:-0}" != 1 ]; then
# --- sshd: scp, rsync ----------------------------------------------------------------------------------
if [ ! -d /run/sshd ]; then mkdir -p /run/sshd && MADE_RUN_SSHD=1; fi
mkdir -p "$W/ssh" && chmod 700 "$W/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/user_key"
cp "$W/ssh/user_key.pub" "$W/ssh/authorized_keys"
P=$(free_port)
cat > "$W/ssh/sshd_config" <<CONF
Port $P
ListenAddress 127.0.0.1
HostKey $W/ssh/host_key
PidFile $W/ssh/sshd.pid
AuthorizedKeysFile $W/ssh/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
CONF
/usr/sbin/sshd -D -f "$W/ssh/sshd_config" -E "$W/ssh/sshd.log" & PIDS+=($!)
wait_port "$P"
SSH_OPTS=(-i "$W/ssh/user_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR)
row "scp" "download" "default cipher (AES-GCM or ChaCha20), no end-to-end hash" \
  $(runs "$W/dl/scp.bin" scp -q -P "$P" "${SSH_OPTS[@]}" "127.0.0.1:$W/src/big.bin" "$W/dl/scp.bin")
row "rsync over ssh" "download" "whole-file checksum by rsync" \
  $(runs "$W/dl/rsync.bin" rsync -e "ssh -p $P ${SSH_OPTS[*]}" "127.0.0.1:$W/src/big.bin" "$W/dl/rsync.bin")

# --- nginx: curl, aria2c -x8 -----------------------------------------------------------------------------
P=$(free_port)
mkdir -p "$W/nginx/logs" "$W/nginx/tmp"
cat > "$W/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $W/nginx/tmp/body;
  proxy_temp_path $W/nginx/tmp/proxy;
  fastcgi_temp_path $W/nginx/tmp/fastcgi;
  uwsgi_temp_path $W/nginx/tmp/uwsgi;
  scgi_temp_path $W/nginx/tmp/scgi;
  server { listen 127.0.0.1:$P; root $W/src; }
}
CONF
nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" -g 'daemon off;' & PIDS+=($!)
wait_port "$P"
row "curl from nginx" "download" "nginx sendfile, no end-to-end hash" \
  $(runs "$W/dl/curl.bin" curl -fsS -o "$W/dl/curl.bin" "http://127.0.0.1:$P/big.bin")
row "aria2c -x8 -s8 from nginx" "download" "8 connections, no end-to-end hash" \
  $(runs "$W/dl/aria.bin" aria2c -q -x8 -s8 --file-allocation=none --allow-overwrite=true -d "$W/dl" -o aria.bin "http://127.0.0.1:$P/big.bin")
fi

# --- table -------------------------------------------------------------------------------------------
echo
echo "Loopback, ${SIZE_MIB} MiB, /dev/shm to /dev/shm, $(nproc) cores, $RUNS runs per row (run 1 / run 2 ...),"
echo "load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
echo
echo "| what | direction | seconds | Gbit/s | of iperf3 | notes |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
