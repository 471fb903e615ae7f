"""The peers timescan is compared with, on the same windows of the same events.

Every peer produces one score per (entity, window) row of the window table, higher
meaning more anomalous, and flags rows as findings:

- ``HalfSpaceTrees`` (river): score then learn every window vector in time order.
- ``HalfSpaceTrees`` (river, streaming): reads the JSONL itself, one event at a time,
  keeps each entity's window features incrementally and scores then learns each window
  as it closes (``half_space_trees_streaming``).
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
from .events import FEATURES, KINDS, Events, WindowState, WindowTable, records, time_ns


@dataclass
class PeerContext:
    """What every peer gets: the events, the window table, the features, the split."""
    events: Events
    table: WindowTable
    X: np.ndarray             # len(table) x len(FEATURES)
    learn: np.ndarray         # bool per row: a learning window
    fp_rate: float = 0.1      # target false findings per entity-day for calibration
    seed: int = 42
    events_path: Path | None = None  # the JSONL file, for peers that stream it themselves
    learn_ns: int | None = None      # the learning period from the first event

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
    # CPU seconds from the JSONL file to scores, when the peer reads the file itself (the
    # streaming peer); None: the harness's shared parse and featurisation + model_seconds.
    end_to_end_seconds: float | None = None
    timing: str = ""              # how model_seconds (and end_to_end_seconds) were measured


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
                      notes=f"batch; {n_estimators} trees; one model per group ({len(own)}) + fleet",
                      timing="model only: fit + decision_function on the prepared window vectors")


def _hst_limits(ctx: PeerContext) -> dict[str, tuple[float, float]]:
    """HalfSpaceTrees wants each feature's range: take it from the learning windows
    (a feature constant while learning gets a range of one)."""
    lo = ctx.X[ctx.learn].min(axis=0)
    hi = ctx.X[ctx.learn].max(axis=0)
    hi = np.where(hi > lo, hi, lo + 1.0)
    return {f: (float(a), float(b)) for f, a, b in zip(FEATURES, lo, hi)}


def half_space_trees(ctx: PeerContext, n_trees: int = 10, height: int = 8,
                     window_size: int = 250) -> PeerResult:
    from river import anomaly

    limits = _hst_limits(ctx)

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
                            "one model per group + fleet",
                      timing="model only: score_one + learn_one on the prepared window vectors "
                             "in time order (with each row's dict)")


def _parse_pass(path: Path) -> tuple[int, float]:
    """Reads the file the way the streaming loop does, stopping after each event's
    parse (line, json.loads, kind and entity checks, time); returns (events, CPU s)."""
    n = 0
    t0 = time.process_time()
    for o, _, _ in records(path):
        time_ns(o["time"])
        n += 1
    return n, time.process_time() - t0


def half_space_trees_streaming(ctx: PeerContext, n_trees: int = 10, height: int = 8,
                               window_size: int = 250) -> PeerResult:
    """river's HalfSpaceTrees as a river user streams it: event by event, from the file.

    Each JSONL line is parsed with json.loads as it is read (in file order, which is
    time order) and added to its entity's open window (``events.WindowState``: the
    window-vector features, kept incrementally). When an event of that entity falls in
    a later window, the open window is complete: its vector is scored (``score_one``)
    and then learned (``learn_one``), and so is every empty window in between (the
    window table's gap rows). At the end of the file every open window closes. So the
    rows are exactly the window table's, in each entity's window order.

    Learning period (from the first event, as the engine): windows ending in it are
    learned; those of its second half are also scored, only to calibrate the threshold
    as for the other streaming peers (no finding is ever taken from a learning window).
    Windows after it are scored, then learned. Models as ``half_space_trees``: one
    HalfSpaceTrees per group, and a fleet model that learns a 1-in-G sample of the
    windows (G: groups seen while learning so far) and scores windows of groups that
    have not yet filled one reference window or were never seen while learning. The
    feature ranges (``limits``) are those of the window-vector peer, from the learning
    windows: a user would take them from recorded history before streaming; they are
    set up before the clock starts. (river's usual recipe, ``MinMaxScaler |
    HalfSpaceTrees``, needs no ranges, but maps a feature that was constant while
    learning to 0 for ever: a container that never ran a process then hides its first
    exec, so it is not used.)

    Timing (CPU seconds): end to end = the whole streaming loop, file to scores; model
    only = that loop minus a separate parse-only pass over the same file
    (``_parse_pass``), i.e. the incremental feature upkeep plus the river calls.
    """
    from river import anomaly

    if ctx.events_path is None or ctx.learn_ns is None:
        raise ValueError("the streaming peer needs PeerContext.events_path and learn_ns")
    W = int(ctx.table.window_ns)
    learn_ns = int(ctx.learn_ns)
    limits = _hst_limits(ctx)

    def model():
        return anomaly.HalfSpaceTrees(n_trees=n_trees, height=height, window_size=window_size,
                                      limits=limits, seed=ctx.seed)

    fleet = model()
    per_group: dict[str, object] = {}
    seen: dict[str, int] = {}
    learn_groups: set[str] = set()
    open_windows: dict[str, WindowState] = {}
    out_entity: list[str] = []
    out_window: list[int] = []
    out_score: list[float] = []
    nan = math.nan
    state = {"closed": 0, "next_fleet": 0}
    bounds: dict[str, int] = {}

    def close(entity: str, group: str, window: int, x: dict) -> None:
        start = window * W
        learning = start + W <= bounds["learn_end"]
        m = per_group.get(group)
        if m is None:
            m = per_group[group] = model()
            seen[group] = 0
        if learning:
            learn_groups.add(group)
        score = nan
        if not learning or start >= bounds["calibrate_from"]:
            scorer = m if (seen[group] >= window_size and group in learn_groups) else fleet
            score = scorer.score_one(x)
        m.learn_one(x)
        k = state["closed"]
        if k >= state["next_fleet"]:
            fleet.learn_one(x)
            state["next_fleet"] = k + max(1, len(learn_groups))
        state["closed"] = k + 1
        seen[group] += 1
        out_entity.append(entity)
        out_window.append(window)
        out_score.append(score)

    late = 0
    empty = WindowState.empty_vector
    t0 = time.process_time()
    for o, kind, entity in records(ctx.events_path):
        t = time_ns(o["time"])
        w = t // W
        if not bounds:
            # The learning period runs from the first event; the calibration half
            # is the second half of the learning windows' starts (calibration_rows).
            first_start = w * W
            last_learn_start = ((t + learn_ns) // W) * W - W
            bounds["learn_end"] = t + learn_ns
            bounds["calibrate_from"] = first_start + (last_learn_start - first_start) / 2
        ws = open_windows.get(entity)
        if ws is None:
            ws = open_windows[entity] = WindowState(o.get("group") or entity, w)
        elif w != ws.window:
            if w < ws.window:          # its window is closed already: dropped
                late += 1
                continue
            close(entity, ws.group, ws.window, ws.vector())
            for gap in range(ws.window + 1, w):
                close(entity, ws.group, gap, empty())
            ws.reset(w)
        ws.add(kind, o)
    for entity, ws in open_windows.items():
        close(entity, ws.group, ws.window, ws.vector())
    seconds = time.process_time() - t0
    n_parsed, parse_seconds = _parse_pass(ctx.events_path)
    model_seconds = max(seconds - parse_seconds, 0.0)

    # Map the streamed windows onto the window table's rows (not timed).
    table = ctx.table
    codes = ctx.events.entities.codes
    ent = np.fromiter((codes[e] for e in out_entity), np.int64, len(out_entity))
    win = np.asarray(out_window, np.int64)
    ents, first_row = np.unique(table.entity, return_index=True)
    row_of = np.full(len(ctx.events.entities), -1, np.int64)
    first_w = np.zeros(len(ctx.events.entities), np.int64)
    row_of[ents] = first_row
    first_w[ents] = table.window_start[first_row] // W
    rows = row_of[ent] + (win - first_w[ent])
    ok = ((row_of[ent] >= 0) & (rows >= 0) & (rows < len(table)))
    ok[ok] = (table.entity[rows[ok]] == ent[ok]) & (table.window_start[rows[ok]] == win[ok] * W)
    if not ok.all() or len(rows) != len(table) or len(np.unique(rows)) != len(table):
        raise RuntimeError(f"streamed windows do not match the window table: {len(rows)} "
                           f"streamed, {len(table)} rows, {int((~ok).sum())} unmatched")
    scores = np.full(len(table), np.nan)
    scores[rows] = out_score
    if np.isnan(scores[ctx.test]).any():
        raise RuntimeError("the stream's learning period differs from the harness's split")
    thr = calibrate(scores, ctx.calibration_rows(True) & np.isfinite(scores), W, ctx.fp_rate)
    flags = ctx.test & (np.nan_to_num(scores, nan=-np.inf) > thr)
    return PeerResult(
        "HalfSpaceTrees (river, streaming)", scores, flags, thr, model_seconds,
        notes=f"streaming from the JSONL file, event by event; {n_trees} trees, height "
              f"{height}, window {window_size}; one model per group + fleet, feature ranges "
              f"from the learning windows; loop {seconds:.2f} CPU s, of which parse {parse_seconds:.2f} s "
              f"({n_parsed:,} events); {late} late events dropped",
        extra={"loop_seconds": seconds, "parse_seconds": parse_seconds, "late_events": late},
        end_to_end_seconds=seconds,
        timing="end to end: its own loop over the file (read a line, json.loads, update "
               "the entity's window features, score_one/learn_one when a window closes); "
               "model only: that loop minus a parse-only pass (read, json.loads, time) = "
               "incremental feature upkeep + river calls")


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
                      extra={"jvm_wall_seconds": wall, "model_wall_seconds": info["model_seconds"]},
                      timing="model only: CPU time of the JVM's scoring thread (forest updates "
                             "and scores); JVM start and CSV files not counted anywhere")


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
                            "a window with any unseen one is a finding",
                      timing="model only: numpy set membership on the parsed columns")


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
                            f"{std_floor:g}; score = max |z| over kinds",
                      timing="model only: pandas rolling mean and std on the window counts")
