#!/usr/bin/env bash
# Copying a directory tree, side by side in one run: rsync -a over ssh, tar c | ssh tar x, scp -r, and ferry
# send/get over udp:// and tcp://, every copy checked file by file (SHA-256, sizes, names, directories).
#
# Usage: bench/trees.sh [--loopback] [--wan] [--rss] [options]      (no mode: --loopback)
#   --loopback          the tree over 127.0.0.1, on tmpfs (/dev/shm) and on disk (--disk-dir), both directions:
#                       send = push to the server (rsync/scp/tar to 127.0.0.1:DST, ferry send), get = pull from it
#   --wan               the WAN tree (--wan-small files + --wan-large x --wan-large-size) across bench/WanEmu
#                       (100 Mbit/s, 25 ms one-way, 1% loss, queue 1000; TCP BBR in both namespaces): rsync, tar
#                       over ssh and ferry udp:// both ways; goodput = file bytes / wall time of the whole command
#   --rss               the RSS tree (--rss-files files) through ferry send and get, udp:// and tcp://, on tmpfs:
#                       peak RSS of the client (/usr/bin/time) and of the server (VmHWM, a fresh server per row)
# Options:
#   --runs N            runs per row, interleaved across the rows; the table gives the median (default 3)
#   --small N           small files of the loopback tree (default 10000), sizes 8-24 KiB, in --dirs directories
#   --dirs N            directories the small files are spread over (default 100)
#   --large N           large files of the loopback tree (default 4)
#   --large-size S      size of each large file, e.g. 64M (default 64M)
#   --wan-small N, --wan-large N, --wan-large-size S   the WAN tree (default 2000, 4, 16M; 20 directories)
#   --rss-files N       files of the RSS tree (default 100000, 1-8 KiB each, 100 a directory)
#   --tools "LIST"      rows to run among rsync tar scp ferry-udp ferry-tcp (--rss: ferry-udp ferry-tcp)
#                       (default: all on loopback, "rsync tar ferry-udp" on --wan, "ferry-udp ferry-tcp" on --rss)
#   --directions "LIST" send and/or get (default "send get")
#   --media "LIST"      tmpfs and/or disk for --loopback (default "tmpfs disk")
#   --disk-dir DIR      where the disk rows live (default /var/tmp; must not be tmpfs)
#   --timeout S         bound on one run of one row; a run past it is recorded as TIMEOUT (default 300)
#   --rate R, --delay D, --loss P   the --wan link (default 100M, 25ms, 1%)
#   --seed N            seed of the trees and of the emulated link (default 1)
#   --ferry PATH        a ferry executable to use instead of publishing this tree (also FERRY_BIN=PATH)
#   --keep              keep the work directories (printed at the end)
# Writes the tables (with the load average before and after, the ssh cipher, the commit) to stdout and to
# bench/results/<date>-<time>-trees.md. Needs root to install rsync and openssh-server when missing, and for --wan
# (network namespaces). A private sshd (own host key and authorized key, made here) listens on 127.0.0.1 (in --wan
# on 10.77.0.2 in namespace B); ferry serve runs with its own root, state directory and client config. Both are
# stopped, and every work directory removed, on exit. A row that fails (non-zero exit, e.g. a tool that cannot
# copy a directory yet) is recorded as FAILED with its last error line, one that copied wrong as WRONG; the
# script carries on either way.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ARGS="$*"

MODES=()
RUNS=3
SMALL=10000; DIRS=100; LARGE=4; LARGE_SIZE=64M
WAN_SMALL=2000; WAN_DIRS=20; WAN_LARGE=4; WAN_LARGE_SIZE=16M
RSS_FILES=100000
TOOLS=""
DIRECTIONS="send get"
MEDIA="tmpfs disk"
DISK_DIR=/var/tmp
TIMEOUT=300
RATE=100M; DELAY=25ms; LOSS=1%
SEED=1
FERRY=${FERRY_BIN:-}
KEEP=0
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --loopback) MODES+=(loopback) ;;
    --wan) MODES+=(wan) ;;
    --rss) MODES+=(rss) ;;
    --runs) RUNS=$2; shift ;;
    --small) SMALL=$2; shift ;;
    --dirs) DIRS=$2; shift ;;
    --large) LARGE=$2; shift ;;
    --large-size) LARGE_SIZE=$2; shift ;;
    --wan-small) WAN_SMALL=$2; shift ;;
    --wan-large) WAN_LARGE=$2; shift ;;
    --wan-large-size) WAN_LARGE_SIZE=$2; shift ;;
    --rss-files) RSS_FILES=$2; shift ;;
    --tools) TOOLS=$2; shift ;;
    --directions) DIRECTIONS=$2; shift ;;
    --media) MEDIA=$2; shift ;;
    --disk-dir) DISK_DIR=$2; shift ;;
    --timeout) TIMEOUT=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --delay) DELAY=$2; shift ;;
    --loss) LOSS=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --ferry) FERRY=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) usage ;;
    *) echo "trees.sh: unknown option $1" >&2; usage ;;
  esac
  shift
