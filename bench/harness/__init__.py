"""timescan's evaluation harness: datasets, metrics, the NAB scorer, peers, sweeps, report.

Run it with ``bench/run_evaluation.sh`` (see its ``--help``) or ``python -m harness``
from ``bench/``. Modules:

- ``data``: JSONL readers for labels, findings and window scores; time parsing.
- ``metrics``: per-attack recall and time to detect, false findings per entity-day,
  precision, ROC AUC and average precision over window scores.
- ``nab``: the NAB corpus loader and scorer (windows, probation, scaled sigmoid,
  profiles, threshold sweep over all files, normalisation).
- ``nab_runner``: feeds each NAB series through ``timescan score`` and scores it,
  next to NAB's null detector and windowed Gaussian.
- ``events``: native JSONL events into columns, and per-entity window feature vectors.
- ``peers``: river HalfSpaceTrees, PyOD IForest, AWS Random Cut Forest (Java),
  a set-membership allowlist and a windowed Gaussian on counts.
- ``simsuite``: simulator scenarios, timescan and the peers on the same data.
- ``sweep``: a grid over the CLI's ``--threshold``, ``--window`` and ``--learn``.
- ``report``: the markdown report and its PNG plots.
"""
