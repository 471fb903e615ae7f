"""A grid sweep over the options of ``timescan score``: --window, --learn, --threshold."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from . import metrics
from .data import load_labels, parse_duration
from .simsuite import Scenario, score_timescan, simulate


@dataclass(frozen=True)
class Grid:
    windows: Sequence[str]
    learns: Sequence[str]
    thresholds: Sequence[float | None]      # None: the CLI's default (from --fp-rate)

    def __len__(self) -> int:
        return len(self.windows) * len(self.learns) * len(self.thresholds)


FULL_GRID = Grid(windows=["30s", "1m", "2m", "5m"], learns=["6h", "12h", "24h"],
                 thresholds=[None, 3.0, 5.0, 7.0])
QUICK_GRID = Grid(windows=["1m", "2m"], learns=["2h", "4h"], thresholds=[None, 3.0, 6.0])


def run_sweep(scenario: Scenario, timescan: str, workdir: Path, grid: Grid,
              log: Callable[[str], None] = print) -> pd.DataFrame:
    events, labels_path = simulate(timescan, scenario, workdir)
    labels = load_labels(labels_path)
    rows = []
    for window, learn, threshold in itertools.product(grid.windows, grid.learns, grid.thresholds):
        tag = f"w{window}-l{learn}-t{'default' if threshold is None else threshold}"
        findings, windows, seconds, used = score_timescan(
            timescan, events, workdir / "sweep" / tag, window=window, learn=learn,
            threshold=threshold)
        ev = metrics.evaluate(findings, windows, labels, parse_duration(window))
        s = ev.summary()
        rows.append({"window": window, "learn": learn,
                     "threshold": "default" if threshold is None else f"{threshold:g}",
                     "threshold_used": used, "found": s["found"], "attacks": s["attacks"],
                     "recall": s["recall"], "median_ttd_s": s["median_ttd_s"],
                     "findings": s["findings"], "false_per_entity_day": s["false_per_entity_day"],
                     "precision": s["precision"], "roc_auc": s["roc_auc"], "pr_auc": s["pr_auc"],
                     "seconds": seconds})
        log(f"    {tag}: recall {s['recall']:.2f}, {s['false_per_entity_day']:.3f} false/entity-day")
        # Keep only the summary: the sweep's JSONL files are large and not needed again.
        for p in (workdir / "sweep" / tag).glob("*.jsonl"):
            p.unlink()
    return pd.DataFrame(rows)