done
[ ${#MODES[@]} -gt 0 ] || MODES=(loopback)
die() { echo "trees.sh: $*" >&2; exit 1; }
bytes_of() { numfmt --from=iec "${1%iB}" 2>/dev/null || die "not a size: $1"; }
LARGE_BYTES=$(bytes_of "$LARGE_SIZE")
WAN_LARGE_BYTES=$(bytes_of "$WAN_LARGE_SIZE")
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ " ${MODES[*]} " != *" wan "* ]] || [ "$(id -u)" = 0 ] || die "--wan needs root (network namespaces)"

W=$(mktemp -d /dev/shm/tb-trees.XXXXXX)
DISK_W=""
export FERRY_CONFIG_DIR="$W/config"   # the bench servers' fresh keys are pinned here, not in ~/.config/ferry
export FERRY_WAN_NAME=ferrytb          # our own link: other benches may have theirs up
WAN=bench/wan.sh
WAN_UP=0
PIDS=()
MADE_RUN_SSHD=0
cleanup() {
  set +e
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ "$WAN_UP" = 0 ] || "$WAN" down >/dev/null 2>&1
  [ "$MADE_RUN_SSHD" = 0 ] || rmdir /run/sshd 2>/dev/null
  if [ "$KEEP" = 1 ]; then echo "kept $W ${DISK_W}" >&2; else rm -rf "$W" ${DISK_W:+"$DISK_W"}; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -----------------------------------------------------------------------------------------------
need=()
for t in ssh:openssh-client sshd:openssh-server rsync:rsync ss:iproute2 python3:python3 numfmt:coreutils; do
  command -v "${t%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${t%%:*}" ] || need+=("${t#*:}")
done
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing: ${need[*]} (run as root to install them)"
  echo "installing: ${need[*]}" >&2
  # Package scripts must not start system daemons (sshd) on their standard ports.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  (DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}") >"$W/apt.log" 2>&1 \
    || { rm -f /usr/sbin/policy-rc.d; tail -5 "$W/apt.log" >&2; die "apt-get failed"; }
  rm -f /usr/sbin/policy-rc.d
fi

COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src modified)')"
if [ -z "$FERRY" ]; then
  echo "publishing ferry (Release)..." >&2
  dotnet publish src/Ferry.Cli -c Release -o "$W/bin" --nologo -v q >/dev/null
  FERRY=$W/bin/ferry
  FERRY_FROM="commit $COMMIT"
else
  FERRY_FROM="$FERRY (given)"
