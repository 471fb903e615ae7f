"""Detection metrics from findings, scored windows and labelled attack intervals.

Definitions (used for timescan and every peer alike):

- A finding (or scored window) ``[window_start, window_end)`` *covers* a label when it
  is on the label's entity and overlaps ``[start, end]``: ``window_start < end`` and
  ``window_end > start``.
- **Per-attack recall**: an attack is found when at least one finding covers it.
- **Time to detect**: first covering finding's ``window_start`` minus the attack's
  ``start``, clipped at 0 (the window holding the attack's first event starts before
  it). ``alert_latency`` is the same from ``window_end``: when the window closes and
  the finding can first be emitted.
- **False findings per entity-day**: findings that cover no label, divided by the
  scored entity-days (number of scored windows times the window width). A finding
  whose evidence is the window before its own (timescan's drops, confirmed by the
  next window: column ``evidence_start``) covers from that earlier window.
- **Precision**: findings that cover a label over all findings.
- **ROC AUC** and **average precision (PR AUC)** over every scored window's score; a
  window is positive when it covers a label.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data import NS_PER_DAY, NS_PER_S


def covers_label(entities, starts, ends, labels: pd.DataFrame) -> np.ndarray:
    """Returns, per interval ``[starts[i], ends[i])`` of ``entities[i]``, whether it covers a label."""
    entities = np.asarray(entities, dtype=object)
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    out = np.zeros(len(entities), dtype=bool)
    if len(labels) == 0 or len(entities) == 0:
        return out
    for entity, rows in labels.groupby("entity", sort=False):
        mask = entities == entity
        if not mask.any():
            continue
        s, e = starts[mask], ends[mask]
        hit = np.zeros(mask.sum(), dtype=bool)
        for ls, le in zip(rows["start"].to_numpy(), rows["end"].to_numpy()):
            hit |= (s < le) & (e > ls)
        out[mask] = hit
    return out


def roc_auc(y_true, scores) -> float:
    """Area under the ROC curve (ties count one half); NaN without both classes."""
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = pd.Series(s).rank(method="average").to_numpy()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(y_true, scores) -> float:
    """Average precision (area under the step PR curve, scikit-learn's definition).

    Sum over distinct score thresholds, highest first, of (recall gain) x precision.
    NaN without positives.
    """
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    # Keep the last index of every run of equal scores: one point per threshold.
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp, fp = tp[last], fp[last]
    precision = tp / (tp + fp)
    recall = tp / n_pos
    gains = np.diff(np.r_[0.0, recall])
    return float(np.sum(gains * precision))


@dataclass
class Evaluation:
    """The metrics of one detector on one labelled dataset."""
    attacks: pd.DataFrame            # one row per label: type, entity, found, ttd_s, alert_latency_s
    findings: int = 0
    true_findings: int = 0
    false_findings: int = 0
    scored_windows: int = 0
    entity_days: float = 0.0
    roc_auc: float = float("nan")
    pr_auc: float = float("nan")
    extra: dict = field(default_factory=dict)

    @property
    def recall(self) -> float:
        n = len(self.attacks)
        return float(self.attacks["found"].sum()) / n if n else float("nan")

    @property
    def false_per_entity_day(self) -> float:
        return self.false_findings / self.entity_days if self.entity_days else float("nan")

    @property
    def precision(self) -> float:
        return self.true_findings / self.findings if self.findings else float("nan")

    @property
    def median_ttd_s(self) -> float:
        found = self.attacks.loc[self.attacks["found"], "ttd_s"]
        return float(found.median()) if len(found) else float("nan")

    def summary(self) -> dict:
        return {
            "attacks": len(self.attacks),
            "found": int(self.attacks["found"].sum()) if len(self.attacks) else 0,
            "recall": self.recall,
            "median_ttd_s": self.median_ttd_s,
            "findings": self.findings,
            "false_findings": self.false_findings,
            "entity_days": self.entity_days,
            "false_per_entity_day": self.false_per_entity_day,
            "precision": self.precision,
            "roc_auc": self.roc_auc,
            "pr_auc": self.pr_auc,
            **self.extra,
        }


def evaluate(findings: pd.DataFrame, windows: pd.DataFrame, labels: pd.DataFrame,
             window_ns: int) -> Evaluation:
    """Scores findings and window scores against labels.

    ``findings``: entity, window_start, window_end (ns). ``windows``: every scored window
    (entity, window_start (ns), score); its row count times ``window_ns`` gives the scored
    entity-days. ``labels``: type, entity, start, end (ns).
    """
    f_ent = findings["entity"].to_numpy(dtype=object) if len(findings) else np.array([], object)
    f_ws = findings["window_start"].to_numpy(dtype=np.int64) if len(findings) else np.array([], np.int64)
    if len(findings) and "window_end" in findings:
        f_we = findings["window_end"].to_numpy(dtype=np.int64)
    else:
        f_we = f_ws + window_ns
    if len(findings) and "evidence_start" in findings:
        f_evidence = findings["evidence_start"].to_numpy(dtype=np.int64)
    else:
        f_evidence = f_ws
    true = covers_label(f_ent, f_evidence, f_we, labels)

    rows = []
    for lab in labels.itertuples(index=False):
        hit = (f_ent == lab.entity) & (f_evidence < lab.end) & (f_we > lab.start)
        if hit.any():
            first = int(np.argmin(np.where(hit, f_ws, np.iinfo(np.int64).max)))
            ttd = max(0, int(f_ws[first]) - int(lab.start)) / NS_PER_S
            latency = max(0, int(f_we[first]) - int(lab.start)) / NS_PER_S
            rows.append((lab.type, lab.entity, True, ttd, latency, int(hit.sum())))
        else:
            rows.append((lab.type, lab.entity, False, math.nan, math.nan, 0))
    attacks = pd.DataFrame(rows, columns=["type", "entity", "found", "ttd_s",
                                          "alert_latency_s", "findings"])

    ev = Evaluation(attacks=attacks)
    ev.findings = len(f_ent)
    ev.true_findings = int(true.sum())
    ev.false_findings = int((~true).sum())
    ev.scored_windows = len(windows)
    ev.entity_days = len(windows) * window_ns / NS_PER_DAY
    if len(windows):
        w_ent = windows["entity"].to_numpy(dtype=object)
        w_ws = windows["window_start"].to_numpy(dtype=np.int64)
        y = covers_label(w_ent, w_ws, w_ws + window_ns, labels)
        scores = windows["score"].to_numpy(dtype=np.float64)
        ev.roc_auc = roc_auc(y, scores)
        ev.pr_auc = average_precision(y, scores)
    return ev


def recall_at_false_rate(windows: pd.DataFrame, labels: pd.DataFrame, window_ns: int,
                         false_per_entity_day: float) -> tuple[float, float]:
    """Per-attack recall at the lowest threshold whose false findings stay within a budget.

    An oracle view (the threshold is chosen on the labelled test windows): windows whose
    score exceeds the threshold are findings; the threshold is the highest score among
    the negative windows left after the ``false_per_entity_day`` x entity-days highest.
    Returns (recall, threshold).
    """
    if len(windows) == 0:
        return float("nan"), float("nan")
    ent = windows["entity"].to_numpy(dtype=object)
    ws = windows["window_start"].to_numpy(dtype=np.int64)
    scores = windows["score"].to_numpy(dtype=np.float64)
    y = covers_label(ent, ws, ws + window_ns, labels)
    entity_days = len(windows) * window_ns / NS_PER_DAY
    budget = int(math.floor(max(0.0, false_per_entity_day) * entity_days + 1e-9))
    neg = np.sort(scores[~y])[::-1]
    threshold = float(neg[budget]) if budget < len(neg) else -math.inf
    flagged = scores > threshold
    f = pd.DataFrame({"entity": ent[flagged], "window_start": ws[flagged],
                      "window_end": ws[flagged] + window_ns})
    return evaluate(f, windows.iloc[:0], labels, window_ns).recall, threshold
