#!/usr/bin/env bash
# Long mutational fuzzing campaign over every Ferry parser (the targets of tests/Ferry.Tests/Fuzz).
# Usage: bench/fuzz.sh [--seed N] [--inputs N] [--minutes M]
#   --seed N     campaign seed (default: random); the same seed replays the same inputs
#   --inputs N   inputs per target (default: unlimited, bounded by --minutes)
#   --minutes M  total wall time, split evenly over the targets (default 10)
# Prints inputs tried per target; crashing inputs are saved as hex under bench/out/fuzz/ (one file each).
# Runs on one core (the fuzz theories run one after another).
set -euo pipefail
cd "$(dirname "$0")/.."
SEED=$(( (RANDOM << 15) | RANDOM ))
INPUTS=1000000000000
MINUTES=10
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) SEED=$2; shift 2 ;;
    --inputs) INPUTS=$2; shift 2 ;;
    --minutes) MINUTES=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

OUT=bench/out/fuzz
mkdir -p "$OUT"
rm -f "$OUT/summary-$SEED.txt"
TARGETS=$(grep -c '\.Target,' tests/Ferry.Tests/Fuzz/FuzzTargets.cs)
SECONDS_PER_TARGET=$(( MINUTES * 60 / TARGETS ))
echo "fuzz campaign: seed $SEED, $TARGETS targets, ${SECONDS_PER_TARGET}s and at most $INPUTS inputs each ($(uptime | sed 's/.*load/load/'))"

dotnet build tests/Ferry.Tests -c Release >/dev/null
status=0
FERRY_FUZZ_SEED=$SEED FERRY_FUZZ_INPUTS=$INPUTS FERRY_FUZZ_SECONDS=$SECONDS_PER_TARGET FERRY_FUZZ_OUT="$PWD/$OUT" \
  dotnet test tests/Ferry.Tests -c Release --no-build --filter "FullyQualifiedName~Ferry.Tests.Fuzz.FuzzCampaignTests" \
  --logger "console;verbosity=minimal" >"$OUT/test-$SEED.log" 2>&1 || status=$?

echo
cat "$OUT/summary-$SEED.txt"
awk '{ for (i = 1; i <= NF; i++) if ($i == "inputs") { gsub(",", "", $(i+1)); total += $(i+1) } } END { printf "total inputs: %d\n", total }' "$OUT/summary-$SEED.txt"
crashes=$(ls "$OUT"/crash-*-"$SEED"-*.txt 2>/dev/null || true)
if [ -n "$crashes" ]; then
  echo "CRASHES (hex input, then the error):"
  for f in $crashes; do echo "== $f"; head -3 "$f"; done
  exit 1
fi
[ "$status" = 0 ] || { echo "test run failed, see $OUT/test-$SEED.log"; exit "$status"; }
echo "no crashes"
