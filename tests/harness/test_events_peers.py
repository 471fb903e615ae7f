"""Window features and the simple peers on a tiny hand-made event file."""
import json

import numpy as np
import pytest

from harness import events, peers

MIN = 60 * 10**9


def write(tmp_path, rows):
    p = tmp_path / "events.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def tiny(tmp_path):
    rows = []
    for m in range(6):                       # entity a: one exec of /bin/app a minute
        rows.append({"time": 60 * m + 1, "entity": "a", "group": "web", "kind": "exec",
                     "subject": "/bin/app", "actor": "/sbin/init"})
    rows.append({"time": 60 * 4 + 2, "entity": "a", "group": "web", "kind": "exec",
                 "subject": "/tmp/x", "actor": "/bin/sh"})
    rows.append({"time": 60 * 4 + 3, "entity": "a", "group": "web", "kind": "connect",
                 "subject": "1.2.3.4:3333", "value": 100})
    rows.append({"time": 60 * 2 + 5, "entity": "b", "group": "web", "kind": "request",
                 "subject": "/", "value": 10, "status": 503})
    rows.append({"time": 60 * 2 + 6, "entity": "b", "group": "web", "kind": "request",
                 "subject": "/", "value": 30, "status": 200})
    return events.read_events(write(tmp_path, rows))


def test_window_table_fills_gaps_and_maps_events(tmp_path):
    ev = tiny(tmp_path)
    t = events.window_table(ev, MIN)
    names = np.asarray(ev.entities.names, dtype=object)
    assert list(names[t.entity]) == ["a"] * 6 + ["b"]
    assert list(t.window_start[:6] // MIN) == list(range(6))
    assert t.window_start[6] // MIN == 2
    assert len(t.row_of_event) == len(ev)


def test_window_features(tmp_path):
    ev = tiny(tmp_path)
    t = events.window_table(ev, MIN)
    X = events.window_features(ev, t)
    f = {name: i for i, name in enumerate(events.FEATURES)}
    assert X.shape == (7, len(events.FEATURES))
    assert np.expm1(X[4, f["log_count.exec"]]) == pytest.approx(2)
    assert np.expm1(X[4, f["log_distinct_subjects.exec"]]) == pytest.approx(2)
    assert np.expm1(X[4, f["log_bytes"]]) == pytest.approx(100)
    assert X[6, f["error_share"]] == pytest.approx(0.5)
    assert np.expm1(X[6, f["log_mean_latency"]]) == pytest.approx(20)


def context(ev, learn_minutes=3):
    t = events.window_table(ev, MIN)
    X = events.window_features(ev, t)
    return peers.PeerContext(ev, t, X, learn=t.window_start < learn_minutes * MIN)


def test_allowlist_flags_windows_with_unseen_subjects(tmp_path):
    ev = tiny(tmp_path)
    r = peers.allowlist(context(ev))
    # Only a's minute 4 brings unseen subjects (/tmp/x and 1.2.3.4:3333) after learning.
    assert list(np.nonzero(r.flags & (context(ev).test))[0]) == [4]
    assert r.scores[4] == 2


def test_windowed_gaussian_runs_and_calibrates(tmp_path):
    ev = tiny(tmp_path)
    r = peers.windowed_gaussian(context(ev), history=3, min_history=1)
    assert r.scores.shape == (7,)
    assert np.isfinite(r.threshold)


def test_calibrate_leaves_the_target_number_of_windows_above():
    scores = np.arange(14400, dtype=float)                # 10 entity-days of 1-minute windows
    thr = peers.calibrate(scores, np.ones(14400, bool), MIN, fp_rate=0.3)
    assert (scores > thr).sum() == 3
