"""timescan.sim: the labelled fleet simulator as DataFrames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import timescan


@pytest.fixture(scope="module")
def fleet():
    return timescan.sim.generate(load=0.1, duration="26h", attacks=["crypto_miner", "scan"])


def test_generate_columns_and_labels(fleet):
    events, labels = fleet
    assert list(events.columns) == ["time", "entity", "group", "kind", "subject", "actor",
                                    "value", "status"]
    assert events["time"].dtype == "datetime64[ns, UTC]"
    assert events["time"].is_monotonic_increasing
    assert set(events["kind"].astype(str)) <= set(timescan.KINDS)
    assert str(events["status"].dtype) == "Int32"
    assert list(labels["type"]) == ["crypto_miner", "scan"]
    assert list(labels.columns) == ["type", "entity", "group", "start", "end", "description"]
    assert (labels["start"] >= events["time"].iloc[0] + pd.Timedelta("24h")).all()
    assert pd.isna(events.attrs["deploy_start"])


def test_generate_is_deterministic(fleet):
    again, _ = timescan.sim.generate(load=0.1, duration="26h", attacks=["crypto_miner", "scan"])
    pd.testing.assert_frame_equal(fleet[0], again)
    other, _ = timescan.sim.generate(load=0.1, duration="26h", attacks=["crypto_miner", "scan"],
                                     seed=2)
    assert not other["time"].equals(fleet[0]["time"])


def test_labelled_attacks_are_found(fleet):
    events, labels = fleet
    engine = timescan.Engine(window="1min", learn="24h")
    engine.ingest(events)
    engine.flush()
    found = engine.findings()
    for label in labels.itertuples():
        hits = found[(found["entity"] == label.entity) & (found["window_end"] > label.start)
                     & (found["window_start"] < label.end)]
        assert len(hits) > 0, label.type


def test_bad_sim_options_are_named():
    with pytest.raises(timescan.Error, match="unknown attack 'ddos'"):
        timescan.sim.generate(attacks=["ddos"])
    with pytest.raises(timescan.Error, match="load"):
        timescan.sim.generate(load=-1)
    assert "crypto_miner" in timescan.sim.ATTACKS