fi
[ -x "$FERRY" ] || die "$FERRY is not an executable"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
REPORT_BODY=$W/report.md
: >"$REPORT_BODY"
say() { echo "$@" | tee -a "$REPORT_BODY"; }   # a line of the report (stdout and the results file)
now_ns() { date +%s%N; }
free_port() { # tcp|udp: a free high port picked by the kernel
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
q() { printf '%q' "$1"; }

# --- trees -----------------------------------------------------------------------------------------------
make_tree() { # DIR SMALL DIRS MIN MAX LARGE LARGE_BYTES: generates DIR, its manifest DIR.manifest; prints "FILES BYTES"
  echo "making $1: $2 files of $4-$5 bytes in $3 directories + $6 x $7 bytes (seed $SEED)..." >&2
  python3 bench/trees.py gen "$1" --seed "$SEED" --small "$2" --dirs "$3" --min "$4" --max "$5" \
    --large "$6" --large-size "$7"
  python3 bench/trees.py manifest "$1" >"$1.manifest"
}

# --- sshd --------------------------------------------------------------------------------------------------
SSH_PORT=""
SSH_CIPHER=""
SSH=""
start_sshd() { # ADDRESS [NAMESPACE]: a private sshd on ADDRESS:SSH_PORT; sets SSH (the client command line)
  local addr=$1 ns=${2:-} d=$W/ssh
  if [ ! -d "$d" ]; then
    mkdir -p "$d" && chmod 700 "$d"
    ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
    cp "$d/user_key.pub" "$d/authorized_keys"
  fi
  if [ ! -d /run/sshd ]; then mkdir -p /run/sshd && MADE_RUN_SSHD=1; fi
  SSH_PORT=$(free_port tcp)
  cat >"$d/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress $addr
HostKey $d/host_key
PidFile none
AuthorizedKeysFile $d/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
MaxStartups 100
Subsystem sftp internal-sftp
CONF
  ${ns:+ip netns exec "$ns"} /usr/sbin/sshd -D -f "$d/sshd_config" -E "$d/sshd.log" & PIDS+=($!)
  SSH_PID=$!
  # The client's own defaults (cipher, MAC, no compression): only the key, the port and host-key checking are set.
  SSH_OPTS="-i $d/user_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o ControlMaster=no -o ControlPath=none"
  SSH="ssh -p $SSH_PORT $SSH_OPTS"
  SCP="scp -q -P $SSH_PORT $SSH_OPTS"
  for _ in $(seq 200); do
    ${ns:+ip netns exec "$ns"} ss -Hltn "sport = :$SSH_PORT" | grep -q . && break; sleep 0.05
  done
  # The cipher ssh negotiates by default, from its own debug output.
  SSH_CIPHER=$(${CLIENT_NS:+ip netns exec "$CLIENT_NS"} ssh -v -p "$SSH_PORT" $SSH_OPTS "$addr" true 2>&1 \
    | sed -n 's/.*kex: server->client cipher: \([^ ]*\) MAC: \([^ ]*\).*/\1 (MAC \2)/p' | head -1)
  [ -n "$SSH_CIPHER" ] || { cat "$d/sshd.log" >&2; die "ssh to $addr:$SSH_PORT does not work"; }
}
stop_pid() { # PID: stops a process started here and forgets it
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
  local p keep=()
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# --- ferry serve -----------------------------------------------------------------------------------------
UDP_PORT=""; TCP_PORT=""; SERVE_PID=""
start_serve() { # ROOT STATE ADDRESS [NAMESPACE]
  local log=$2.log ns=${4:-}
  UDP_PORT=$(free_port udp); TCP_PORT=$(free_port tcp)
  ${ns:+ip netns exec "$ns"} "$FERRY" serve --root "$1" --state-dir "$2" --bind "$3" --port "$UDP_PORT" \
    --tcp-port "$TCP_PORT" --zmq-port -1 --relay-port -1 >"$log" 2>&1 & PIDS+=($!)
  SERVE_PID=$!
  for _ in $(seq 300); do [ "$(grep -c listening "$log" 2>/dev/null)" -ge 2 ] && break; sleep 0.1; done
  [ "$(grep -c listening "$log")" -ge 2 ] || { cat "$log" >&2; die "ferry serve did not start"; }
  # One small file each way on each scheme: the server's code is compiled and its key pinned before the timed rows.
  head -c 65536 /dev/urandom >"$1/warm.bin"
  local s
  for s in udp tcp; do
    ${CLIENT_NS:+ip netns exec "$CLIENT_NS"} "$FERRY" get "$s://$3:$([ $s = udp ] && echo "$UDP_PORT" || echo "$TCP_PORT")/warm.bin" "$2.warm-$s" -q 2>/dev/null || true
    ${CLIENT_NS:+ip netns exec "$CLIENT_NS"} "$FERRY" send "$1/warm.bin" "$s://$3:$([ $s = udp ] && echo "$UDP_PORT" || echo "$TCP_PORT")/warm-$s.bin" -q 2>/dev/null || true
  done
  rm -f "$1"/warm*.bin "$2".warm-*
}

# --- rows --------------------------------------------------------------------------------------------------
# A row is TOOL DIRECTION MEDIUM; its command is built per run (every run copies to a new destination, so no
# tool ever finds an earlier copy, and ferry's journals never see a path twice).
row_cmd() { # TOOL DIRECTION HOST SRC DST_PATH_FOR_SEND(server side, absolute) DST_FOR_GET(local) FERRY_DST_NAME
  local tool=$1 dir=$2 host=$3 src=$4 sdst=$5 gdst=$6 fname=$7
  case "$tool.$dir" in
    rsync.send) echo "rsync -a -e $(q "$SSH") $(q "$src/") $host:$(q "$sdst/")" ;;
    rsync.get) echo "rsync -a -e $(q "$SSH") $host:$(q "$src/") $(q "$gdst/")" ;;
    tar.send) echo "tar -C $(q "$src") -cf - . | $SSH $host $(q "mkdir -p $(q "$sdst") && tar -C $(q "$sdst") -xf -")" ;;
    tar.get) echo "mkdir -p $(q "$gdst") && $SSH $host $(q "tar -C $(q "$src") -cf - .") | tar -C $(q "$gdst") -xf -" ;;
    scp.send) echo "$SCP -r $(q "$src") $host:$(q "$sdst")" ;;
    scp.get) echo "$SCP -r $host:$(q "$src") $(q "$gdst")" ;;
    ferry-udp.send) echo "$(q "$FERRY") send $(q "$src") udp://$host:$UDP_PORT/$fname -q" ;;
    ferry-udp.get) echo "$(q "$FERRY") get udp://$host:$UDP_PORT/$(basename "$src") $(q "$gdst") -q" ;;
    ferry-tcp.send) echo "$(q "$FERRY") send $(q "$src") tcp://$host:$TCP_PORT/$fname -q" ;;
    ferry-tcp.get) echo "$(q "$FERRY") get tcp://$host:$TCP_PORT/$(basename "$src") $(q "$gdst") -q" ;;
    *) die "unknown row $tool $dir" ;;
  esac
}
tool_name() {
  case "$1" in
    rsync) echo "rsync -a over ssh" ;;
    tar) echo "tar c \| ssh tar x" ;;
    scp) echo "scp -r" ;;
    ferry-udp) echo "ferry udp://" ;;
    ferry-tcp) echo "ferry tcp://" ;;
  esac
}

