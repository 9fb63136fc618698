#!/usr/bin/env bash
# Emulated WAN link between two network namespaces, through bench/WanEmu (a TUN-to-TUN packet forwarder with
# delay, rate, drop-tail queue, loss, bursty loss, reordering, duplication, corruption). Needs root.
#
#   bench/wan.sh up [--rate 100M] [--delay 25ms] [--loss 1%] [--queue 1000] [--burst P_GB,P_BG[,L_BAD[,L_GOOD]]]
#                   [--seed N] [--stats-interval S] [--json] [any other WanEmu option, see WanEmu --help]
#   bench/wan.sh down                  stop the emulator (prints its final counters), delete the namespaces
#   bench/wan.sh status                namespaces, emulator, counters now (SIGHUP), TUN drop counters
#   bench/wan.sh log                   the emulator's output so far (ready line, link, counters)
#   bench/wan.sh exec A|B CMD...       run CMD inside namespace A (10.77.0.1) or B (10.77.0.2)
#   bench/wan.sh run [up options] -- CMD...   up, run CMD (in the root namespace), always down; exits with CMD's code
#
# Host A is 10.77.0.1/24 on device wan0 in namespace ${FERRY_WAN_NAME:-ferry}-a, host B 10.77.0.2/24 in
# ${FERRY_WAN_NAME:-ferry}-b; MTU 1500. The namespaces have no other interface than lo, so traffic can only go
# between the two emulated hosts. Link options apply to both directions; prefix with ab-/ba- for one
# (--ab-loss 1% loses only A->B packets). Loss happens on the wire after the bottleneck unless
# --loss-before-queue. Set FERRY_WAN_NAME to run several links at once (each has its own namespaces).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=${FERRY_WAN_NAME:-ferry}
NS_A=$NAME-a
NS_B=$NAME-b
DEV=wan0
ADDR_A=10.77.0.1
ADDR_B=10.77.0.2
STATE=/run/$NAME-wan
PROJ=$ROOT/bench/WanEmu
DLL=$PROJ/bin/Release/net10.0/WanEmu.dll

