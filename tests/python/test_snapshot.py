"""Snapshots from Python: save/load, bytes, pickling, merge, groups."""

from __future__ import annotations

import os
import pickle

import pandas as pd
import pytest

import timescan

from conftest import make_events


def _split(df: pd.DataFrame, at: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = df["time"] < pd.Timestamp(at)
    return df[cut], df[~cut]


def _scored_in_parts(spiky_fleet: pd.DataFrame, restore) -> tuple[list[str], pd.DataFrame]:
    first, second = _split(spiky_fleet, "2026-11-02T02:10:00Z")
    engine = timescan.Engine(window="1min", learn="2h")
    engine.ingest(first)
    findings_before = engine.findings_json()
    scores_before = engine.window_scores()
    engine = restore(engine)
    engine.ingest(second)
    engine.flush()
    findings = findings_before + engine.findings_json()
    scores = pd.concat([scores_before, engine.window_scores()], ignore_index=True)
    return findings, scores


@pytest.fixture(scope="module")
def whole(spiky_fleet):
    engine = timescan.Engine(window="1min", learn="2h")
    engine.ingest(spiky_fleet)
    engine.flush()
    return engine.findings_json(), engine.window_scores()


def _same(parts, whole) -> None:
    findings, scores = parts
    assert len(whole[0]) > 0
    assert findings == whole[0]
    pd.testing.assert_frame_equal(
        scores.astype({"entity": str, "group": str}),
        whole[1].astype({"entity": str, "group": str}))


def test_save_and_load_continue_exactly(tmp_path, spiky_fleet, whole):
    path = tmp_path / "model.tsnap"

    def restore(engine):
        engine.save(path)
        return timescan.Engine.load(path)

    _same(_scored_in_parts(spiky_fleet, restore), whole)
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_pickle_round_trip_continues_exactly(spiky_fleet, whole):
    _same(_scored_in_parts(spiky_fleet, lambda e: pickle.loads(pickle.dumps(e))), whole)


def test_snapshot_bytes_round_trip(fleet):
    engine = timescan.Engine(window="1min", learn="1h", threshold=5.0,
                             record_counts=False)
    engine.ingest(fleet)
    data = engine.snapshot()
    assert isinstance(data, bytes) and data[:6] == b"\x89TSNAP"
    restored = timescan.Engine.from_snapshot(data, record_counts=False)
    assert restored.snapshot() == data
    assert restored.threshold == 5.0
    assert restored.options == engine.options
    assert restored.stats["events"] == engine.stats["events"]


def test_load_errors_name_the_file_and_the_problem(tmp_path, fleet):
    with pytest.raises(timescan.Error, match="missing.tsnap"):
        timescan.Engine.load(tmp_path / "missing.tsnap")
    engine = timescan.Engine(learn="1h")
    engine.ingest(fleet)
    data = engine.snapshot()
    cut = tmp_path / "cut.tsnap"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(timescan.Error, match="truncated") as info:
        timescan.Engine.load(cut)
    assert isinstance(info.value, ValueError)
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0x40
    with pytest.raises(timescan.Error, match="checksum"):
        timescan.Engine.from_snapshot(bytes(flipped))
    with pytest.raises(timescan.Error, match="expected bytes"):
        timescan.Engine.from_snapshot("not bytes")  # type: ignore[arg-type]


def test_merge_combines_replicas_of_a_group():
    left = timescan.Engine(learn="24h")
    right = timescan.Engine(learn="24h")
    left.ingest(make_events(entities=2, hours=2, seed=1))
    right_events = make_events(entities=2, hours=2, seed=2)
    right_events["entity"] = right_events["entity"].str.replace("c-", "d-")
    right.ingest(right_events)
    for e in (left, right):
        e.flush()
    before = left.groups().set_index("group")
    left.merge(right)
    after = left.groups().set_index("group")
    theirs = right.groups().set_index("group")
    assert after.loc["web", "learned_windows"] == (
        before.loc["web", "learned_windows"] + theirs.loc["web", "learned_windows"])
    # Entities stay with the engine that saw them.
    assert after.loc["web", "live_entities"] == before.loc["web", "live_entities"]
    with pytest.raises(timescan.Error, match="itself"):
        left.merge(left)
    with pytest.raises(timescan.Error, match="window"):
        left.merge(timescan.Engine(window="5min"))


def test_groups_lists_the_fleet_first(fleet):
    engine = timescan.Engine(learn="1h")
    engine.ingest(fleet)
    groups = engine.groups()
    assert list(groups.columns) == ["group", "ungrouped_entity", "new_after_learning",
                                    "learned_windows", "live_entities"]
    assert groups["group"].tolist() == ["*", "web"]
    assert groups.loc[1, "live_entities"] == 4
    assert groups.loc[0, "learned_windows"] > 0


def test_end_learning_starts_scoring(fleet):
    first, second = _split(fleet, "2026-11-02T02:00:00Z")
    engine = timescan.Engine(learn="365d")
    engine.ingest(first)
    engine.flush()
    assert len(engine.window_scores()) == 0
    engine.end_learning()
    engine.ingest(second)
    engine.flush()
    assert len(engine.window_scores()) > 100


def test_modes_learn_monitor_frozen(fleet):
    first, second = _split(fleet, "2026-11-02T02:00:00Z")
    engine = timescan.Engine(learn="1h")
    engine.ingest(first)
    assert engine.mode_of("c-0") == "monitor"
    engine.set_mode("frozen", name="web")
    engine.set_mode("learn", name="c-1")
    assert engine.mode_of("c-0") == "frozen"
    assert engine.mode_of("c-1") == "learn"
    restored = pickle.loads(pickle.dumps(engine))
    assert restored.mode_of("c-1") == "learn"
    engine.ingest(second)
    engine.flush()
    scored = set(engine.window_scores()["entity"].astype(str))
    assert "c-0" in scored
    assert "c-1" not in set(
        engine.window_scores().query("window_start >= '2026-11-02T02:01:00Z'")["entity"].astype(str))
    engine.set_mode(None, name="c-1")
    assert engine.mode_of("c-1") == "frozen"
    with pytest.raises(timescan.Error, match="nobody"):
        engine.set_mode("frozen", name="nobody")
    with pytest.raises(timescan.Error, match="expected learn, monitor or frozen"):
        engine.set_mode("paused")
    with pytest.raises(timescan.Error, match="None clears"):
        engine.set_mode(None)
