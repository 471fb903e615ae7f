"""Runs timescan (and NAB's reference detectors) on the NAB corpus and scores them.

Each series becomes ``metric`` events (entity = the file's name, subject ``value``,
value = the sample, one event per row at its timestamp) fed to ``timescan score``
with the window set to the series' step and the learning period set to its
probationary period; every window's score (``--window-scores``) is mapped back to
the rows in that window (rows in windows without a score, e.g. while learning, get 0)
and the rows' scores go through the NAB scorer.

Post-processing (NAB-aware, as any NAB detector may do): NAB counts only the first
detection in an anomaly window and charges every detection outside one, so a row whose
score does not exceed every score of the ``REPEAT_MEMORY`` rows before it is reported as
0 (``suppress_repeats``): at any threshold it fires, one of those rows fired too, so it
is a repeat detection of an anomaly already reported. The report gives timescan's score
with and without it.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from . import nab, nab_reference
from .data import NS_PER_S, format_duration, load_window_scores

TTL = "8760h"           # the CLI's maximum (365 d): never retire a series between sparse samples
# Rows (windows) within which a detection no stronger than an earlier one is a repeat.
# Chosen on NAB (standard 67.9; 10 rows: 67.6, 30: 67.8, 200: 67.9; none: 67.0).
REPEAT_MEMORY = 100


@dataclass
class SeriesRun:
    name: str
    window: str
    learn: str
    lateness: str
    rows: int
    scored_rows: int      # rows whose window got a score from the engine
    seconds: float


def series_entity(name: str) -> str:
    """The entity name of a NAB file: its stem (``realKnownCause/nyc_taxi.csv`` -> ``nyc_taxi``)."""
    return Path(name).stem


def series_options(series: nab.NabSeries) -> dict[str, str]:
    """The CLI options for a series: window = median step, learn = probation, lateness."""
    ts = series.timestamps
    steps = np.diff(ts)
    positive = steps[steps > 0]
    window = int(np.median(positive)) if len(positive) else 60 * NS_PER_S
    window = max(NS_PER_S, (window // NS_PER_S) * NS_PER_S)
    probation = nab.probation_length(len(ts))
    learn = (int(ts[min(probation, len(ts) - 1)] - ts[0]) // window) * window
    learn = max(learn, window)
    back = int(max(0, -steps.min())) if len(steps) else 0
    # The engine accepts at most 64 windows of lateness; NAB's one backwards jump is 55 min.
    lateness = min(64 * window, max(5 * NS_PER_S, ((back // window) + 2) * window))
    return {"window": format_duration(window), "learn": format_duration(learn),
            "lateness": format_duration(lateness), "window_ns": window}


def write_events(series: nab.NabSeries, path: Path) -> None:
    """Writes a series as native JSONL metric events (unix-seconds times)."""
    entity = json.dumps(series_entity(series.name))
    secs = series.timestamps // NS_PER_S
    frac = series.timestamps % NS_PER_S
    with open(path, "w", encoding="utf-8") as f:
        for t, r, v in zip(secs.tolist(), frac.tolist(), series.values.tolist()):
            tt = str(t) if r == 0 else f"{t}.{r:09d}"
            f.write(f'{{"time":{tt},"entity":{entity},"kind":"metric","subject":"value",'
                    f'"value":{json.dumps(float(v))}}}\n')


def rows_from_windows(series: nab.NabSeries, windows: pd.DataFrame, window_ns: int) -> tuple[np.ndarray, int]:
    """Maps each row to its window's score (0 where the engine scored no window)."""
    lookup = dict(zip(windows["window_start"].to_numpy(np.int64).tolist(),
                      windows["score"].to_numpy(np.float64).tolist()))
    starts = (series.timestamps // window_ns) * window_ns
    out = np.array([lookup.get(s, np.nan) for s in starts.tolist()], dtype=np.float64)
    scored = int(np.isfinite(out).sum())
    return np.nan_to_num(out, nan=0.0), scored


def suppress_repeats(scores: np.ndarray, memory: int = REPEAT_MEMORY) -> np.ndarray:
    """Sets to 0 every score not above the maximum of the ``memory`` scores before it.

    Threshold-free: at any threshold where the row would be a detection, a row among the
    previous ``memory`` with a score at least as high is one already, so NAB gains
    nothing from the repeat and charges it when it falls outside a window.
    """
    s = np.asarray(scores, dtype=np.float64)
    out = s.copy()
    if memory <= 0 or len(s) < 2:
        return out
    # Maximum of the previous `memory` scores: a sliding-window maximum over s shifted by one.
    padded = np.concatenate([np.full(memory, -np.inf), s[:-1]])
    prev_max = sliding_window_view(padded, memory).max(axis=1)
    out[s <= prev_max] = 0.0
    return out


def run_timescan(corpus: Sequence[nab.NabSeries], timescan: str, workdir: Path,
                 extra_args: Sequence[str] = ()) -> tuple[list[np.ndarray], list[SeriesRun]]:
    """Scores every series with ``timescan score``; returns per-row scores and run facts."""
    workdir.mkdir(parents=True, exist_ok=True)
    scores, runs = [], []
    for series in corpus:
        opts = series_options(series)
        stem = series_entity(series.name)
        events = workdir / f"{stem}.jsonl"
        wscores = workdir / f"{stem}.windows.jsonl"
        write_events(series, events)
        cmd = [timescan, "score", str(events), "--out", str(workdir / f"{stem}.findings.jsonl"),
               "--window-scores", str(wscores), "--window", opts["window"],
               "--learn", opts["learn"], "--lateness", opts["lateness"], "--ttl", TTL,
               "--quiet", *extra_args]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or [""])[0]
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {first}")
        windows = load_window_scores(wscores)
        if len(windows):
            windows = windows[windows["entity"] == stem]
        row_scores, scored = rows_from_windows(series, windows, opts["window_ns"])
        scores.append(row_scores)
        runs.append(SeriesRun(series.name, opts["window"], opts["learn"], opts["lateness"],
                              len(series), scored, seconds))
    return scores, runs