die() { echo "wan.sh: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "needs root (network namespaces, TUN devices)"; }
emu_pid() { [ -f "$STATE/pid" ] && cat "$STATE/pid"; }
any_alive() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
emu_alive() { local p; p=$(emu_pid) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

build() {
  # Rebuild only when a source is newer than the last build (several scripts may call up in a row).
  if [ ! -f "$DLL" ] || [ -n "$(find "$PROJ" -maxdepth 1 \( -name '*.cs' -o -name '*.csproj' \) -newer "$DLL")" ]; then
    local out
    out=$(dotnet build "$PROJ" -c Release -nologo -v q 2>&1) || { echo "$out" | grep -E " error " >&2; die "building $PROJ failed"; }
    touch "$DLL"
  fi
}

teardown() {
  local p
  if p=$(emu_pid) && [ -n "$p" ]; then
    if kill -TERM "$p" 2>/dev/null; then
      for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
    fi
    grep -E '^\[.*\] final |"event":"(final|gc)"|^gc:' "$STATE/emu.log" 2>/dev/null || true
  fi
  # Processes still inside the namespaces (servers started with exec) would keep them alive, unreachable.
  local pids
  pids=$( (ip netns pids "$NS_A"; ip netns pids "$NS_B") 2>/dev/null | sort -u | tr '\n' ' ')
  if [ -n "${pids// /}" ]; then
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 50); do any_alive $pids || break; sleep 0.1; done
    kill -KILL $pids 2>/dev/null || true
  fi
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  rm -rf "$STATE"
}

setup_ns() { # NS ADDR
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip -n "$1" tuntap add dev "$DEV" mode tun
  ip -n "$1" addr add "$2/24" dev "$DEV"
  # A deep TUN transmit ring: if the emulator thread is descheduled for a few ms on this busy machine,
  # packets wait there instead of being dropped before the emulated queue sees them.
  ip -n "$1" link set "$DEV" mtu 1500 txqueuelen 10000 up
  ip netns exec "$1" sysctl -qw "net.ipv6.conf.$DEV.disable_ipv6=1"
  # Let TCP grow windows past the bandwidth-delay product of the slowest link in the matrix (100M x 200 ms plus
  # a 2000-packet queue); these sysctls are per namespace and vanish with it.
  ip netns exec "$1" sysctl -qw net.ipv4.tcp_rmem="4096 131072 33554432" net.ipv4.tcp_wmem="4096 16384 33554432"
}

up() {
  need_root
  [ -c /dev/net/tun ] || die "/dev/net/tun missing"
  command -v ip >/dev/null || die "ip (iproute2) missing"
  if [ -d "$STATE" ] || ip netns list | grep -qE "^($NS_A|$NS_B)( |$)"; then
    die "a link named '$NAME' is already up (bench/wan.sh down first, or set FERRY_WAN_NAME)"
  fi
  build
  trap 'teardown; trap - EXIT; exit 1' EXIT
  mkdir -p "$STATE"
  setup_ns "$NS_A" "$ADDR_A"
  setup_ns "$NS_B" "$ADDR_B"
  # setsid: the emulator outlives this script and is not hit by the caller's Ctrl+C; down stops it.
  # --realtime 10 first so a caller's --realtime 0 wins: forwarding threads run SCHED_FIFO, see LinkDirection.
  setsid dotnet "$DLL" --a "$NS_A:$DEV" --b "$NS_B:$DEV" --realtime 10 "$@" >"$STATE/emu.log" 2>&1 </dev/null &
  echo $! >"$STATE/pid"
  for _ in $(seq 300); do
    grep -q '^ready' "$STATE/emu.log" && break
    emu_alive || { cat "$STATE/emu.log" >&2; die "emulator exited"; }
    sleep 0.1
  done
  grep -q '^ready' "$STATE/emu.log" || { cat "$STATE/emu.log" >&2; die "emulator not ready after 30 s"; }
  trap - EXIT
  echo "wan up: A=$ADDR_A ($NS_A) <-> B=$ADDR_B ($NS_B), emulator pid $(emu_pid)"
  grep -E '^(a->b|b->a):' "$STATE/emu.log"
}

status() {
  for ns in "$NS_A" "$NS_B"; do
    if ip netns list | grep -qE "^$ns( |$)"; then
      echo "$ns: $(ip -n "$ns" -o -4 addr show dev "$DEV" 2>/dev/null | awk '{print $4}')"
      ip -n "$ns" -s link show "$DEV" | sed -n '/TX:/,+1p' | sed 's/^/  tun /'
    else
      echo "$ns: absent"
    fi
  done
  if emu_alive; then
    local before
    before=$(grep -cE '^\[.*\] counters |"event":"counters"' "$STATE/emu.log" || true)
    kill -HUP "$(emu_pid)"
    for _ in $(seq 30); do
      [ "$(grep -cE '^\[.*\] counters |"event":"counters"' "$STATE/emu.log" || true)" -ge $((before + 2)) ] && break
      sleep 0.1
    done
    echo "emulator pid $(emu_pid):"
    grep -E '^(a->b|b->a):' "$STATE/emu.log"
    grep -E '^\[.*\] counters |"event":"counters"' "$STATE/emu.log" | tail -2
  else
    echo "emulator: not running"
    return 1
  fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  up) up "$@" ;;
  down) need_root; teardown ;;
  status) status ;;
  log) [ -f "$STATE/emu.log" ] || die "no link named '$NAME' is up"; cat "$STATE/emu.log" ;;
  exec)
    need_root
    case "${1:-}" in
      A|a) ns=$NS_A ;;
      B|b) ns=$NS_B ;;
      *) die "exec A|B CMD..." ;;
    esac
    shift
    [ $# -gt 0 ] || die "exec A|B CMD..."
    exec ip netns exec "$ns" "$@"
    ;;
  run)
    opts=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "run [up options] -- CMD..."
    up "${opts[@]}"
    trap teardown EXIT
    trap 'exit 130' INT TERM
    rc=0
    "$@" || rc=$?
    exit "$rc"
    ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