declare -A STATUS TIMES RSS_CLIENT RSS_SERVER
RUN_N=0
one_run() { # KEY TOOL DIR MEDIUM BASE HOST [rss]: one timed run of one row; records its time or its failure
  local key=$1 tool=$2 dir=$3 medium=$4 base=$5 host=$6 rss=${7:-}
  RUN_N=$((RUN_N + 1))
  local src=$base/root/src sdst=$base/root/dst.$RUN_N gdst=$base/get/dst.$RUN_N
  local out; [ "$dir" = send ] && out=$sdst || out=$gdst
  local cmd; cmd=$(row_cmd "$tool" "$dir" "$host" "$src" "$sdst" "$gdst" "dst.$RUN_N")
  [ -z "$rss" ] || cmd="/usr/bin/time -o $(q "$W/time.out") -f %M $cmd"
  [ "$medium" != disk ] || sync   # earlier runs' writeback must not land in this one
  local t0 t1 rc=0
  t0=$(now_ns)
  timeout -k 10 "$TIMEOUT" ${CLIENT_NS:+ip netns exec "$CLIENT_NS"} bash -o pipefail -c "$cmd" >"$W/run.out" 2>"$W/run.err" || rc=$?
  t1=$(now_ns)
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    STATUS[$key]="TIMEOUT after ${TIMEOUT} s"
  elif [ "$rc" != 0 ]; then
    local msg; msg=$(grep -v '^\s*$' "$W/run.err" | tail -1 | cut -c1-160 | sed 's/|/\\|/g' || true)
    STATUS[$key]="FAILED (exit $rc): ${msg:-no message}"
  else
    local v; v=$(python3 bench/trees.py check "$base/root/src.manifest" "$out" || true)
    if [ "$v" = ok ]; then
      TIMES[$key]="${TIMES[$key]:-} $(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1e9 }')"
      if [ -n "$rss" ]; then
        RSS_CLIENT[$key]="${RSS_CLIENT[$key]:-} $(tail -1 "$W/time.out")"
        RSS_SERVER[$key]="${RSS_SERVER[$key]:-} $(awk '/VmHWM/ { print $2 }' "/proc/$SERVE_PID/status")"
      fi
    else
      STATUS[$key]="$v"
    fi
  fi
  echo "  $tool $dir $medium run: ${STATUS[$key]:-$(echo "${TIMES[$key]}" | awk '{ print $NF }') s}" >&2
  rm -rf "$sdst" "$gdst"
}

