#!/usr/bin/env bash
# Quickstart 1: set up, build and run `timescan demo`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
exec "$BUILD_DIR/timescan" demo "$@"
