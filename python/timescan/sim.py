"""The labelled fleet simulator: demo and evaluation data as DataFrames.

    >>> events, labels = timescan.sim.generate(duration="30h", load=0.2)
    >>> engine = timescan.Engine(learn="24h")
    >>> engine.ingest(events)

The events come from the C++ timescan::sim::FleetSimulator (a web frontend,
an API backend, queue workers, node exporters, a cloud role, hourly and
daily jobs, autoscaling), seeded and deterministic: the same options give
the same events on every platform. Attacks are injected after the learning
period, one per slot, and labelled with their entity and interval.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from . import _timescan
from ._convert import DurationLike, TimeLike, duration_ns, make_error, time_ns, utc_index

__all__ = ["generate", "ATTACKS"]

#: The attack types the simulator injects, in its order.
ATTACKS: tuple[str, ...] = tuple(_timescan.sim_attack_names()) if _timescan.HAVE_SIM else ()


def generate(*, seed: Optional[int] = None, start: Optional[TimeLike] = None,
             learning: Optional[DurationLike] = None, duration: Optional[DurationLike] = None,
             load: Optional[float] = None, replicas: Optional[int] = None,
             deploys: Optional[bool] = None, autoscaling: Optional[bool] = None,
             batch_jobs: Optional[bool] = None,
             attacks: Optional[Sequence[str]] = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulates a small container fleet with labelled attacks.

    Every argument left as None keeps the simulator's default.

    Args:
      seed: seeds every random choice (default 1).
      start: start of the simulated time (default 2026-11-02T00:00:00Z).
      learning: the benign-only prefix; match the engine's learn= (default 24h).
      duration: total simulated time (default 30h: 6 hours of attacks).
      load: multiplies traffic rates; about 1.8 M events per 30 h at 1.0 and
        0.2 M at 0.1 (default 1.0).
      replicas: replicas per long-running workload and nodes (default 3).
      deploys: a benign but novel rolling deploy after learning (default False).
      autoscaling: the web frontend scales out at night (default True).
      batch_jobs: hourly and daily short-lived job containers (default True).
      attacks: attack names to inject in order (default all of ATTACKS).

    Returns:
      (events, labels). events: one row per event in time order with columns
      time (datetime64[ns, UTC]), entity, group, kind, subject, actor
      (categorical; missing as NaN), value (float64, NaN when absent) and
      status (nullable Int32). labels: one row per attack with type, entity,
      group, start, end (UTC; events of the attack are in [start, end)) and
      description. events.attrs["deploy_start"] is the deploy's start time
      (NaT without deploys).

    Raises:
      Error: an option out of range (named).
    """
    if not _timescan.HAVE_SIM:  # pragma: no cover - built without the simulator
        raise make_error("this timescan build has no fleet simulator", "UNIMPLEMENTED")
    options: dict[str, object] = {}
    if seed is not None:
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise make_error(f"seed={seed!r}: expected a non-negative integer")
        options["seed"] = int(seed)
    if start is not None:
        options["start"] = time_ns(start, "start")
    if learning is not None:
        options["learning"] = duration_ns(learning, "learning")
    if duration is not None:
        options["duration"] = duration_ns(duration, "duration")
    if load is not None:
        options["load"] = float(load)
    if replicas is not None:
        options["replicas"] = int(replicas)
    for name, value in (("deploys", deploys), ("autoscaling", autoscaling),
                        ("batch_jobs", batch_jobs)):
        if value is not None:
            options[name] = bool(value)
    if attacks is not None:
        if isinstance(attacks, str):
            attacks = [attacks]
        options["attacks"] = [str(a) for a in attacks]

    columns, names, labels, deploy_ns = _timescan.sim_generate(options)
    categories = pd.Index(names[1:], dtype=object)  # symbol 0 is "" (absent)

    def strings(symbols: np.ndarray) -> pd.Categorical:
        cat = pd.Categorical.from_codes(symbols.astype(np.int32) - 1, categories=categories)
        return cat.remove_unused_categories()

    status = pd.arrays.IntegerArray(columns["status"], ~columns["status_present"].view(bool))
    kinds = pd.Categorical.from_codes(columns["kind"].astype(np.int8),
                                      categories=list(_timescan.kind_names()))
    events = pd.DataFrame({
        "time": utc_index(columns["time_ns"]),
        "entity": strings(columns["entity"]),
        "group": strings(columns["group"]),
        "kind": kinds.remove_unused_categories(),
        "subject": strings(columns["subject"]),
        "actor": strings(columns["actor"]),
        "value": columns["value"],
        "status": status,
    })
    events.attrs["deploy_start"] = pd.Timestamp(deploy_ns, unit="ns", tz="UTC") if deploy_ns else pd.NaT
    label_frame = pd.DataFrame({
        "type": pd.Series([l[0] for l in labels], dtype=str),
        "entity": pd.Series([l[1] for l in labels], dtype=str),
        "group": pd.Series([l[2] for l in labels], dtype=str),
        "start": utc_index(np.array([l[3] for l in labels], dtype=np.int64)),
        "end": utc_index(np.array([l[4] for l in labels], dtype=np.int64)),
        "description": pd.Series([l[5] for l in labels], dtype=str),
    })
    return events, label_frame
