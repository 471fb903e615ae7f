#!/usr/bin/env python3
"""Benchmark: ingesting a large pandas DataFrame through timescan.Engine.

Measures, on one core, for a DataFrame of N rows (default 10 M) with 1,000
entities over two hours (one learning hour, one scored hour):

  convert the Python layer alone: the DataFrame to engine-ready columns
          (what Engine.ingest adds to the C++ engine's own time).
  cpp     the C++ engine alone: the events' columns are already symbols and
          codes (converted before the clock starts); the bindings build
          Events in chunks and call Engine::Ingest with the GIL released.
          This is the floor the Python layer adds to.
  python  Engine.ingest(df) end to end: factorize the string columns,
          intern their distinct values, gather symbols, check every row,
          then the same C++ loop.

for string columns stored as pandas categoricals ("category": what
timescan.sim, parquet dictionary columns and astype("category") give) and
as Python strings ("object"; pandas' default "str" dtype in pandas 3 is
measured with --strings str).

Two data sets (--data): "uniform" (default), the worst case for the
categorical model: every event's subject drawn uniformly from 200 routes and
its actor from 20, whatever the kind, so an entity window holds ~120
distinct values, near the per-window cap; and "fleet", the labelled
simulator's fleet (timescan.sim at the load that gives N rows; 24 h learned,
then deploys, jobs, autoscaling and attacks), the shape of real container
telemetry: few executables, a handful of destinations, routes with ids.

Memory: the peak resident memory added during the call (the process's
high-water mark is reset before it through /proc/self/clear_refs), next to
what a C++ program holding the same events in memory needs (40 bytes per
timescan::Event) and the DataFrame's own size.

Usage:
  .venv/bin/python bench/python_ingest_bench.py                 # 10 M rows
  .venv/bin/python bench/python_ingest_bench.py --rows 2000000 --strings object
  .venv/bin/python bench/python_ingest_bench.py --no-models --repeat 3 --json out.json

Each case runs in a fresh process, so that one case's freed memory does not
hide the next one's peak.

Target (issue 6): >= 5 M events/s on one core for the DataFrame path, and
memory within 2x of the C++ engine's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import pandas as pd

import timescan
from timescan import _ingest

EVENT_BYTES = 40  # sizeof(timescan::Event)
START = pd.Timestamp("2026-11-02T00:00:00Z")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def release_free_memory() -> None:
    """Returns freed heap memory to the OS (glibc), so that the next peak
    counts new allocations rather than reused ones."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak() -> bool:
    """Resets VmHWM (Linux >= 4.0); returns False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def make_frame(rows: int, entities: int, strings: str, seed: int = 1) -> pd.DataFrame:
    """Returns `rows` events of `entities` containers over two hours."""
    rng = np.random.default_rng(seed)
    groups = 20
    entity_names = np.array([f"c-{i:05d}-{rng.integers(1 << 40):010x}" for i in range(entities)], dtype=object)
    group_names = np.array([f"registry.local/shop/svc-{g}" for g in range(groups)], dtype=object)
    kinds = np.array(["request", "connect", "exec", "metric"], dtype=object)
    routes = np.array([f"/api/v1/items/{i}" for i in range(200)], dtype=object)
    actors = np.array([f"/usr/bin/app-{i}" for i in range(20)], dtype=object)

    entity = rng.integers(0, entities, rows)
    kind = rng.choice(4, rows, p=[0.6, 0.3, 0.02, 0.08])
    subject = rng.integers(0, len(routes), rows)
    actor = rng.integers(0, len(actors), rows)
    offsets = np.sort(rng.integers(0, 2 * 3_600_000_000_000, rows))
    value = rng.gamma(2.0, 10.0, rows)
    status = np.where(kind == 0, 200.0, np.nan)

    def column(codes: np.ndarray, names: np.ndarray) -> object:
        if strings == "category":
            return pd.Categorical.from_codes(codes.astype(np.int32), categories=names)
        values = names[codes]
        return pd.array(values, dtype="str") if strings == "str" else values

    return pd.DataFrame({
        "time": pd.DatetimeIndex(START.value + offsets, tz="UTC"),
        "entity": column(entity, entity_names),
        "group": column(entity % groups, group_names),
        "kind": column(kind, kinds),
        "subject": column(subject, routes),
        "actor": column(actor, actors),
        "value": value,
        "status": status,
    }, copy=False)


def make_fleet(rows: int, strings: str) -> pd.DataFrame:
    """Returns the first `rows` events of the simulated fleet (30 h, 24 h of
    learning), at the load that gives about that many."""
    # About 1.93 M events per 30 h at load 1 (timescan.sim.generate).
    events, _ = timescan.sim.generate(seed=1, load=rows / 1.93e6 * 1.02, deploys=True)
    df = events.iloc[:rows].reset_index(drop=True)
    if strings != "category":
        for c in ("entity", "group", "kind", "subject", "actor"):
            values = df[c].astype(object).to_numpy()
            df[c] = pd.array(values, dtype="str") if strings == "str" else values
    return df


def frame_bytes(df: pd.DataFrame) -> int:
    return int(df.memory_usage(deep=True, index=False).sum())


def run(df: pd.DataFrame, mode: str, engine_options: dict, learn: str = "1h") -> dict:
    engine = timescan.Engine(window="1min", learn=learn, **engine_options)
    cols = None
    if mode == "cpp":
        cols, bad, _ = _ingest.convert_all(engine._core, df)
        assert bad == 0
    gc.collect()
    release_free_memory()
    before = rss_bytes()
    tracked = reset_peak()
    t0 = time.perf_counter()
    if mode == "cpp":
        cols.ingest_into(engine._core)
    elif mode == "convert":
        rows = 0
        for cols, _, _ in _ingest.convert(engine._core, df):
            rows += len(cols)
            del cols
        assert rows == len(df)
    else:
        engine.ingest(df)
    seconds = time.perf_counter() - t0
    peak = peak_bytes() if tracked else rss_bytes()
    engine.flush()
    stats = engine.stats
    assert stats["events"] == (0 if mode == "convert" else len(df)), stats
    return {
        "mode": mode,
        "seconds": seconds,
        "events_per_s": len(df) / seconds,
        "peak_added_bytes": max(0, peak - before),
        "windows_scored": stats["windows_scored"],
        "findings": stats["findings"],
    }


def child(args: argparse.Namespace) -> int:
    """Runs one (strings, mode) case in this fresh process; prints JSON."""
    if args.data == "fleet":
        df = make_fleet(args.rows, args.strings)
    else:
        df = make_frame(args.rows, args.entities, args.strings)
    options = {"categorical_model": False, "count_model": False} if args.no_models else {}
    result = run(df, args.mode, options, learn="24h" if args.data == "fleet" else "1h")
    result.update(strings=args.strings, rows=args.rows, frame_bytes=frame_bytes(df))
    print(json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--entities", type=int, default=1000)
    parser.add_argument("--strings", choices=["category", "object", "str", "all"], default="all")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the fastest is kept")
    parser.add_argument("--no-models", action="store_true",
                        help="turn both model families off: the bindings and routing alone")
    parser.add_argument("--data", choices=["uniform", "fleet"], default="uniform",
                        help="uniform: worst-case value cardinality; fleet: the simulator's fleet")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--mode", choices=["convert", "cpp", "python"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        return child(args)

    kinds = ["category", "object", "str"] if args.strings == "all" else [args.strings]
    print(f"timescan {timescan.__version__}, pandas {pd.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}")
    shape = (f"{args.entities:,} entities, 2 h of event time, window 1 min, learn 1 h"
             if args.data == "uniform" else
             "the simulated fleet (30 h, window 1 min, learn 24 h)")
    print(f"{args.rows:,} rows of {args.data} data: {shape}, "
          f"models {'off' if args.no_models else 'on (defaults)'}; "
          f"each case in a fresh process, best of {args.repeat}\n")
    header = (f"{'strings':<9} {'path':<7} {'seconds':>8} {'M events/s':>11} "
              f"{'peak added MiB':>15} {'B/event':>8} {'DataFrame MiB':>14}")
    print(header)
    print("-" * len(header))
    results = []
    for strings in kinds:
        for mode in ("convert", "cpp", "python"):
            runs = []
            for _ in range(args.repeat):
                command = [sys.executable, os.path.abspath(__file__), "--mode", mode,
                           "--strings", strings, "--rows", str(args.rows), "--data", args.data,
                           "--entities", str(args.entities)] + (["--no-models"] if args.no_models else [])
                out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                runs.append(json.loads(out.strip().splitlines()[-1]))
            r = min(runs, key=lambda x: x["seconds"])
            r["peak_added_bytes"] = max(x["peak_added_bytes"] for x in runs)
            results.append(r)
            print(f"{strings:<9} {mode:<7} {r['seconds']:>8.2f} {r['events_per_s'] / 1e6:>11.2f} "
                  f"{r['peak_added_bytes'] / 2**20:>15.0f} {r['peak_added_bytes'] / args.rows:>8.1f} "
                  f"{r['frame_bytes'] / 2**20:>14.0f}", flush=True)
    events_mib = args.rows * EVENT_BYTES / 2**20
    print(f"\n'convert': the Python layer alone (factorize/intern/check, no engine);\n"
          f"'cpp': the C++ engine fed columns already converted (its own speed and state);\n"
          f"'python': Engine.ingest(df) end to end. A C++ program holding the same events in\n"
          f"memory needs {events_mib:,.0f} MiB of Events ({EVENT_BYTES} B/event) plus the engine's state.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": args.rows, "data": args.data, "entities": args.entities,
                       "no_models": args.no_models,
                       "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
