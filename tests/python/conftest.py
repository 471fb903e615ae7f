"""Shared fixtures of the timescan Python tests.

The tests run against the installed package (`pip install .`), never the
source tree, so that they exercise the built extension.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before any pyplot import: no display in tests

import gzip
import json

import numpy as np
import pandas as pd
import pytest

START = pd.Timestamp("2026-11-02T00:00:00Z")


def make_events(*, entities: int = 4, hours: float = 3.0, seed: int = 7,
                spike_entity: str | None = None, spike_at: str | None = None,
                spike_events: int = 400) -> pd.DataFrame:
    """Returns a small stationary fleet as a DataFrame of plain strings.

    Each entity c-<i> of group "web" serves about 20 requests a minute on a
    few routes (value = latency, status = HTTP status) and execs a known
    binary every few minutes. With spike_entity and spike_at, that entity
    gets `spike_events` extra requests in the minute at spike_at.
    """
    rng = np.random.default_rng(seed)
    minutes = int(hours * 60)
    rows = []
    routes = np.array(["/", "/cart", "/api/items", "/login"])
    for minute in range(minutes):
        base = START + pd.Timedelta(minutes=minute)
        for i in range(entities):
            n = rng.poisson(20)
            offsets = np.sort(rng.uniform(0, 60, n))
            for off, route, latency in zip(offsets, rng.choice(routes, n), rng.gamma(2.0, 10.0, n)):
                rows.append((base + pd.Timedelta(seconds=float(off)), f"c-{i}", "web", "request",
                             route, "10.0.0.1", float(latency), 200))
            if minute % 5 == i % 5:
                rows.append((base + pd.Timedelta(seconds=30.5), f"c-{i}", "web", "exec",
                             "/usr/bin/app", "/bin/sh", np.nan, np.nan))
    if spike_entity is not None:
        t = pd.Timestamp(spike_at)
        for k in range(spike_events):
            rows.append((t + pd.Timedelta(milliseconds=100 * (k % 550)), spike_entity, "web",
                         "request", "/cart", "10.0.0.1", 12.0, 200))
    df = pd.DataFrame(rows, columns=["time", "entity", "group", "kind", "subject", "actor",
                                     "value", "status"])
    df = df.sort_values("time", kind="stable").reset_index(drop=True)
    df["status"] = df["status"].astype("Int64")
    return df


@pytest.fixture(scope="session")
def fleet() -> pd.DataFrame:
    """Three hours of a stationary four-entity fleet."""
    return make_events()


@pytest.fixture(scope="session")
def spiky_fleet() -> pd.DataFrame:
    """The fleet with a request spike on c-1 at 02:30, after a 2 h learning."""
    return make_events(spike_entity="c-1", spike_at="2026-11-02T02:30:00Z")


def write_jsonl(path, frame: pd.DataFrame, bad_lines=()) -> None:
    """Writes `frame` as native JSONL (gzip for a .gz path), with `bad_lines`
    (index, text) inserted."""
    lines = []
    for r in frame.itertuples(index=False):
        obj = {"time": r.time.isoformat().replace("+00:00", "Z"), "entity": r.entity,
               "group": r.group, "kind": r.kind, "subject": r.subject, "actor": r.actor}
        if r.value == r.value:
            obj["value"] = r.value
        if r.status is not pd.NA:
            obj["status"] = int(r.status)
        lines.append(json.dumps(obj))
    for at, text in bad_lines:
        lines.insert(at, text)
    data = ("\n".join(lines) + "\n").encode()
    if str(path).endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
