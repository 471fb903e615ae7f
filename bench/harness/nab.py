"""The Numenta Anomaly Benchmark scorer: NAB's rules, reimplemented.

The rules (numenta/NAB ``nab/sweeper.py``; summarised in the corpus README):

- **Probation**: the first ``min(floor(0.15 N), 0.15 * 5000)`` rows of a file of N rows
  are not scored.
- **Scaled sigmoid**: ``s(y) = 2 / (1 + exp(5 y)) - 1``, and -1 when ``y > 3``.
- **In a window** ``[l, r]`` of width ``w = r - l + 1`` rows, row i scores
  ``tp * s(y) / s(-1)`` with ``y = -(r - i + 1) / w``; only the best (the earliest)
  detection of a window counts; an undetected window scores ``-fn``.
- **Outside windows**, a detection at row i scores ``fp * s((i - r_prev) / (w_prev - 1))``
  after a window ending at ``r_prev`` of width ``w_prev``, or ``-fp`` before any window.
- **Threshold sweep**: a row is a detection when its anomaly score is >= the threshold;
  the threshold is swept over the scores of all files together (starting above every
  score: nothing detected) and the best total raw score is kept.
- **Normalisation**: ``100 * (raw - null) / (perfect - null)`` where the null detector
  never fires and the perfect one flags the first row of every window; both go through
  the same sweep.

Any real-valued score works (only its order matters), so timescan's ``-log10 p``
is used as is.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

PROBATION_PERCENT = 0.15

# NAB's config/profiles.json, as published (tnWeight is unused by the scorer).
PROFILES: dict[str, dict[str, float]] = {
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}


def scaled_sigmoid(y: float) -> float:
    """NAB's scaled sigmoid: 2/(1+exp(5y)) - 1, and -1 beyond y = 3."""
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