def per_file_table(corpus: Sequence[nab.NabSeries], scores: Sequence[np.ndarray],
                   threshold: float, profile=nab.PROFILES["standard"]) -> pd.DataFrame:
    """Per-file raw scores and detections at one threshold."""
    rows = []
    for s, sc in zip(corpus, scores):
        r = nab.sweep_rows(len(s), s.windows)
        det = (sc >= threshold) & (r.window != -2)
        found = len({int(w) for w in r.window[det & (r.window >= 0)]})
        rows.append({"file": s.name, "rows": len(s), "windows": r.n_windows,
                     "windows_found": found,
                     "false_detections": int((det & (r.window == -1)).sum()),
                     "raw_standard": nab.score_at_threshold(sc, r, profile, threshold)})
    return pd.DataFrame(rows)


def cross_check(corpus: Sequence[nab.NabSeries], wg_scores: Sequence[np.ndarray]) -> dict:
    """Compares the scorer's per-file scores of the windowed Gaussian with NAB's published ones."""
    ref = nab_reference.WINDOWED_GAUSSIAN_STANDARD
    diffs = []
    for s, sc in zip(corpus, wg_scores):
        if s.name in ref:
            r = nab.sweep_rows(len(s), s.windows)
            got = nab.score_at_threshold(sc, r, nab.PROFILES["standard"],
                                         nab_reference.WINDOWED_GAUSSIAN_THRESHOLD)
            diffs.append((s.name, got, ref[s.name]))
    matched = int(sum(abs(g - r) < 1e-9 for _, g, r in diffs))
    return {"files": len(diffs), "matched": matched,
            "max_abs_diff": float(max((abs(g - r) for _, g, r in diffs), default=float("nan"))),
            "ours_total": float(sum(g for _, g, _ in diffs)),
            "nab_total": float(sum(r for _, _, r in diffs)),
            "mismatches": [(n, g, r) for n, g, r in diffs if abs(g - r) >= 1e-9]}


def evaluate(nab_root: Path, timescan: str, workdir: Path) -> dict:
    """Scores timescan, the null detector and the windowed Gaussian on the corpus."""
    root = Path(nab_root)
    corpus = nab.load_corpus(root)
    profiles_path = root / "config" / "profiles.json"
    profiles = nab.load_profiles(profiles_path) if profiles_path.exists() else nab.PROFILES
    t0 = time.perf_counter()
    ts_scores, runs = run_timescan(corpus, timescan, workdir)
    ts_seconds = time.perf_counter() - t0
    detectors = {
        "timescan": [suppress_repeats(s) for s in ts_scores],
        "timescan (every window: no repeat suppression)": ts_scores,
        # As NAB's pipeline: scores rounded to 12 digits as its result CSVs hold them.
        "windowed Gaussian (NAB)": [nab.nab_rounded(nab.windowed_gaussian(s.values))
                                    for s in corpus],
        "null": nab.null_scores(corpus),
    }
    results = {name: nab.score_detector(corpus, sc, profiles) for name, sc in detectors.items()}
    return {
        "corpus": corpus,
        "files": len(corpus),
        "rows": int(sum(len(s) for s in corpus)),
        "windows": int(sum(len(s.windows) for s in corpus)),
        "results": results,
        "runs": runs,
        "timescan_seconds": ts_seconds,
        "timescan_per_file": per_file_table(corpus, detectors["timescan"], results["timescan"]["standard"].threshold),
        "scores": detectors,
        "cross_check": cross_check(corpus, detectors["windowed Gaussian (NAB)"]),
    }
