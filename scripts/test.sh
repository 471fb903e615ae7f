#!/usr/bin/env bash
# Quickstart 2: set up, build and run every test: the C++ suites (ctest, which
# also replays the fuzz regression corpus), a consumer project built against
# the installed package, and the Python suite with the notebooks.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"

echo "== C++ tests (ctest)" >&2
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 600

echo "== install and build examples/consumer against it" >&2
cmake --install "$BUILD_DIR" --prefix "$BUILD_DIR/install" >/dev/null
CONSUMER_BUILD="$BUILD_DIR/consumer"
cmake -S "$ROOT/examples/consumer" -B "$CONSUMER_BUILD" -G Ninja \
  -DCMAKE_PREFIX_PATH="$BUILD_DIR/install" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$CONSUMER_BUILD" -j "$JOBS" >/dev/null
"$CONSUMER_BUILD/consumer"

if [[ -f "$ROOT/pyproject.toml" ]]; then
  echo "== Python package and tests" >&2
  "$VENV/bin/python" -m pip install -q --no-build-isolation "$ROOT"
  # Two runs: each suite has its own conftest.py module.
  "$VENV/bin/python" -m pytest -q "$ROOT/tests/python"
  echo "== evaluation harness tests" >&2
  "$VENV/bin/python" -m pytest -q "$ROOT/tests/harness"
fi
echo "== all tests passed" >&2
