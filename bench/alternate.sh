#!/bin/bash
# Times two builds of a benchmark in alternation and prints each one's
# median and best items/s. On a shared machine a benchmark's speed drifts
# by ±20% within minutes; alternating the two binaries run by run exposes
# them to the same drift, which comparing two separate series does not.
#
# usage: bench/alternate.sh OLD_BINARY NEW_BINARY [ROUNDS] [FILTER]
#   e.g. cp build/bench/engine_benchmark /tmp/before  (then rebuild)
#        bench/alternate.sh /tmp/before build/bench/engine_benchmark 16
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 OLD_BINARY NEW_BINARY [ROUNDS] [FILTER]" >&2
  exit 2
fi
old=$1 new=$2 rounds=${3:-8} filter=${4:-'BM_Engine_Ingest/1000/7$'}
for binary in "$old" "$new"; do
  [[ -x $binary ]] || { echo "$0: $binary is not an executable" >&2; exit 2; }
done
rate() {
  "$1" --benchmark_filter="$filter" --benchmark_min_time=0.5 2>/dev/null |
    grep -o 'items_per_second=[0-9.]*[kMG]*' | head -1 | cut -d= -f2
}
for ((round = 1; round <= rounds; ++round)); do
  for binary in "$old" "$new"; do
    value=$(rate "$binary")
    [[ -n $value ]] || { echo "$0: $binary reported no items_per_second for $filter" >&2; exit 1; }
    echo "$binary $value"
  done
done | python3 -c '
import statistics, sys
scale = {"k": 1e3, "M": 1e6, "G": 1e9}
runs = {}
for line in sys.stdin:
    binary, value = line.split()
    factor = scale.get(value[-1], 1)
    runs.setdefault(binary, []).append(float(value.rstrip("kMG")) * factor / 1e6)
# Each round ran the old binary, then the new one: their ratio within a
# round is the steadiest figure when the machine drifts.
pairs = list(runs.items())
if len(pairs) == 2:  # not when OLD and NEW are the same path
    (old, before), (new, after) = pairs
    ratios = sorted(b / a for a, b in zip(before, after))
for binary, values in runs.items():
    values.sort()
    print(f"{binary}: median {statistics.median(values):.2f} best {values[-1]:.2f} "
          f"M items/s over {len(values)} runs: " + " ".join(f"{v:.2f}" for v in values))
if len(pairs) == 2:
    print(f"{new} / {old}: median ratio {statistics.median(ratios):.3f} over {len(ratios)} "
          f"rounds (range {ratios[0]:.3f}-{ratios[-1]:.3f})")
'
