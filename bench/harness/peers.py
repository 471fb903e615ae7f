"""The peers timescan is compared with, on the same windows of the same events.

Every peer produces one score per (entity, window) row of the window table, higher
meaning more anomalous, and flags rows as findings:

- ``HalfSpaceTrees`` (river, streaming): score then learn every window in time order.
- ``IForest`` (PyOD, batch): fit on the learning windows, score the rest.
- ``RandomCutForest`` (AWS, Java): streaming, score then update, in a small Java program.
  These three get the window feature vectors (``events.FEATURES``), one model per
  group (the workload: like timescan's group baselines) and a fleet-wide model for
  windows of a group never seen while learning (streaming: it learns from a 1-in-G
  sample of the windows, G groups, so that it adds about one group's cost). Their threshold is calibrated on the
  learning windows to the same target as timescan's default (``fp_rate`` false
  findings per entity-day): the highest score left after the ``fp_rate`` x
  entity-days highest learning scores (streaming models: second half of learning
  only, once they have warmed up).
- ``allowlist``: the set of subjects per group and kind seen while learning; a
  window with any unseen one is a finding (score: the number of unseen ones). It
  does not learn after the learning period, as such allowlists are enforced.
- ``windowed Gaussian``: per entity and kind, the z-score of the window's count
  against the mean and standard deviation of the entity's previous ``history``
  windows (standard deviation floored at one event); score = the largest |z|,
  threshold calibrated like the models above.
"""
from __future__ import annotations

import json
import math
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .data import NS_PER_DAY
from .events import FEATURES, KINDS, Events, WindowTable


@dataclass
class PeerContext:
    """What every peer gets: the events, the window table, the features, the split."""
    events: Events
    table: WindowTable
    X: np.ndarray             # len(table) x len(FEATURES)
    learn: np.ndarray         # bool per row: a learning window
    fp_rate: float = 0.1      # target false findings per entity-day for calibration
    seed: int = 42

    @property
    def test(self) -> np.ndarray:
        return ~self.learn

    def time_order(self) -> np.ndarray:
        """Row indices sorted by window start, then entity: the order a stream sees them."""
        return np.lexsort((self.table.entity, self.table.window_start))

    def calibration_rows(self, streaming: bool) -> np.ndarray:
        """Learning rows whose scores set the threshold (second half of learning if streaming)."""
        rows = self.learn.copy()
        if streaming and rows.any():
            ws = self.table.window_start
            lo, hi = ws[rows].min(), ws[rows].max()
            rows &= ws >= lo + (hi - lo) / 2
        return rows


@dataclass
class PeerResult:
    name: str
    scores: np.ndarray            # per table row (learning rows too, where the peer scores them)
    flags: np.ndarray             # bool per table row; only test rows are used
    threshold: float
    model_seconds: float          # CPU seconds of fit + score, the peer's own work on prepared input
    notes: str = ""
    extra: dict = field(default_factory=dict)


def calibrate(scores: np.ndarray, rows: np.ndarray, window_ns: int, fp_rate: float) -> float:
    """The threshold leaving about ``fp_rate`` flagged windows per entity-day on ``rows``."""
    s = np.sort(scores[rows])[::-1]
    if len(s) == 0:
        return math.inf
    entity_days = len(s) * window_ns / NS_PER_DAY
    k = int(math.floor(fp_rate * entity_days))
    return float(s[min(k, len(s) - 1)])


def _group_models(ctx: PeerContext, min_rows: int) -> tuple[np.ndarray, list[int]]:
    """Which groups get their own model: those with at least ``min_rows`` learning windows."""
    groups = ctx.table.group
    learned = np.bincount(groups[ctx.learn], minlength=groups.max(initial=0) + 1)
    own = [int(g) for g in np.nonzero(learned >= min_rows)[0]]
    return groups, own


def iforest(ctx: PeerContext, n_estimators: int = 100, min_rows: int = 64) -> PeerResult:
    from pyod.models.iforest import IForest

    t0 = time.process_time()
    groups, own = _group_models(ctx, min_rows)
    scores = np.zeros(len(ctx.table))
    fleet = IForest(n_estimators=n_estimators, random_state=ctx.seed).fit(ctx.X[ctx.learn])
    covered = np.zeros(len(ctx.table), bool)
    for g in own:
        rows = groups == g
        model = IForest(n_estimators=n_estimators, random_state=ctx.seed).fit(ctx.X[rows & ctx.learn])
        scores[rows] = model.decision_function(ctx.X[rows])
        covered |= rows
    if (~covered).any():
        scores[~covered] = fleet.decision_function(ctx.X[~covered])
    seconds = time.process_time() - t0
    thr = calibrate(scores, ctx.calibration_rows(False), ctx.table.window_ns, ctx.fp_rate)
    return PeerResult("IForest (PyOD)", scores, scores > thr, thr, seconds,
                      notes=f"batch; {n_estimators} trees; one model per group ({len(own)}) + fleet")