# Prints the table rows of KEYS: FILES BYTES KEYS... (goodput in Mbit/s too when WANMBIT=1)
table_rows() {
  local files=$1 bytes=$2 key; shift 2
  for key in "$@"; do
    IFS=. read -r tool dir medium <<<"$key"
    case "$medium" in wan|rss) medium=tmpfs ;; esac   # the WAN and RSS trees live in /dev/shm
    local name; name=$(tool_name "$tool")
    local times=${TIMES[$key]:-} status=${STATUS[$key]:-ok}
    local secs="-" fps="-" mbs="-" mbit="-" runs="-"
    if [ -n "$times" ]; then
      secs=$(printf '%s\n' $times | median)
      fps=$(awk -v f="$files" -v s="$secs" 'BEGIN { printf "%.0f", f / s }')
      mbs=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.1f", b / s / 1e6 }')
      mbit=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.1f", b * 8 / s / 1e6 }')
      runs=$(printf '%s\n' $times | awk '{ printf "%s%.2f", (NR > 1 ? " / " : ""), $1 }')
      secs=$(awk -v s="$secs" 'BEGIN { printf "%.2f", s }')
    fi
    if [ "${WANMBIT:-0}" = 1 ]; then
      echo "| $name | $dir | $medium | $secs | $fps | $mbs | $mbit | $runs | $status |"
    elif [ -n "${RSS_CLIENT[$key]:-}" ]; then
      local c s
      c=$(printf '%s\n' ${RSS_CLIENT[$key]} | sort -g | tail -1 | awk '{ printf "%.0f", $1 / 1024 }')
      s=$(printf '%s\n' ${RSS_SERVER[$key]} | sort -g | tail -1 | awk '{ printf "%.0f", $1 / 1024 }')
      echo "| $name | $dir | $medium | $secs | $fps | $mbs | $c | $s | $runs | $status |"
    elif [ "${RSSCOLS:-0}" = 1 ]; then
      echo "| $name | $dir | $medium | $secs | $fps | $mbs | - | - | $runs | $status |"
    else
      echo "| $name | $dir | $medium | $secs | $fps | $mbs | $runs | $status |"
    fi
  done
}

# Runs every row RUNS times, interleaved (run 1 of every row, then run 2, ...), so a change of the machine's load
# hits every row alike; a row that failed or timed out is not run again.
run_rows() { # MEDIUM BASE HOST [rss] -- KEYS...
  local medium=$1 base=$2 host=$3 rss=${4:-} r key
  for r in $(seq "$RUNS"); do
    for key in "${ROW_KEYS[@]}"; do
      [[ "$key" == *".$medium" ]] || continue
      [ -z "${STATUS[$key]:-}" ] || continue
      IFS=. read -r tool dir _ <<<"$key"
      if [ -n "$rss" ]; then   # a fresh server per run: its VmHWM is this run's peak
        stop_pid "$SERVE_PID"
        start_serve "$base/root" "$base/state.$r.$tool.$dir" "$host" "${SERVER_NS:-}"
      fi
      one_run "$key" "$tool" "$dir" "$medium" "$base" "$host" "$rss"
    done
  done
}

in_list() { [[ " $2 " == *" $1 "* ]]; }

