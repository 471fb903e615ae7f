"""The streaming river peer: same features as the window vectors, scored after learning."""
import json
import random

import numpy as np
import pytest

from harness import data, events, peers

MIN = 60 * 10**9
START = 1_793_577_600  # 2026-11-02T00:00:00Z in unix seconds


def iso(seconds: float) -> str:
    return data.ns_to_iso(int(round(seconds * 1e9)))


def write(tmp_path, rows):
    p = tmp_path / "events.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def context(path, learn_minutes):
    ev = events.read_events(path)
    t = events.window_table(ev, MIN)
    X = events.window_features(ev, t)
    learn_end = int(ev.time.min()) + learn_minutes * MIN
    return peers.PeerContext(ev, t, X, learn=t.window_start + MIN <= learn_end,
                             events_path=path, learn_ns=learn_minutes * MIN)


def test_time_ns_parses_rfc3339_and_seconds_to_the_microsecond():
    for text in ("2026-11-02T00:00:00Z", "2026-11-02T23:59:59.5Z",
                 "2026-11-02T01:00:00+01:00", "2026-11-02T00:00:00"):
        assert events.time_ns(text) == data.to_ns([text])[0], text
    # Nanoseconds are dropped, never rounded up into the next window.
    assert events.time_ns("2026-11-02T00:00:59.999999999Z") == START * 10**9 + 59_999_999_000
    assert events.time_ns(1.25) == 1_250_000_000


def test_window_state_matches_window_features(tmp_path):
    rows = [
        {"time": iso(START + 1), "entity": "a", "group": "web", "kind": "exec",
         "subject": "/bin/app", "actor": "/sbin/init"},
        {"time": iso(START + 2), "entity": "a", "group": "web", "kind": "exec"},
        {"time": iso(START + 3), "entity": "a", "group": "web", "kind": "connect",
         "subject": "1.2.3.4:443", "value": 120},
        {"time": iso(START + 4), "entity": "a", "group": "web", "kind": "request",
         "subject": "/", "value": 10, "status": 503},
        {"time": iso(START + 5), "entity": "a", "group": "web", "kind": "request",
         "subject": "/x", "value": 30, "status": 200},
        {"time": iso(START + 6), "entity": "a", "group": "web", "kind": "api",
         "subject": "s3:GetObject", "status": 1},
        {"time": iso(START + 7), "entity": "a", "group": "web", "kind": "file",
         "subject": "/etc/passwd", "value": 50},
    ]
    ev = events.read_events(write(tmp_path, rows))
    X = events.window_features(ev, events.window_table(ev, MIN))
    state = events.WindowState("web", 0)
    for r in rows:
        state.add(events.KIND_INDEX[r["kind"]], r)
    x = state.vector()
    assert [x[f] for f in events.FEATURES] == pytest.approx(X[0].tolist())


def fleet(tmp_path, learn_minutes=60, minutes=90, attack_minute=75):
    """Three replicas of one workload; entity a runs a miner in attack_minute."""
    rng = random.Random(7)
    rows = []
    for m in range(minutes):
        for e in ("a", "b", "c"):
            for _ in range(rng.randint(8, 12)):
                rows.append({"time": START + 60 * m + rng.uniform(0, 59), "entity": e,
                             "group": "web", "kind": "request",
                             "subject": rng.choice(["/", "/cart", "/item"]),
                             "value": rng.uniform(5, 15), "status": 200})
            rows.append({"time": START + 60 * m + rng.uniform(0, 59), "entity": e,
                         "group": "web", "kind": "connect", "subject": "10.0.0.5:5432",
                         "value": rng.uniform(900, 1100)})
        if m == attack_minute:
            for i in range(40):
                rows.append({"time": START + 60 * m + 1 + i, "entity": "a", "group": "web",
                             "kind": "exec", "subject": f"/tmp/.x/{i}", "actor": "/bin/sh"})
                rows.append({"time": START + 60 * m + 1.5 + i, "entity": "a", "group": "web",
                             "kind": "connect", "subject": f"45.9.148.{i}:3333",
                             "value": 1e6})
    rows.sort(key=lambda r: r["time"])
    for r in rows:
        r["time"] = iso(r["time"])
    return context(write(tmp_path, rows), learn_minutes)


def test_streaming_scores_after_learning_only_and_ranks_the_attack_first(tmp_path):
    pytest.importorskip("river")
    ctx = fleet(tmp_path)
    r = peers.half_space_trees_streaming(ctx, n_trees=10, height=6, window_size=20)
    t = ctx.table
    assert r.name == "HalfSpaceTrees (river, streaming)"
    # Every window after learning is scored; in the first half of learning none is
    # (learning only), in its second half they are, for the threshold alone.
    assert np.isfinite(r.scores[ctx.test]).all()
    calib = ctx.calibration_rows(True)
    assert np.isfinite(r.scores[calib]).all()
    assert np.isnan(r.scores[ctx.learn & ~calib]).all()
    assert not r.flags[ctx.learn].any()
    # The miner's window has the highest score after learning, and is a finding.
    names = np.asarray(ctx.events.entities.names, dtype=object)
    attack = np.nonzero((names[t.entity] == "a")
                        & (t.window_start == (START // 60 + 75) * MIN))[0]
    assert len(attack) == 1
    others = ctx.test.copy()
    others[attack] = False
    assert r.scores[attack[0]] > r.scores[others].max()
    assert r.flags[attack[0]]
    # Throughput bookkeeping: the whole loop end to end, model only without the parse.
    assert r.end_to_end_seconds is not None
    assert 0 <= r.model_seconds <= r.end_to_end_seconds


def test_streaming_scores_gap_windows_like_the_window_table(tmp_path):
    pytest.importorskip("river")
    rows = [{"time": iso(START + 60 * m + 1), "entity": "a", "group": "web", "kind": "exec",
             "subject": "/bin/app"} for m in (0, 1, 2, 6, 7, 8, 9)]
    ctx = context(write(tmp_path, rows), learn_minutes=3)
    r = peers.half_space_trees_streaming(ctx, window_size=2)
    assert len(ctx.table) == 10                       # minutes 3-5 are empty rows
    assert np.isfinite(r.scores[ctx.test]).all()