def half_space_trees(ctx: PeerContext, n_trees: int = 10, height: int = 8,
                     window_size: int = 250) -> PeerResult:
    from river import anomaly

    # HalfSpaceTrees wants each feature's range: take it from the learning windows.
    lo = ctx.X[ctx.learn].min(axis=0)
    hi = ctx.X[ctx.learn].max(axis=0)
    hi = np.where(hi > lo, hi, lo + 1.0)
    limits = {f: (float(a), float(b)) for f, a, b in zip(FEATURES, lo, hi)}

    def model():
        return anomaly.HalfSpaceTrees(n_trees=n_trees, height=height, window_size=window_size,
                                      limits=limits, seed=ctx.seed)

    t0 = time.process_time()
    order = ctx.time_order()
    groups = ctx.table.group
    learn_groups = set(np.unique(groups[ctx.learn]).tolist())
    fleet = model()
    per_group: dict[int, object] = {}
    seen: dict[int, int] = {}
    scores = np.zeros(len(ctx.table))
    X = ctx.X
    # The fleet model is only the fallback for groups never seen while learning: it learns
    # from a 1-in-G sample of the stream (G groups), about the cost of one group's model.
    fleet_every = max(1, len(learn_groups))
    for k, i in enumerate(order):
        x = dict(zip(FEATURES, X[i].tolist()))
        g = int(groups[i])
        m = per_group.get(g)
        if m is None:
            m = per_group[g] = model()
            seen[g] = 0
        # A group's model scores once it has filled its reference window; before, the fleet's.
        scorer = m if (seen[g] >= window_size and g in learn_groups) else fleet
        scores[i] = scorer.score_one(x)
        m.learn_one(x)
        if k % fleet_every == 0:
            fleet.learn_one(x)
        seen[g] += 1
    seconds = time.process_time() - t0
    thr = calibrate(scores, ctx.calibration_rows(True), ctx.table.window_ns, ctx.fp_rate)
    return PeerResult("HalfSpaceTrees (river)", scores, scores > thr, thr, seconds,
                      notes=f"streaming; {n_trees} trees, height {height}, window {window_size}; "
                            "one model per group + fleet")


def random_cut_forest(ctx: PeerContext, jar: Path, trees: int = 50, sample_size: int = 256,
                      java: str = "java") -> PeerResult:
    order = ctx.time_order()
    with tempfile.TemporaryDirectory(prefix="rcf-") as tmp:
        inp, out = Path(tmp) / "in.csv", Path(tmp) / "out.txt"
        phase = np.where(ctx.learn, "L", "S")
        with open(inp, "w") as f:
            for i in order:
                f.write(f"{phase[i]},g{ctx.table.group[i]},"
                        + ",".join(f"{v:.6g}" for v in ctx.X[i]) + "\n")
        t0 = time.perf_counter()
        proc = subprocess.run([java, "-jar", str(jar), str(inp), str(out), str(trees),
                               str(sample_size), str(ctx.seed)], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"rcf-peer failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        ordered = np.loadtxt(out, dtype=np.float64, ndmin=1)
    scores = np.zeros(len(ctx.table))
    scores[order] = ordered
    thr = calibrate(scores, ctx.calibration_rows(True), ctx.table.window_ns, ctx.fp_rate)
    return PeerResult("Random Cut Forest (AWS, Java)", scores, scores > thr, thr,
                      float(info.get("model_cpu_seconds", info["model_seconds"])),
                      notes=f"streaming; {trees} trees, sample size {sample_size}; one forest "
                            f"per group + fleet; JVM wall {wall:.2f} s incl. start and file I/O",
                      extra={"jvm_wall_seconds": wall, "model_wall_seconds": info["model_seconds"]})


def allowlist(ctx: PeerContext) -> PeerResult:
    ev, table = ctx.events, ctx.table
    t0 = time.process_time()
    n_sub = np.int64(max(1, len(ev.subjects)))
    nk = np.int64(len(KINDS))
    row = table.row_of_event
    key = (ev.group * nk + ev.kind) * n_sub + ev.subject
    in_learning = ctx.learn[row]
    allowed = np.unique(key[in_learning])
    novel = ~in_learning & ~np.isin(key, allowed, assume_unique=False)
    scores = np.zeros(len(table))
    if novel.any():
        pair = np.unique(row[novel] * (nk * n_sub) + ev.kind[novel] * n_sub + ev.subject[novel])
        scores += np.bincount(pair // (nk * n_sub), minlength=len(table))
    seconds = time.process_time() - t0
    return PeerResult("allowlist (subjects per group and kind)", scores, scores >= 1, 1.0, seconds,
                      notes=f"{len(allowed)} (group, kind, subject) entries learned; "
                            "a window with any unseen one is a finding")


def windowed_gaussian(ctx: PeerContext, history: int = 60, min_history: int = 10,
                      std_floor: float = 1.0) -> PeerResult:
    table = ctx.table
    t0 = time.process_time()
    nk = len(KINDS)
    counts = np.expm1(ctx.X[:, :nk])        # the first columns are log1p(count) per kind
    counts = np.rint(counts)
    df = pd.DataFrame(counts)
    # Rows of an entity are contiguous and in window order (window_table builds them so).
    by = pd.Series(table.entity)
    roll = df.groupby(by.values).rolling(history, min_periods=min_history)
    mean = roll.mean().reset_index(level=0, drop=True).sort_index()
    std = roll.std(ddof=0).reset_index(level=0, drop=True).sort_index()
    # The statistics of the windows before each row, not including it.
    mean = mean.groupby(by.values).shift(1).to_numpy()
    std = std.groupby(by.values).shift(1).to_numpy()
    z = np.abs(counts - mean) / np.maximum(np.nan_to_num(std, nan=std_floor), std_floor)
    scores = np.nan_to_num(z, nan=0.0).max(axis=1)
    seconds = time.process_time() - t0
    thr = calibrate(scores, ctx.calibration_rows(True), table.window_ns, ctx.fp_rate)
    return PeerResult("windowed Gaussian (counts)", scores, scores > thr, thr, seconds,
                      notes=f"per entity and kind, previous {history} windows, std floor "
                            f"{std_floor:g}; score = max |z| over kinds")
