#!/usr/bin/env bash
# Sets up a Debian 12 machine (as root) to build and test timescan, then
# builds it. Idempotent: a second run installs nothing and rebuilds only what
# changed. Sourced by scripts/demo.sh and scripts/test.sh.
#
#   TIMESCAN_BUILD_DIR  CMake build directory (default: build)
#   TIMESCAN_JOBS       parallel build jobs (default: 2)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${TIMESCAN_BUILD_DIR:-$ROOT/build}"
JOBS="${TIMESCAN_JOBS:-2}"
VENV="$ROOT/.venv"

log() { printf 'setup: %s\n' "$*" >&2; }

# --- system packages (Debian 12) ----------------------------------------------
APT_PACKAGES=(
  cmake ninja-build g++ pkg-config
  libeigen3-dev libabsl-dev libprotobuf-dev protobuf-compiler libsimdjson-dev
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  python3 python3-dev python3-venv
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    log "need root to install packages: run as root, or install: ${missing[*]}"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- Python environment -----------------------------------------------------------
REQUIREMENTS="$ROOT/python/requirements-dev.txt"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
fi
if [[ -f "$REQUIREMENTS" ]]; then
  stamp="$VENV/.requirements.sha256"
  want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    log "installing Python requirements"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r "$REQUIREMENTS"
    echo "$want" > "$stamp"
  fi
fi

# --- C++ build ------------------------------------------------------------------
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  log "configuring $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$BUILD_DIR/install" >&2
fi
log "building (-j$JOBS)"
cmake --build "$BUILD_DIR" -j "$JOBS" >&2