# --- loopback ----------------------------------------------------------------------------------------------
loopback() {
  local tools=${TOOLS:-rsync tar scp ferry-udp ferry-tcp} medium base files bytes load0
  start_sshd 127.0.0.1
  local cipher=$SSH_CIPHER
  ROW_KEYS=()
  local t d
  for medium in $MEDIA; do for t in $tools; do for d in $DIRECTIONS; do ROW_KEYS+=("$t.$d.$medium"); done; done; done
  local loads=() fstypes=()
  for medium in $MEDIA; do
    case "$medium" in
      tmpfs) base=$W/loopback ;;
      disk)
        DISK_W=$(mktemp -d "$DISK_DIR/tb-trees.XXXXXX")
        base=$DISK_W
        ;;
      *) die "unknown medium $medium (tmpfs, disk)" ;;
    esac
    mkdir -p "$base/root" "$base/get"
    local fstype; fstype=$(df -T "$base" | awk 'NR == 2 { print $2 }')
    [ "$medium" != disk ] || [ "$fstype" != tmpfs ] || die "--disk-dir $DISK_DIR is tmpfs"
    fstypes+=("$medium: $(df -T "$base" | awk 'NR == 2 { print $1 }') ($fstype) $base")
    if [ -f "$W/loopback/root/src.manifest" ] && [ "$medium" = disk ]; then
      echo "copying the tree to $base..." >&2
      cp -a "$W/loopback/root/src" "$W/loopback/root/src.manifest" "$base/root/"
    else
      read -r files bytes < <(make_tree "$base/root/src" "$SMALL" "$DIRS" 8192 24576 "$LARGE" "$LARGE_BYTES")
      echo "$files $bytes" >"$W/loopback.size"
    fi
    read -r files bytes <"$W/loopback.size"
    [ -n "$bytes" ] || die "making the tree failed"
    sync
    start_serve "$base/root" "$base/state" 127.0.0.1
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "# loopback, $medium ($base), load average $load0" >&2
    run_rows "$medium" "$base" 127.0.0.1
    loads+=("$medium rows: $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after")
    stop_pid "$SERVE_PID"
    [ "$medium" != disk ] || rm -rf "$base/root/src"
  done
  stop_pid "$SSH_PID"
  say ""
  say "### Loopback: $files files, $(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1048576 }') MiB ($SMALL of 8-24 KiB in $DIRS directories + $LARGE x $LARGE_SIZE), 127.0.0.1"
  say ""
  say "ssh: $(ssh -V 2>&1), default cipher $cipher; scp -r uses the SFTP protocol (OpenSSH >= 9 default); rsync $(rsync --version | head -1 | awk '{ print $3 }')."
  say "ferry: $FERRY_FROM; server root on the same medium as the tree; send = client to server, get = server to client."
  say "Media: $(printf '%s; ' "${fstypes[@]}")disk rows start after a sync. Load average: $(printf '%s; ' "${loads[@]}")"
  say "seconds: median of $RUNS run(s) (runs interleaved across rows), each checked file by file; files/s and MB/s (10^6 bytes of file data per second) from the median."
  say ""
  say "| tool | direction | medium | seconds | files/s | MB/s | runs (s) | result |"
  say "|---|---|---|---|---|---|---|---|"
  table_rows "$files" "$bytes" "${ROW_KEYS[@]}" | tee -a "$REPORT_BODY"
}

