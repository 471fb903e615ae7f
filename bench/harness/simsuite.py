"""Simulator scenarios: timescan and the peers on the same events, in the same run."""
from __future__ import annotations

import math
import re
import resource
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from . import metrics, peers
from .data import (NS_PER_S, load_findings, load_labels, load_window_scores, parse_duration)
from .events import KINDS, Events, read_events, window_features, window_table


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int = 1
    hours: float = 30
    learn: str = "24h"
    load: float = 1.0
    deploys: bool = False

    def simulate_args(self) -> list[str]:
        args = ["--seed", str(self.seed), "--hours", f"{self.hours:g}", "--learn", self.learn,
                "--load", f"{self.load:g}"]
        return args + (["--deploys"] if self.deploys else [])

    def describe(self) -> str:
        return (f"seed {self.seed}, {self.hours:g} h ({self.learn} learning), load {self.load:g}"
                + (", deploys" if self.deploys else ""))


FULL_SCENARIOS = [
    Scenario("fleet-s1", seed=1),
    Scenario("fleet-s2-deploys", seed=2, deploys=True),
    Scenario("fleet-s3-half-load", seed=3, load=0.5),
]
QUICK_SCENARIOS = [Scenario("quick-s1", seed=1, hours=10, learn="4h", load=0.5)]


