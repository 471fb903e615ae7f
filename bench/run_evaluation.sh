#!/usr/bin/env bash
# Runs timescan's whole evaluation and writes bench/out/report.md with its PNG plots.
#
#   bench/run_evaluation.sh [options] [-- extra options for `python -m harness`]
#
# What it does:
#   1. builds the CLI (build/timescan, target timescan_cli; configures build/ the way
#      scripts/setup.sh does if it has never been configured),
#   2. builds the Random Cut Forest peer (bench/harness/rcf, `mvn -q package`; Maven
#      resolves randomcutforest-core from Maven Central on the first build only),
#   3. installs bench/harness/requirements.txt from PyPI into the project's .venv
#      (created if missing; reinstalled only when the file changes),
#   4. runs the evaluation (bench/harness, `python -m harness`):
#      - NAB: every series of the corpus (--nab) through `timescan score` as metric
#        events, scored by NAB's rules (standard, reward-low-FP, reward-low-FN), next to
#        NAB's null detector and windowed Gaussian;
#      - the simulator suite: `timescan simulate` scenarios scored by timescan and by the
#        peers (river HalfSpaceTrees on window vectors and streamed event by event, PyOD
#        IForest, AWS Random Cut Forest, an allowlist, a windowed Gaussian): recall, time
#        to detect, false findings per entity-day, precision, ROC/PR AUC and throughput
#        as ratios (end to end and model only, like with like);
#      - a grid sweep over `timescan score --window/--learn/--threshold`;
#   5. writes OUT/report.md, OUT/*.png, OUT/results.json and OUT/sweep.csv.
#
# Options:
#   --quick           one short scenario (10 h, 4 h learning, half load) and a 12-point
#                     sweep: a few minutes. The default (full) runs three 30 h scenarios
#                     (~2 M events each) and a 48-point sweep: about 15-25 minutes on 2 cores.
#   --out DIR         report folder (default bench/out)
#   --nab DIR         NAB corpus (default ../shared/datasets/nab beside the checkout)
#   --peers LIST      comma-separated subset of allowlist,gaussian,iforest,hst,hst-stream,rcf
#                     (default all; "" for none; hst-stream: river fed event by event)
#   --skip-nab, --skip-sim, --skip-sweep
#                     leave a part out
#   --no-build        use the existing build/timescan and RCF jar as they are
#   --no-install      do not install Python requirements (use the venv as it is)
#   -h, --help        this text
#
# Environment: TIMESCAN_BUILD_DIR (default build), TIMESCAN_JOBS (default 2),
# TIMESCAN_VENV (the Python venv; default .venv; with --no-install an existing venv,
# e.g. another checkout's, is used read-only), PYTHON (to create the venv; default python3).
# Network: only PyPI and Maven Central, and only in steps 2-3 when something is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${TIMESCAN_BUILD_DIR:-$ROOT/build}"
JOBS="${TIMESCAN_JOBS:-2}"
VENV="${TIMESCAN_VENV:-$ROOT/.venv}"
RCF_DIR="$ROOT/bench/harness/rcf"
RCF_JAR="$RCF_DIR/target/rcf-peer.jar"

log() { printf 'run_evaluation: %s\n' "$*" >&2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

build=1 install=1 peers="allowlist,gaussian,iforest,hst,hst-stream,rcf"
args=()
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --quick|--skip-nab|--skip-sim|--skip-sweep|--keep-events) args+=("$1") ;;
    --out|--nab) [[ $# -ge 2 ]] || { log "$1 needs a value"; exit 2; }; args+=("$1" "$2"); shift ;;
    --peers) [[ $# -ge 2 ]] || { log "--peers needs a value"; exit 2; }; peers="$2"; shift ;;
    --no-build) build=0 ;;
    --no-install) install=0 ;;
    --) shift; args+=("$@"); break ;;
    *) log "unknown option $1 (see --help)"; exit 2 ;;
  esac
  shift
done
args+=(--peers "$peers" --timescan "$BUILD_DIR/timescan" --rcf-jar "$RCF_JAR")

# --- 1. the CLI -------------------------------------------------------------------
if ((build)); then
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    command -v cmake >/dev/null && command -v ninja >/dev/null || {
      log "cmake and ninja are missing: run scripts/setup.sh first (it installs the toolchain)"
      exit 1; }
    log "configuring $BUILD_DIR"
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_INSTALL_PREFIX="$BUILD_DIR/install" >&2
  fi
  log "building the CLI"
  cmake --build "$BUILD_DIR" --target timescan_cli -j "$JOBS" >&2
fi
[[ -x "$BUILD_DIR/timescan" ]] || { log "no CLI at $BUILD_DIR/timescan"; exit 1; }

# --- 2. the Random Cut Forest peer ------------------------------------------------------
if [[ ",$peers," == *",rcf,"* ]] && ((build)); then
  if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      log "installing Maven and a JDK (Debian packages)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q >&2 && apt-get install -y -q --no-install-recommends maven default-jdk-headless >&2
    else
      log "Maven and a JDK are needed for the rcf peer: install them, or pass --peers without rcf"
      exit 1
    fi
  fi
  if [[ ! -f "$RCF_JAR" || -n "$(find "$RCF_DIR/pom.xml" "$RCF_DIR/src" -newer "$RCF_JAR" -print -quit)" ]]; then
    log "building the Random Cut Forest peer (mvn package)"
    mvn -q -B -f "$RCF_DIR/pom.xml" package >&2
  fi
fi

# --- 3. the Python environment ----------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
fi
if ((install)); then
  REQ="$ROOT/bench/harness/requirements.txt"
  stamp="$VENV/.harness-requirements.sha256"
  want="$(sha256sum "$REQ" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]] \
     || ! "$VENV/bin/python" -c 'import numpy, pandas, matplotlib, sklearn, pyod, river' 2>/dev/null; then
    log "installing the harness's Python requirements"
    "$VENV/bin/python" -m pip install -q -r "$REQ" >&2
    echo "$want" > "$stamp"
  fi
fi

# --- 4-5. the evaluation --------------------------------------------------------------
cd "$ROOT/bench"
exec "$VENV/bin/python" -W ignore::DeprecationWarning -m harness "${args[@]}"