# --- wan ---------------------------------------------------------------------------------------------------
wan() {
  local tools=${TOOLS:-rsync tar ferry-udp} base=$W/wan files bytes
  local NS_A=$FERRY_WAN_NAME-a NS_B=$FERRY_WAN_NAME-b B=10.77.0.2
  mkdir -p "$base/root" "$base/get"
  read -r files bytes < <(make_tree "$base/root/src" "$WAN_SMALL" "$WAN_DIRS" 8192 24576 "$WAN_LARGE" "$WAN_LARGE_BYTES")
  WAN_UP=1
  "$WAN" up --rate "$RATE" --delay "$DELAY" --loss "$LOSS" --queue 1000 --seed "$SEED" >&2
  local ns
  for ns in "$NS_A" "$NS_B"; do
    # BBR on both hosts (the kernel's default here, set anyway); no per-destination metrics carried between runs.
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_congestion_control=bbr net.ipv4.tcp_no_metrics_save=1
  done
  local cc; cc="$(ip netns exec "$NS_A" sysctl -n net.ipv4.tcp_congestion_control) (client) / $(ip netns exec "$NS_B" sysctl -n net.ipv4.tcp_congestion_control) (server)"
  CLIENT_NS=$NS_A
  start_sshd "$B" "$NS_B"
  start_serve "$base/root" "$base/state" "$B" "$NS_B"
  ROW_KEYS=()
  local t d
  for t in $tools; do for d in $DIRECTIONS; do ROW_KEYS+=("$t.$d.wan"); done; done
  local load0; load0=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "# wan ($RATE, $DELAY, $LOSS), load average $load0" >&2
  run_rows wan "$base" "$B"
  local load1; load1=$(cut -d' ' -f1-3 /proc/loadavg)
  stop_pid "$SERVE_PID"; stop_pid "$SSH_PID"
  local counters; counters=$("$WAN" down 2>&1 | grep -E ' final (a->b|b->a):' | sed 's/^\[ *\([0-9.]*\) s\] final /after \1 s: /' | tr '\n' ';' || true)
  WAN_UP=0
  CLIENT_NS=""
  say ""
  say "### WAN: $files files, $(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1048576 }') MiB ($WAN_SMALL of 8-24 KiB in $WAN_DIRS directories + $WAN_LARGE x $WAN_LARGE_SIZE), bench/WanEmu $RATE, $DELAY one-way, $LOSS loss, queue 1000, seed $SEED"
  say ""
  say "TCP congestion control $cc; ssh default cipher $SSH_CIPHER; ferry: $FERRY_FROM; tmpfs both sides."
  say "Load average $load0 before, $load1 after. Goodput = file bytes x 8 / wall time of the whole command (median of $RUNS run(s)); timeout $TIMEOUT s per run."
  say "Emulator's final counters: $counters"
  say ""
  say "| tool | direction | medium | seconds | files/s | MB/s | Mbit/s | runs (s) | result |"
  say "|---|---|---|---|---|---|---|---|---|"
  WANMBIT=1 table_rows "$files" "$bytes" "${ROW_KEYS[@]}" | tee -a "$REPORT_BODY"
}

# --- rss ---------------------------------------------------------------------------------------------------
rss() {
  local tools=${TOOLS:-ferry-udp ferry-tcp} base=$W/rss files bytes
  local RSS_DIRS=$(( (RSS_FILES + 99) / 100 ))   # 100 files a directory, as in the loopback tree
  mkdir -p "$base/root" "$base/get"
  read -r files bytes < <(make_tree "$base/root/src" "$RSS_FILES" "$RSS_DIRS" 1024 8192 0 0)
  ROW_KEYS=()
  local t d
  for t in $tools; do for d in $DIRECTIONS; do ROW_KEYS+=("$t.$d.rss"); done; done
  local load0; load0=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "# rss, load average $load0" >&2
  SERVE_PID=""
  run_rows rss "$base" 127.0.0.1 rss
  stop_pid "$SERVE_PID"
  say ""
  say "### Peak RSS: $files files, $(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1048576 }') MiB (1-8 KiB each in $RSS_DIRS directories), 127.0.0.1, tmpfs"
  say ""
  say "ferry: $FERRY_FROM. Client: /usr/bin/time maximum resident set size; server: VmHWM of a server started fresh for each run. Largest over $RUNS run(s)."
  say "Load average $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after."
  say ""
  say "| tool | direction | medium | seconds | files/s | MB/s | client peak RSS (MiB) | server peak RSS (MiB) | runs (s) | result |"
  say "|---|---|---|---|---|---|---|---|---|---|"
  RSSCOLS=1 table_rows "$files" "$bytes" "${ROW_KEYS[@]}" | tee -a "$REPORT_BODY"
}

CLIENT_NS=""
SERVER_NS=""
for m in "${MODES[@]}"; do
  case "$m" in
    loopback) loopback ;;
    wan) wan ;;
    rss) rss ;;
  esac
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p bench/results
REPORT=bench/results/$(date +%Y-%m-%d-%H%M)-trees.md
{
  echo "## Directory trees, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command: \`bench/trees.sh $ARGS\`; commit $COMMIT; host $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB;" \
    "load average $LOAD_BEFORE at the start, $LOAD_AFTER at the end (a shared machine: absolute figures are noisy)."
  cat "$REPORT_BODY"
} >"$REPORT"
echo
echo "load average: $LOAD_BEFORE at the start, $LOAD_AFTER at the end; written to $REPORT"