def run(cmd: Sequence[str]) -> tuple[float, str]:
    """Runs a command, returns (CPU seconds, stderr); raises with the first stderr line.

    CPU time (user + system of the child) rather than wall time: the machine this runs
    on is often shared, and CPU time is what a core spends whatever else runs.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(list(cmd), capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or [""])[0]
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {first}")
    return seconds, proc.stderr


def simulate(timescan: str, scenario: Scenario, workdir: Path) -> tuple[Path, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    events, labels = workdir / "events.jsonl", workdir / "labels.jsonl"
    if not (events.exists() and labels.exists()):
        run([timescan, "simulate", "--out", str(events), "--labels", str(labels),
             *scenario.simulate_args()])
    return events, labels


def count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b""))


def score_timescan(timescan: str, events: Path, outdir: Path, window: str = "1m",
                   learn: str = "24h", threshold: float | None = None,
                   repeats: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, float, float]:
    """Runs ``timescan score``; returns findings, window scores, the least CPU time and
    the threshold the engine used (read from its summary line)."""
    outdir.mkdir(parents=True, exist_ok=True)
    fpath, wpath = outdir / "findings.jsonl", outdir / "windows.jsonl"
    # One thread, as every peer runs: CPU time is what is compared, and the
    # second thread's hand-over would only add to it.
    cmd = [timescan, "score", str(events), "--out", str(fpath), "--window-scores", str(wpath),
           "--window", window, "--learn", learn, "--decode-thread", "off"]
    if threshold is not None:
        cmd += ["--threshold", f"{threshold:g}"]
    best, used = math.inf, math.nan
    for _ in range(max(1, repeats)):
        seconds, stderr = run(cmd)
        best = min(best, seconds)
        m = re.search(r"\(threshold ([0-9.eE+-]+)\)", stderr)
        if m:
            used = float(m.group(1))
    return load_findings(fpath), load_window_scores(wpath), best, used


def time_timescan_engine(events: Events, window: str, learn: str,
                         repeats: int = 3) -> tuple[float, float, int]:
    """Times timescan's engine alone on already-parsed events; returns (CPU s of the
    engine, CPU s of the conversion to its columns, findings).

    The events (parsed from the JSONL by the harness) are turned into the engine's
    columns by the Python binding before the clock starts (strings interned into
    symbols: ``timescan._ingest.convert_all``, as bench/python_ingest_bench.py's "cpp"
    case); the clock (process CPU time, all threads) covers ``ingest_arrays`` (the C++
    Engine::Ingest loop, GIL released) and the final flush. Default engine options, as
    the CLI's; window scores and counts are not recorded (the CLI writes window scores
    to a file: that is I/O, not the model). The fastest of ``repeats`` fresh engines.
    """
    import timescan
    from timescan import _ingest

    def column(codes: np.ndarray, vocab) -> pd.Categorical:
        # Code 0 is the empty string, which the harness uses for an absent field.
        names = pd.Index(np.asarray(vocab.names, dtype=object))
        return pd.Categorical.from_codes(np.where(codes == 0, -1, codes).astype(np.int32),
                                         categories=names)

    df = pd.DataFrame({
        "time": pd.to_datetime(events.time, unit="ns", utc=True),
        "entity": column(events.entity, events.entities),
        "group": column(events.group, events.groups),
        "kind": pd.Categorical.from_codes(events.kind.astype(np.int32),
                                          categories=pd.Index(KINDS)),
        "subject": column(events.subject, events.subjects),
        "actor": column(events.actor, events.actors),
        "value": events.value,
        "status": events.status,
    })
    best, convert, findings = math.inf, math.inf, -1
    for _ in range(max(1, repeats)):
        engine = timescan.Engine(window=window, learn=learn, record_window_scores=False,
                                 record_counts=False)
        t0 = time.process_time()
        cols, bad, messages = _ingest.convert_all(engine._core, df)
        convert = min(convert, time.process_time() - t0)
        if bad:
            raise RuntimeError(f"{bad} events rejected by the binding: {messages[:1]}")
        t0 = time.process_time()
        cols.ingest_into(engine._core)
        engine.flush()
        best = min(best, time.process_time() - t0)
        findings = int(engine.stats["findings"])
        del engine, cols
    return best, convert, findings


TIMESCAN_TIMING = ("end to end: the CLI `timescan score` from the JSONL file (parse, learn, "
                   "score, write findings and window scores) on one thread "
                   "(--decode-thread off), CPU of the child process; "
                   "model only: the engine alone on events already parsed and converted to "
                   "its columns (Python binding ingest_arrays + flush, CPU of this process)")
WINDOW_VECTOR_TIMING = ("end to end: the harness's shared Python parse of the JSONL "
                        "(json.loads per line into columns) + window featurisation (numpy) "
                        "+ model only")


@dataclass
class DetectorRun:
    name: str
    evaluation: metrics.Evaluation
    events_per_s: float            # end to end, from the JSONL file
    model_events_per_s: float      # the model alone on already-parsed input
    seconds: float
    model_seconds: float
    notes: str = ""
    timing: str = ""               # how both figures were measured


@dataclass
class ScenarioResult:
    scenario: Scenario
    events: int
    labels: pd.DataFrame
    detectors: list[DetectorRun] = field(default_factory=list)
    parse_seconds: float = 0.0
    featurise_seconds: float = 0.0
    windows: int = 0
    errors: dict = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        base = self.detectors[0]
        rows = []
        for d in self.detectors:
            s = d.evaluation.summary()
            rows.append({
                "detector": d.name, **{k: s[k] for k in (
                    "found", "attacks", "recall", "median_ttd_s", "findings", "false_findings",
                    "entity_days", "false_per_entity_day", "precision", "roc_auc", "pr_auc")},
                "recall_at_ts_false_rate": s.get("recall_at_ts_false_rate", np.nan),
                "events_per_s": d.events_per_s,
                "timescan_x": base.events_per_s / d.events_per_s if d.events_per_s else np.nan,
                "model_events_per_s": d.model_events_per_s,
                "timescan_x_model": (base.model_events_per_s / d.model_events_per_s
                                     if d.model_events_per_s else np.nan),
                "timescan_x_cli_model": (base.events_per_s / d.model_events_per_s
                                         if d.model_events_per_s else np.nan),
            })
        return pd.DataFrame(rows)

    def attack_table(self) -> pd.DataFrame:
        """One row per attack, one column per detector: time to detect (s) or 'missed'."""
        out = self.labels[["type", "entity"]].copy()
        for d in self.detectors:
            a = d.evaluation.attacks
            out[d.name] = [f"{t:.0f}" if f else "missed" for f, t in zip(a["found"], a["ttd_s"])]
        return out


PEERS: dict[str, Callable] = {
    "hst": peers.half_space_trees,
    "hst-stream": peers.half_space_trees_streaming,
    "iforest": peers.iforest,
    "rcf": peers.random_cut_forest,
    "allowlist": peers.allowlist,
    "gaussian": peers.windowed_gaussian,
}


def run_scenario(scenario: Scenario, timescan: str, workdir: Path, peer_names: Sequence[str],
                 rcf_jar: Path | None = None, repeats: int = 1, fp_rate: float = 0.1,
                 log: Callable[[str], None] = print) -> ScenarioResult:
    window = "1m"
    window_ns = parse_duration(window)
    learn_ns = parse_duration(scenario.learn)
    events_path, labels_path = simulate(timescan, scenario, workdir)
    labels = load_labels(labels_path)
    n_events = count_lines(events_path)
    log(f"  {scenario.name}: {n_events:,} events, {len(labels)} attacks")

    findings, windows, seconds, used = score_timescan(timescan, events_path, workdir / "timescan",
                                                window=window, learn=scenario.learn,
                                                repeats=repeats)
    ev = metrics.evaluate(findings, windows, labels, window_ns)
    budget = ev.false_per_entity_day if np.isfinite(ev.false_per_entity_day) else 0.0
    ev.extra["recall_at_ts_false_rate"] = metrics.recall_at_false_rate(
        windows, labels, window_ns, budget)[0]
    result = ScenarioResult(scenario, n_events, labels)

    # The harness's parse, shared by the peers; the engine-only measurement uses it too.
    t0 = time.process_time()
    events = read_events(events_path)
    result.parse_seconds = time.process_time() - t0
    notes = f"CLI `timescan score`, default options (threshold {used:g}); {len(findings)} findings"
    try:
        engine_seconds, convert_seconds, engine_findings = time_timescan_engine(
            events, window, scenario.learn, max(3, repeats))
        notes += (f"; engine alone (Python binding, same events, default options, best of "
                  f"{max(3, repeats)}): {engine_seconds:.3f} CPU s, {engine_findings} "
                  f"findings; converting the parsed columns to its symbols beforehand "
                  f"{convert_seconds:.3f} CPU s, not counted")
    except Exception as e:  # reported; the model-only ratios are then missing
        result.errors["timescan-engine"] = f"{type(e).__name__}: {e}"
        log(f"    timescan engine: FAILED {result.errors['timescan-engine']}")
        engine_seconds = math.nan
    result.detectors.append(DetectorRun(
        "timescan", ev, n_events / seconds, n_events / engine_seconds, seconds, engine_seconds,
        notes=notes, timing=TIMESCAN_TIMING))
    log(f"    timescan: {seconds:.2f} CPU s, {n_events / seconds:,.0f} events/s end to end; "
        f"engine {engine_seconds:.2f} CPU s, {n_events / engine_seconds:,.0f} events/s; "
        f"recall {ev.recall:.2f}, {ev.false_per_entity_day:.3f} false/entity-day")
    if not peer_names:
        return result

    t0 = time.process_time()
    table = window_table(events, window_ns)
    X = window_features(events, table)
    result.featurise_seconds = time.process_time() - t0
    result.windows = len(table)
    t_first = int(events.time.min())
    learn_end = t_first + learn_ns
    # The engine scores a window once it ends after the learning period.
    learn_mask = table.window_start + window_ns <= learn_end
    ctx = peers.PeerContext(events, table, X, learn_mask, fp_rate=fp_rate,
                            events_path=events_path, learn_ns=learn_ns)
    shared = result.parse_seconds + result.featurise_seconds
    log(f"    parse {result.parse_seconds:.1f} s, features {result.featurise_seconds:.1f} s, "
        f"{len(table):,} windows")
    ent_names = np.asarray(events.entities.names, dtype=object)
    test = ~learn_mask
    for name in peer_names:
        fn = PEERS[name]
        try:
            r = fn(ctx, rcf_jar) if name == "rcf" else fn(ctx)
        except Exception as e:  # a peer that fails is reported, not fatal
            result.errors[name] = f"{type(e).__name__}: {e}"
            log(f"    {name}: FAILED {result.errors[name]}")
            continue
        rows = np.nonzero(test)[0]
        wdf = pd.DataFrame({"entity": ent_names[table.entity[rows]],
                            "window_start": table.window_start[rows],
                            "score": r.scores[rows]})
        flagged = rows[r.flags[rows]]
        fdf = pd.DataFrame({"entity": ent_names[table.entity[flagged]],
                            "window_start": table.window_start[flagged],
                            "window_end": table.window_start[flagged] + window_ns})
        pev = metrics.evaluate(fdf, wdf, labels, window_ns)
        pev.extra["threshold"] = r.threshold
        # The peer's recall if its threshold were set, knowing the labels, to make no more
        # false findings per entity-day than timescan did: the best case for the peer.
        pev.extra["recall_at_ts_false_rate"] = metrics.recall_at_false_rate(
            wdf, labels, window_ns, budget)[0]
        if r.end_to_end_seconds is not None:      # the peer read the file itself
            total = r.end_to_end_seconds
            timing = r.timing
        else:
            total = shared + r.model_seconds
            timing = WINDOW_VECTOR_TIMING + "; " + r.timing
        result.detectors.append(DetectorRun(r.name, pev, n_events / total,
                                            n_events / max(r.model_seconds, 1e-9), total,
                                            r.model_seconds, notes=r.notes, timing=timing))
        log(f"    {r.name}: model {r.model_seconds:.2f} CPU s, recall {pev.recall:.2f}, "
            f"{pev.false_per_entity_day:.3f} false/entity-day")
    return result
