"""Engine options, durations and times in every accepted form."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import timescan


@pytest.mark.parametrize("value,seconds", [
    ("90s", 90), ("1min", 60), ("1m", 60), ("24h", 86400), ("1h30m", 5400), ("250ms", 0.25),
    (dt.timedelta(minutes=2), 120), (pd.Timedelta("5min"), 300), (np.timedelta64(3, "s"), 3),
    (45, 45), (1.5, 1.5),
])
def test_durations_in_every_form(value, seconds):
    assert timescan.parse_duration(value) == pd.Timedelta(seconds=seconds)


@pytest.mark.parametrize("value", ["", "5", "5 parsecs", "fast", True, None, [1]])
def test_bad_durations_raise(value):
    with pytest.raises(timescan.Error, match="duration"):
        timescan.parse_duration(value)


EXPECTED = pd.Timestamp("2026-11-02T10:00:00.5Z")


@pytest.mark.parametrize("value", [
    "2026-11-02T10:00:00.5Z",
    "2026-11-02T11:00:00.500+01:00",
    "2026-11-02 10:00:00.5z",
    pd.Timestamp("2026-11-02T10:00:00.5Z"),
    pd.Timestamp("2026-11-02T05:00:00.5", tz="America/New_York"),
    pd.Timestamp("2026-11-02T10:00:00.5"),  # naive = UTC
    dt.datetime(2026, 11, 2, 10, 0, 0, 500000),  # naive = UTC
    dt.datetime(2026, 11, 2, 10, 0, 0, 500000, tzinfo=dt.timezone.utc),
    np.datetime64("2026-11-02T10:00:00.500"),
    EXPECTED.value / 1e9,
])
def test_times_in_every_form(value):
    assert timescan.parse_time(value) == EXPECTED


def test_unix_seconds_int_and_date():
    assert timescan.parse_time(1_793_577_600) == pd.Timestamp("2026-11-02T00:00:00Z")
    assert timescan.parse_time(dt.date(2026, 11, 2)) == pd.Timestamp("2026-11-02T00:00:00Z")


@pytest.mark.parametrize("value,code", [
    ("2026-13-02T10:00:00Z", "INVALID_ARGUMENT"),
    ("tomorrow", "INVALID_ARGUMENT"),
    ("1969-12-31T23:59:59Z", "OUT_OF_RANGE"),
    (-1.0, "OUT_OF_RANGE"),
    (float("nan"), "INVALID_ARGUMENT"),
    (pd.NaT, "INVALID_ARGUMENT"),
    (dt.datetime(1960, 1, 1), "OUT_OF_RANGE"),
    (object(), "INVALID_ARGUMENT"),
])
def test_bad_times_raise_with_a_code(value, code):
    with pytest.raises(timescan.Error) as info:
        timescan.parse_time(value)
    assert info.value.code == code


def test_defaults_and_options_map_to_engine_options():
    engine = timescan.Engine()
    o = engine.options
    assert o["window"] == pd.Timedelta("1min")
    assert o["learning_period"] == pd.Timedelta("24h")
    assert o["allowed_lateness"] == pd.Timedelta("5s")
    assert o["threshold"] is None
    # threshold = log10(windows per day / false findings per entity-day)
    assert engine.threshold == pytest.approx(np.log10(1440 / 0.1))

    engine = timescan.Engine(window=dt.timedelta(seconds=30), learn="2h", lateness="10s",
                             idle_ttl=600, threshold=6.5, count_model=False,
                             value_model=False, hour_of_day_seasonality=np.bool_(False),
                             max_values_per_window=64)
    o = engine.options
    assert o["window"] == pd.Timedelta("30s")
    assert o["learning_period"] == pd.Timedelta("2h")
    assert o["allowed_lateness"] == pd.Timedelta("10s")
    assert o["idle_ttl"] == pd.Timedelta("10min")
    assert o["count_model"] is False and o["hour_of_day_seasonality"] is False
    assert o["value_model"] is False and o["categorical_model"] is True
    assert o["max_values_per_window"] == 64
    assert engine.threshold == 6.5
    assert engine.window == pd.Timedelta("30s")

    rate = timescan.Engine(false_findings_per_entity_day=1.0)
    assert rate.threshold == pytest.approx(np.log10(1440))

    consensus = timescan.Engine(group_consensus=False, consensus_quorum=0.75,
                                consensus_wait_windows=0, consensus_span_windows=10)
    o = consensus.options
    assert o["group_consensus"] is False and o["consensus_quorum"] == 0.75
    assert o["consensus_wait_windows"] == 0 and o["consensus_span_windows"] == 10
    assert timescan.Engine().options["group_consensus"] is True
    metric = timescan.Engine(metric_model=False, metric_season="1h")
    assert metric.options["metric_model"] is False
    assert timescan.Engine().options["value_distribution"] is True
    assert timescan.Engine(value_distribution=False).options["value_distribution"] is False
    assert timescan.Engine().options["sequence_model"] is True
    assert timescan.Engine().options["sequence_length"] == 3
    sequence = timescan.Engine(sequence_model=False, sequence_length=5)
    assert sequence.options["sequence_model"] is False
    assert sequence.options["sequence_length"] == 5
    with pytest.raises(timescan.Error, match="sequence_length"):
        timescan.Engine(sequence_length=7)
    assert timescan.Engine().options["multivariate_model"] is True
    assert timescan.Engine(multivariate_model=False).options["multivariate_model"] is False
    assert timescan.Engine().options["mix_model"] is False
    assert timescan.Engine(mix_model=True).options["mix_model"] is True
    assert timescan.Engine().options["lifecycle_phase"] is True
    assert timescan.Engine(lifecycle_phase=False).options["lifecycle_phase"] is False
    assert timescan.Engine().options["coarse_windows"] == (0, 0)
    assert timescan.Engine(coarse_windows=[0, 30]).options["coarse_windows"] == (0, 30)
    with pytest.raises(timescan.Error, match=r"coarse_windows\[0\] is 1"):
        timescan.Engine(coarse_windows=(1, 60))
    with pytest.raises(timescan.Error, match="coarse_windows"):
        timescan.Engine(coarse_windows=10)
    assert metric.options["metric_season"] == pd.Timedelta("1h")
    with pytest.raises(timescan.Error, match="metric_season"):
        timescan.Engine(metric_season="90s")  # not a multiple of the window
    with pytest.raises(timescan.Error, match="consensus_quorum"):
        timescan.Engine(consensus_quorum=1.5)
    evidence = timescan.Engine(accumulate_evidence=False, evidence_drift_p=0.01)
    assert evidence.options["accumulate_evidence"] is False
    assert evidence.options["evidence_drift_p"] == 0.01
    assert timescan.Engine().options["accumulate_evidence"] is True
    assert timescan.Engine().options["baseline_half_life"] == pd.Timedelta(0)
    assert timescan.Engine(baseline_half_life="7d").options["baseline_half_life"] == pd.Timedelta(days=7)
    with pytest.raises(timescan.Error, match="baseline_half_life"):
        timescan.Engine(baseline_half_life="2min")  # under 4 windows
    with pytest.raises(timescan.Error, match="evidence_drift_p"):
        timescan.Engine(evidence_drift_p=0.5)  # the level would grow without bound


def test_unknown_option_is_named():
    with pytest.raises(timescan.Error, match="unknown option 'treshold'") as info:
        timescan.Engine(treshold=5)
    assert "threshold" in str(info.value)  # the known names are listed


@pytest.mark.parametrize("kwargs,text", [
    ({"window": "0s"}, "window"),
    ({"window": "fast"}, "window"),
    ({"threshold": "high"}, "threshold"),
    ({"count_model": 1}, "count_model"),
    ({"max_values_per_feature": -1}, "max_values_per_feature"),
    ({"lateness": "1s", "allowed_lateness": "2s"}, "given twice"),
    ({"learning_period": "1h"}, "learn="),
    ({"false_findings_per_entity_day": 0}, "false_findings_per_entity_day"),
])
def test_bad_option_values_name_the_option(kwargs, text):
    with pytest.raises(timescan.Error, match=text):
        timescan.Engine(**kwargs)


def test_advance_to_accepts_every_time_form(fleet):
    engine = timescan.Engine(window="1min", learn="0s")
    engine.ingest(fleet.head(10))
    for t in ["2026-11-02T00:05:00Z", pd.Timestamp("2026-11-02T00:06:00Z"),
              dt.datetime(2026, 11, 2, 0, 7), 1_793_578_080.0]:
        engine.advance_to(t)
    # 00:08:00 minus the 5 s lateness closes the windows ending by 00:07:00.
    assert engine.stats["watermark"] == pd.Timestamp("2026-11-02T00:07:00Z")
    with pytest.raises(timescan.Error, match="advance_to"):
        engine.advance_to("soon")
