#!/usr/bin/env bash
# Runs every Ferry test (unit, deterministic simulation, end-to-end, interop).
# As root it installs the Debian packages the tests need; otherwise it says exactly what is missing.
# Ends with a plain summary line: "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."

# Debian packages used by interop and end-to-end tests.
# (atftpd is left out on purpose: it conflicts with tftpd-hpa, which the TFTP interop tests need.)
PKGS=(libzmq5 python3-zmq atftp tftp-hpa tftpd-hpa curl iperf3 iproute2 tmux)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # atftpd and tftpd-hpa ship services; never let the package scripts start daemons on port 69.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}") >/tmp/ferry-apt.log 2>&1 \
      || { echo "test.sh: apt-get failed (see /tmp/ferry-apt.log); tests that need these packages will be skipped"; tail -5 /tmp/ferry-apt.log; }
    rm -f /usr/sbin/policy-rc.d
  else
    echo "test.sh: not root, cannot install. Missing Debian packages: ${missing[*]}"
    echo "test.sh: run 'sudo apt-get install ${missing[*]}'; tests that need them will be skipped."
  fi
fi

log=$(mktemp /tmp/ferry-test.XXXXXX.log)
# The benchmark programs (bench/Bench.slnx) are built too, so a change that breaks them fails here, not on the day
# someone measures; they are not run.
bench_failed=0
if [[ " $* " != *" --no-build "* ]]; then
  dotnet build bench/Bench.slnx -c Release --nologo -v quiet 2>&1 | grep -E "error|Warn|Elapsed" | sort -u
  [ "${PIPESTATUS[0]}" -eq 0 ] || { bench_failed=1; echo "test.sh: the benchmark programs do not build (bench/Bench.slnx)"; }
fi
dotnet test Ferry.slnx -c Release --nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# dotnet test prints one line per test assembly, e.g. "Passed!  - Failed: 0, Passed: 12, Skipped: 1, Total: 13, ..."
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- +Failed: ' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1   # the build or the test host failed before any test result was reported
  echo "test.sh: dotnet test exited $rc without a failing test: build or test host error (see above)"
fi
rm -f "$log"
failed=$((failed + bench_failed))
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
