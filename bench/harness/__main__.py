"""Runs the whole evaluation and writes the report: ``python -m harness --help`` (from bench/)."""
from __future__ import annotations

import argparse
import json
import math
import shlex
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path

from . import nab_runner, report, simsuite, sweep

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent


def _versions() -> dict:
    out = {}
    for pkg in ("river", "pyod", "scikit-learn", "numpy", "pandas"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    out["randomcutforest-core"] = "4.2.0 (Java)"
    return out


def _jsonable(x):
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if hasattr(x, "item"):
        return _jsonable(x.item())
    return x


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m harness",
        description="timescan's evaluation: NAB, simulator scenarios with peers, tuning sweep.")
    p.add_argument("--out", type=Path, default=BENCH / "out", help="report folder (bench/out)")
    p.add_argument("--quick", action="store_true",
                   help="one short scenario, a small sweep: a few minutes")
    p.add_argument("--timescan", default=str(ROOT / "build" / "timescan"), help="the CLI")
    p.add_argument("--nab", type=Path, default=ROOT.parent / "shared" / "datasets" / "nab",
                   help="NAB corpus folder (data/, labels/, config/)")
    p.add_argument("--rcf-jar", type=Path,
                   default=BENCH / "harness" / "rcf" / "target" / "rcf-peer.jar")
    p.add_argument("--peers", default="allowlist,gaussian,iforest,hst,hst-stream,rcf",
                   help="comma-separated: " + ",".join(simsuite.PEERS) + " (empty: none)")
    p.add_argument("--skip-nab", action="store_true")
    p.add_argument("--skip-sim", action="store_true")
    p.add_argument("--skip-sweep", action="store_true")
    p.add_argument("--repeats", type=int, default=None,
                   help="timescan runs per scenario, best time kept (default 2; quick 1)")
    p.add_argument("--keep-events", action="store_true",
                   help="keep the simulated events in OUT/work (large)")
    args = p.parse_args(argv)

    peer_names = [x for x in args.peers.split(",") if x]
    unknown = [x for x in peer_names if x not in simsuite.PEERS]
    if unknown:
        p.error(f"unknown peer(s) {unknown}; expected some of {list(simsuite.PEERS)}")
    if not Path(args.timescan).exists():
        p.error(f"{args.timescan}: no timescan CLI there (build it: ninja -C build timescan_cli)")
    if "rcf" in peer_names and not args.rcf_jar.exists():
        p.error(f"{args.rcf_jar}: no RCF jar (build it: mvn -q -f bench/harness/rcf/pom.xml package)")
    repeats = args.repeats or (1 if args.quick else 2)
    out = args.out.resolve()
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    started = time.perf_counter()

    nab_result = None
    errors = {}
    if not args.skip_nab:
        if (args.nab / "labels" / "combined_windows.json").exists():
            log(f"NAB: {args.nab}")
            nab_result = nab_runner.evaluate(args.nab, args.timescan, work / "nab")
            for name, res in nab_result["results"].items():
                log(f"  {name}: " + " / ".join(f"{p} {s.normalized:.1f}" for p, s in res.items()))
        else:
            errors["NAB"] = f"{args.nab}: no NAB corpus there (pass --nab DIR); skipped"
            log(errors["NAB"])

    scenarios = simsuite.QUICK_SCENARIOS if args.quick else simsuite.FULL_SCENARIOS
    sim_results = []
    if not args.skip_sim:
        log("Simulator suite")
        for sc in scenarios:
            res = simsuite.run_scenario(sc, args.timescan, work / sc.name, peer_names,
                                        rcf_jar=args.rcf_jar, repeats=repeats, log=log)
            sim_results.append(res)
            errors.update({f"{sc.name}/{k}": v for k, v in res.errors.items()})

    sweep_df = None
    if not args.skip_sweep:
        grid = sweep.QUICK_GRID if args.quick else sweep.FULL_GRID
        log(f"Sweep: {len(grid)} runs on {scenarios[0].name}")
        sweep_df = sweep.run_sweep(scenarios[0], args.timescan, work / scenarios[0].name, grid,
                                   log=log)

    command = "bench/run_evaluation.sh" + (" --quick" if args.quick else "")
    path = report.write(out, mode="quick" if args.quick else "full", command=command,
                        timescan=args.timescan, nab_result=nab_result, sim_results=sim_results,
                        sweep_df=sweep_df, sweep_scenario=scenarios[0], errors=errors,
                        versions=_versions())

    summary = {"mode": "quick" if args.quick else "full", "seconds": time.perf_counter() - started}
    if nab_result:
        summary["nab"] = {n: {p: {"normalized": s.normalized, "raw": s.raw,
                                  "threshold": s.threshold} for p, s in r.items()}
                          for n, r in nab_result["results"].items()}
    if sim_results:
        summary["simulator"] = {
            "pooled": report.pooled_table(sim_results).to_dict(orient="records"),
            "scenarios": {r.scenario.name: r.table().to_dict(orient="records")
                          for r in sim_results}}
    if sweep_df is not None:
        summary["sweep"] = sweep_df.to_dict(orient="records")
        sweep_df.to_csv(out / "sweep.csv", index=False)
    (out / "results.json").write_text(json.dumps(summary, indent=1, default=_jsonable,
                                                 allow_nan=True))
    if not args.keep_events:
        for sc in scenarios:
            for name in ("events.jsonl", "timescan/windows.jsonl"):
                f = work / sc.name / name
                if f.exists():
                    f.unlink()
    log(f"wrote {path} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