def probation_length(n_rows: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows at the start of a file that are not scored."""
    return int(min(math.floor(percent * n_rows), percent * 5000))


@dataclass
class NabSeries:
    """One NAB data file: its rows and its anomaly windows as row index pairs."""
    name: str                      # "<folder>/<file>.csv", as in the label files
    timestamps: np.ndarray         # int64 ns
    values: np.ndarray             # float64
    windows: list[tuple[int, int]] = field(default_factory=list)  # inclusive row ranges

    def __len__(self) -> int:
        return len(self.values)


def window_rows(timestamps: np.ndarray, windows_ns: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Maps windows given as (start, end) times to inclusive row ranges.

    As NAB does, a window starts at the first row stamped with its start and ends at the
    first row stamped with its end; a time no row carries falls back to the first row at
    or after the start and the last row at or before the end.
    """
    out = []
    ts = np.asarray(timestamps, dtype=np.int64)
    for start, end in windows_ns:
        eq = np.nonzero(ts == start)[0]
        left = int(eq[0]) if len(eq) else int(np.argmax(ts >= start))
        eq = np.nonzero(ts == end)[0]
        right = int(eq[0]) if len(eq) else int(np.nonzero(ts <= end)[0][-1])
        if right < left:
            raise ValueError(f"window {start}..{end} holds no row")
        out.append((left, right))
    return sorted(out)


@dataclass
class SweepRows:
    """Per-row scoring inputs of one file, independent of the detector and the profile.

    ``window``: the file's window index of a scorable row in a window, -1 for a scorable
    row outside windows, -2 for a probationary row. ``tp_unit``: s(y)/s(-1) in windows.
    ``fp_unit``: s(d) outside windows (-1 before the first window).
    """
    window: np.ndarray
    tp_unit: np.ndarray
    fp_unit: np.ndarray

    @property
    def n_windows(self) -> int:
        """Windows with at least one scorable row: those that count in the score."""
        w = self.window[self.window >= 0]
        return len(np.unique(w))


def sweep_rows(n_rows: int, windows: Sequence[tuple[int, int]],
               probation_percent: float = PROBATION_PERCENT) -> SweepRows:
    """Computes every row's position-dependent weight, as NAB's calcSweepScore."""
    window = np.full(n_rows, -1, dtype=np.int64)
    tp_unit = np.zeros(n_rows)
    fp_unit = np.full(n_rows, -1.0)
    prev_right, prev_width = None, None
    bounds = sorted(windows)
    k = 0
    i = 0
    while i < n_rows:
        if k < len(bounds) and i == bounds[k][0]:
            left, right = bounds[k]
            width = right - left + 1
            for j in range(left, min(right, n_rows - 1) + 1):
                window[j] = k
                tp_unit[j] = scaled_sigmoid(-(right - j + 1) / width) / MAX_TP
            prev_right, prev_width = right, width
            k += 1
            i = right + 1
            continue
        if prev_right is not None:
            d = abs(i - prev_right) / (prev_width - 1) if prev_width > 1 else math.inf
            fp_unit[i] = scaled_sigmoid(d)
        i += 1
    window[:probation_length(n_rows, probation_percent)] = -2
    return SweepRows(window=window, tp_unit=tp_unit, fp_unit=fp_unit)


@dataclass
class SweepResult:
    """The best threshold of one detector and profile, over all files."""
    threshold: float
    raw: float
    detected_windows: int
    missed_windows: int
    false_detections: int
    thresholds: np.ndarray          # every threshold swept (first: +inf, nothing detected)
    totals: np.ndarray              # raw score at each threshold


def sweep(scores: Sequence[np.ndarray], rows: Sequence[SweepRows],
          profile: Mapping[str, float]) -> SweepResult:
    """Sweeps the threshold over the anomaly scores of all files together."""
    tp_w, fp_w, fn_w = profile["tp"], profile["fp"], profile["fn"]
    all_scores, all_window, all_value = [], [], []
    offset = 0
    for s, r in zip(scores, rows):
        s = np.asarray(s, dtype=np.float64)
        if len(s) != len(r.window):
            raise ValueError(f"{len(s)} scores for {len(r.window)} rows")
        keep = r.window != -2
        win = r.window[keep]
        all_scores.append(s[keep])
        all_window.append(np.where(win >= 0, win + offset, -1))
        all_value.append(np.where(win >= 0, tp_w * r.tp_unit[keep], fp_w * r.fp_unit[keep]))
        offset += int(r.window.max(initial=-1)) + 1
    score = np.concatenate(all_scores) if all_scores else np.zeros(0)
    window = np.concatenate(all_window) if all_window else np.zeros(0, np.int64)
    value = np.concatenate(all_value) if all_value else np.zeros(0)

    order = np.argsort(-score, kind="mergesort")
    score, window, value = score[order], window[order], value[order]
    n_windows = len(np.unique(window[window >= 0]))
    best = {}                              # window -> best detection value so far
    windows_part = -fn_w * n_windows
    fp_part = 0.0
    false_detections = 0
    thresholds = [math.inf]
    totals = [windows_part]
    stats = [(0, n_windows, 0)]
    n = len(score)
    i = 0
    while i < n:
        t = score[i]
        while i < n and score[i] == t:
            w = int(window[i])
            if w < 0:
                fp_part += value[i]
                false_detections += 1
            else:
                old = best.get(w, -fn_w)
                if value[i] > old:
                    windows_part += value[i] - old
                    best[w] = value[i]
            i += 1
        thresholds.append(t)
        totals.append(windows_part + fp_part)
        stats.append((len(best), n_windows - len(best), false_detections))
    totals_arr = np.asarray(totals)
    k = int(np.argmax(totals_arr))        # the first maximum: the highest such threshold
    return SweepResult(threshold=thresholds[k], raw=float(totals_arr[k]),
                       detected_windows=stats[k][0], missed_windows=stats[k][1],
                       false_detections=stats[k][2],
                       thresholds=np.asarray(thresholds), totals=totals_arr)


def score_at_threshold(scores: np.ndarray, rows: SweepRows, profile: Mapping[str, float],
                       threshold: float) -> float:
    """Raw score of one file at a fixed threshold (NAB's scoreDataSet)."""
    s = np.asarray(scores, dtype=np.float64)
    det = (s >= threshold) & (rows.window != -2)
    total = 0.0
    for w in np.unique(rows.window[rows.window >= 0]):
        hit = det & (rows.window == w)
        total += profile["tp"] * rows.tp_unit[hit].max() if hit.any() else -profile["fn"]
    fp = det & (rows.window == -1)
    return total + profile["fp"] * float(rows.fp_unit[fp].sum())


@dataclass
class NabScore:
    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    detected_windows: int
    missed_windows: int
    false_detections: int

    @property
    def normalized(self) -> float:
        return 100.0 * (self.raw - self.null) / (self.perfect - self.null)


def null_scores(corpus: Sequence[NabSeries]) -> list[np.ndarray]:
    """NAB's null detector: the same score (0.5) everywhere, so the sweep can only choose
    between flagging nothing and flagging every row (on NAB's data: nothing)."""
    return [np.full(len(s), 0.5) for s in corpus]


def perfect_scores(corpus: Sequence[NabSeries]) -> list[np.ndarray]:
    """The perfect detector: 1 on the first row of every window, 0 elsewhere."""
    out = []
    for s in corpus:
        a = np.zeros(len(s))
        for left, _ in s.windows:
            a[left] = 1.0
        out.append(a)
    return out


def score_detector(corpus: Sequence[NabSeries], scores: Sequence[np.ndarray],
                   profiles: Mapping[str, Mapping[str, float]] = PROFILES,
                   probation_percent: float = PROBATION_PERCENT) -> dict[str, NabScore]:
    """Scores one detector (one score array per file, in corpus order) under each profile."""
    rows = [sweep_rows(len(s), s.windows, probation_percent) for s in corpus]
    perfects = perfect_scores(corpus)
    out = {}
    for name, profile in profiles.items():
        r = sweep(scores, rows, profile)
        out[name] = NabScore(
            profile=name, threshold=r.threshold, raw=r.raw,
            # The null detector never fires: -fn for every window that has scorable rows
            # (the first entry of any sweep, before any detection).
            null=float(r.totals[0]),
            perfect=sweep(perfects, rows, profile).raw,
            detected_windows=r.detected_windows, missed_windows=r.missed_windows,
            false_detections=r.false_detections)
    return out


def load_profiles(path: str | Path) -> dict[str, dict[str, float]]:
    """Reads NAB's config/profiles.json into {profile: {tp, fp, fn}}."""
    raw = json.loads(Path(path).read_text())
    out = {}
    for name, body in raw.items():
        cm = body["CostMatrix"]
        out[name] = {"tp": float(cm["tpWeight"]), "fp": float(cm["fpWeight"]),
                     "fn": float(cm["fnWeight"])}
    return out


def load_corpus(root: str | Path) -> list[NabSeries]:
    """Loads every file listed in ``labels/combined_windows.json`` under ``root``."""
    root = Path(root)
    windows = json.loads((root / "labels" / "combined_windows.json").read_text())
    corpus = []
    for name in sorted(windows):
        path = root / "data" / name
        if not path.exists():
            raise FileNotFoundError(f"{path}: listed in combined_windows.json but missing")
        df = pd.read_csv(path)
        if list(df.columns[:2]) != ["timestamp", "value"]:
            raise ValueError(f"{path}: expected columns timestamp,value, got {list(df.columns)}")
        ts = pd.to_datetime(df["timestamp"]).to_numpy(dtype="datetime64[ns]").astype(np.int64)
        win_ns = [(int(pd.Timestamp(a).value), int(pd.Timestamp(b).value))
                  for a, b in windows[name]]
        corpus.append(NabSeries(name=name, timestamps=ts,
                                values=df["value"].to_numpy(dtype=np.float64),
                                windows=window_rows(ts, win_ns)))
    return corpus


def nab_rounded(scores: np.ndarray) -> np.ndarray:
    """Rounds scores to 12 significant digits, as NAB's detectors write them to their
    result CSVs (and as NAB then scores them): 0.99999999999995 becomes 1.0."""
    return np.array([float(f"{x:.12g}") for x in np.asarray(scores, dtype=np.float64)])


def windowed_gaussian(values: np.ndarray, window_size: int = 6400, step: int = 100) -> np.ndarray:
    """NAB's windowed Gaussian detector: the normal CDF of each value's z-score.

    The score is ``1 - Q(z)`` with the signed ``z = (x - mean) / std``, as NAB's
    ``normalProbability`` (the upper tail): a value far above the mean scores near 1, one
    far below near 0 (NAB's detector only flags upward deviations).

    The mean and standard deviation come from the values before the row: all of them
    until ``window_size`` rows, then the last ``window_size`` rows refreshed every
    ``step`` rows (NAB's ``windowedGaussian`` detector, same constants).
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    out = np.zeros(n)
    shift = x[0] if n else 0.0
    c1 = np.r_[0.0, np.cumsum(x - shift)]
    c2 = np.r_[0.0, np.cumsum((x - shift) ** 2)]
    a, b = 0, 0               # the window is x[a:b]
    buffered = 0
    mean, std = 0.0, 1.0
    sqrt2 = math.sqrt(2.0)
    for i in range(n):
        if b > a:
            z = (x[i] - mean) / std
            out[i] = 1.0 - 0.5 * math.erfc(z / sqrt2)
        if b - a < window_size:
            b += 1
        else:
            buffered += 1
            if buffered < step:
                continue
            a += step
            b += step
            buffered = 0
        m = b - a
        mu = c1[b] - c1[a]
        var = max(0.0, (c2[b] - c2[a]) / m - (mu / m) ** 2)
        mean = mu / m + shift
        std = math.sqrt(var) if var > 0 else 1e-6
        if std == 0.0:
            std = 1e-6
    return out
